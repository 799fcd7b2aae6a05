// Notifications: send one, list them newest first, and follow one live while it sends:
// its funnel (targeted, sent, received, opened, actioned), its counts per provider, its
// deliveries by outcome (and as a CSV download), the answers to its actions, and cancel.

import { api, seg } from "../api.js";
import { funnelChart } from "../charts.js";
import { action, button, facts, fill, h, noticeBox, saveFile, table } from "../dom.js";
import { PAGE_SIZE, choice, filterForm, pager } from "./paging.js";
import { sendForm } from "./send_form.js";

const STATES = ["scheduled", "sending", "completed", "expired", "canceled"];
const OUTCOMES = ["pending", "sent", "invalid", "failed", "expired", "canceled", "suppressed"];
const FINAL = new Set(["completed", "expired", "canceled"]);
const ANSWER_STATES = ["pending", "succeeded", "failed"];
// How often a notification still sending is read again. Polling, not server-sent events:
// the browser's EventSource cannot send the Authorization header the API requires, and
// the key must stay out of URLs and cookies (api.js); one small GET a second per open
// page costs the server little and needs no endpoint of its own.
const FOLLOW_MS = 1000;

const stateBadge = (state) => h("span", { class: `state state-${state}` }, state);
const notDelivered = (counts) =>
  ["invalid", "failed", "expired", "canceled"].reduce((sum, s) => sum + (counts[s] || 0), 0);

export async function renderNotifications({ main, query }) {
  const apps = await api.get(`/v1/apps`);
  const page = await api.get(`/v1/notifications`, {
    app: query.get("app"), state: query.get("state"), limit: PAGE_SIZE, after: query.get("after"),
  });
  const names = new Map(apps.map((a) => [a.id, a.name]));
  const status = h("div", { class: "status" });
  const columns = [
    ["Id", (n) => h("a", { href: `#/notifications/${seg(n.id)}` }, h("code", {}, n.id))],
    ["Title", (n) => n.content.title || "—"],
    ["App", (n) => names.get(n.app_id) || h("code", {}, n.app_id)],
    ["State", (n) => stateBadge(n.state)],
    ["Targeted", (n) => n.targeted],
    ["Sent", (n) => n.deliveries.sent || 0],
    ["Not delivered", (n) => notDelivered(n.deliveries)],
    ["Pending", (n) => n.deliveries.pending || 0],
    ["Created", (n) => n.created_at || "—"],
  ];
  fill(main, h("h1", {}, "Notifications"), status,
    apps.length ? sendForm(apps, status) : null,
    filterForm("notification-filters", "/notifications", [
      choice("App", "app", apps.map((a) => a.name), query.get("app")),
      choice("State", "state", STATES, query.get("state")),
    ]),
    table(columns, page.items, "No notifications yet."),
    pager("/notifications", query, page.next));
}

// Each render of a notification page takes a number; a follow-up scheduled by an older
// render (before a cancel re-rendered the page, or another page opened) does nothing.
let rendering = 0;

/** Read the notification again in a moment while it is not final and its page is shown.
 * A render waits while the reader is in a form of the page (a filter being chosen). */
function follow(ctx, item, shown) {
  const hash = location.hash;
  const again = () => {
    if (shown !== rendering || location.hash !== hash || !ctx.main.isConnected) {
      return;
    }
    if (ctx.main.contains(document.activeElement) && document.activeElement.closest("form")) {
      setTimeout(again, FOLLOW_MS);
      return;
    }
    renderNotification(ctx).catch((error) => {
      const live = ctx.main.querySelector("#live");
      if (live && shown === rendering - 1) {
        fill(live, `Following stopped: ${error.message}`);
      }
    });
  };
  if (!FINAL.has(item.state)) {
    setTimeout(again, FOLLOW_MS);
  }
}

function liveLine(item) {
  const now = new Date().toLocaleTimeString(undefined, { hourCycle: "h23" });
  return FINAL.has(item.state)
    ? h("p", { class: "live", id: "live" }, `Final (${item.state}): nothing more will change.`)
    : h("p", { class: "live following", id: "live" }, `Following live: updated ${now}.`);
}

/** The per-provider summary: one row per provider and a total row, counted the same way
 * as the deliveries table below (one delivery per device, by outcome). */
function providerSummary(item) {
  const rows = Object.entries(item.by_provider).map(([provider, counts]) => ({ provider, counts }));
  if (rows.length > 1) {
    const total = {};
    for (const { counts } of rows) {
      for (const [outcome, n] of Object.entries(counts)) {
        total[outcome] = (total[outcome] || 0) + n;
      }
    }
    rows.push({ provider: "total", counts: total });
  }
  const sum = (counts) => OUTCOMES.reduce((n, s) => n + (counts[s] || 0), 0);
  const summary = table([["Provider", (r) => r.provider],
    ...OUTCOMES.map((s) => [s, (r) => r.counts[s] || 0]),
    ["all", (r) => sum(r.counts)]], rows, "No deliveries yet.");
  for (const row of summary.querySelectorAll("tbody tr")) {
    row.classList.toggle("total", row.cells[0].textContent === "total" && rows.length > 1);
  }
  return h("div", { id: "provider-summary" }, summary,
    item.records === "failures"
      ? h("p", { class: "help" }, "Sent deliveries are counted here but have no rows below: "
        + "this notification keeps rows only for deliveries that did not go out.")
      : null);
}

/** Why the deliveries still pending wait (docs/operations.md, "Why deliveries are pending"). */
function pendingReasons(item) {
  if (!item.pending || item.pending.length === 0) {
    return null;
  }
  return h("section", { id: "pending-reasons" },
    h("h3", {}, "Why deliveries are pending"),
    table([
      ["Why", (r) => r.kind.replaceAll("_", " ")],
      ["Deliveries", (r) => r.count],
      ["Provider", (r) => r.provider || "—"],
      ["Reason", (r) => r.reason || "—"],
      ["Next attempt", (r) => r.next_attempt_at || "—"],
    ], item.pending));
}

export async function renderNotification(ctx) {
  const { main, params, query } = ctx;
  const [id] = params;
  rendering += 1;
  const shown = rendering;
  const hash = location.hash;
  const item = await api.get(`/v1/notifications/${seg(id)}`);
  const page = await api.get(`/v1/notifications/${seg(id)}/deliveries`, {
    outcome: query.get("outcome"), limit: PAGE_SIZE, after: query.get("after"),
  });
  const answers = item.content.actions
    ? await api.get(`/v1/notifications/${seg(id)}/responses`, { limit: PAGE_SIZE })
    : { items: [] };
  if (shown !== rendering || location.hash !== hash) {
    return; // the reader went on while this was read: the page is another's now
  }
  const status = h("div", { class: "status" });
  const cancel = action("Cancel this notification? Devices that have not got it yet will not.",
    status, async () => {
      await api.delete(`/v1/notifications/${seg(id)}`);
      await renderNotification(ctx);
      fill(main.querySelector(".status"), noticeBox("Notification canceled."));
    });
  const download = action(null, status, async () => {
    const csv = await api.get(`/v1/reports/notifications/${seg(id)}/deliveries.csv`, {}, "blob");
    saveFile(csv, `deliveries-${item.id}.csv`);
  });
  const path = `/notifications/${seg(id)}`;
  fill(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/notifications" }, "Notifications"), " / ", item.id),
    h("h1", {}, item.content.title || "Notification"),
    liveLine(item),
    status,
    facts([
      ["id", h("code", {}, item.id)],
      ["state", stateBadge(item.state)],
      ["targeted", item.targeted],
      ["keeps", item.records === "failures"
        ? "counts; rows only for deliveries that did not go out" : "a row per delivery"],
      ["audience", h("code", {}, JSON.stringify(item.audience))],
      ["type", item.type || "—"],
      ["suppressed", Object.keys(item.suppressed || {}).length
        ? Object.entries(item.suppressed).map(([reason, n]) => `${reason}: ${n}`).join(", ")
        : "none"],
      ["send at", item.send_at],
      ["local time", item.content.deliver_at_local || "—"],
      ["deferred", deferredText(item.pending)],
      ["expires", item.expires_at],
      ["created", item.created_at], ["updated", item.updated_at],
    ]),
    h("h2", {}, "Funnel"),
    funnelChart(item),
    h("p", {}, button("Download deliveries with interactions (CSV)", download)),
    h("h2", {}, "Deliveries per provider"),
    providerSummary(item),
    pendingReasons(item),
    FINAL.has(item.state) ? null : button("Cancel notification", cancel, "danger"),
    h("h2", {}, "Deliveries"),
    filterForm("delivery-filters", path, [
      choice("Outcome", "outcome", OUTCOMES, query.get("outcome")),
    ]),
    table([
      ["Device", (d) => h("a", { href: `#/devices/${seg(d.device_id)}` }, h("code", {}, d.device_id))],
      ["Provider", (d) => d.provider],
      ["Outcome", (d) => stateBadge(d.state)],
      ["Attempts", (d) => d.attempts],
      ["Status", (d) => d.status ?? "—"],
      ["Reason", (d) => d.reason || "—"],
      ["Updated", (d) => d.updated_at || "—"],
    ], page.items, "No deliveries match."),
    pager(path, query, page.next),
    ...answerSection(item, answers.items),
  );
  follow(ctx, item, shown);
}

/** Deliveries held for quiet hours or a local time, by reason, with the earliest time
 * (docs/delivery.md, "Quiet hours and local time"). */
function deferredText(pending) {
  const held = (pending || []).filter((p) => p.kind === "deferred");
  if (!held.length) return "none";
  return held.map((p) => `${p.reason}: ${p.count} (from ${p.next_attempt_at})`).join(", ");
}

/** The answers to the notification's actions: counts per action and state, then the
 * newest answers (docs/actions.md, "Answering a notification"). None without actions. */
function answerSection(item, responses) {
  if (!item.content.actions) return [];
  const counts = item.content.actions.map((a) => ({ key: a.key, counts: item.responses[a.key] || {} }));
  return [
    h("h2", {}, "Answers per action"),
    table([["Action", (r) => r.key],
      ...ANSWER_STATES.map((s) => [s, (r) => r.counts[s] || 0])], counts, "No actions."),
    h("h2", {}, "Answers"),
    table([
      ["Action", (r) => r.action],
      ["State", (r) => stateBadge(r.state)],
      ["Device", (r) => h("a", { href: `#/devices/${seg(r.device_id)}` }, h("code", {}, r.device_id))],
      ["Input", (r) => r.input || "—"],
      ["Result", (r) => (r.result && (r.result.message || r.result.error)) || "—"],
      ["Received", (r) => r.received_at || "—"],
    ], responses, "No answers yet."),
  ];
}
