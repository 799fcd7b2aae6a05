// Notifications: send one, list them newest first, and follow one: its counts per
// provider, its deliveries by outcome, the answers to its actions, and cancel.

import { api, seg } from "../api.js";
import { action, button, errorBox, facts, field, fill, h, noticeBox, onSubmit, table }
  from "../dom.js";
import { PAGE_SIZE, choice, filterForm, pager } from "./paging.js";

const STATES = ["scheduled", "sending", "completed", "expired", "canceled"];
const OUTCOMES = ["pending", "sent", "invalid", "failed", "expired", "canceled", "suppressed"];
const AUDIENCES = ["everyone", "users", "topics", "tags"];
const RECORDS = ["as set", "all", "failures"];
const FINAL = new Set(["completed", "expired", "canceled"]);
const ANSWER_STATES = ["pending", "succeeded", "failed"];
const NO_SET = "none";

const stateBadge = (state) => h("span", { class: `state state-${state}` }, state);
const notDelivered = (counts) =>
  ["invalid", "failed", "expired", "canceled"].reduce((sum, s) => sum + (counts[s] || 0), 0);

/** The audience object of the send form: its kind, named explicitly (the API checks it
 * agrees with the key), and that kind's names split on commas. */
function audienceOf(kind, text) {
  const names = String(text || "").split(",").map((s) => s.trim()).filter(Boolean);
  if (kind === "everyone") {
    return { kind, everyone: true };
  }
  if (kind === "tags") {
    return { kind, tags: String(text || "") };
  }
  return { kind, [kind]: names };
}

/** Offer the action sets of the app chosen in the send form (docs/actions.md). */
async function offerActionSets(form) {
  const app = form.elements.app.value;
  const sets = app ? await api.get(`/v1/apps/${seg(app)}/action-sets`) : [];
  fill(form.elements.action_set, h("option", { value: NO_SET }, NO_SET),
    sets.map((s) => h("option", { value: s.key }, `${s.key} (${s.actions.join(", ")})`)));
}

function sendForm(apps, status) {
  const form = h(
    "form",
    { class: "card", id: "notification-send" },
    h("h2", {}, "Send"),
    field("App", "app", { options: apps.map((a) => a.name) }),
    field("Audience", "audience", { options: AUDIENCES }),
    field("Who", "who", { help: "external user ids or topics, comma-separated; or a tag expression" }),
    field("Title", "title"),
    field("Body", "body"),
    field("Action set", "action_set", { options: [NO_SET], help: "buttons to show" }),
    field("Local time", "deliver_at_local", {
      help: "optional: HH:MM (or YYYY-MM-DDTHH:MM) in each recipient's own time zone",
    }),
    field("Keep", "records", {
      options: RECORDS,
      help: "a row per delivery, or counts and rows only for deliveries that did not go out",
    }),
    h("button", { type: "submit" }, "Send notification"),
  );
  onSubmit(form, status, async (data) => {
    const body = {
      app: data.get("app"),
      audience: audienceOf(data.get("audience"), data.get("who")),
      title: data.get("title") || undefined,
      body: data.get("body") || undefined,
      records: data.get("records") === RECORDS[0] ? undefined : data.get("records"),
      action_set: data.get("action_set") === NO_SET ? undefined : data.get("action_set"),
      deliver_at_local: data.get("deliver_at_local") || undefined,
    };
    const made = await api.post(`/v1/notifications`, body);
    location.hash = `#/notifications/${seg(made.id)}`;
  });
  const offer = () => offerActionSets(form).catch((error) => fill(status, errorBox(error)));
  form.elements.app.addEventListener("change", offer);
  offer();
  return form;
}

export async function renderNotifications({ main, query }) {
  const apps = await api.get(`/v1/apps`);
  const page = await api.get(`/v1/notifications`, {
    app: query.get("app"), state: query.get("state"), limit: PAGE_SIZE, after: query.get("after"),
  });
  const names = new Map(apps.map((a) => [a.id, a.name]));
  const status = h("div", { class: "status" });
  const columns = [
    ["Id", (n) => h("a", { href: `#/notifications/${seg(n.id)}` }, h("code", {}, n.id))],
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

export async function renderNotification(ctx) {
  const { main, params, query } = ctx;
  const [id] = params;
  const item = await api.get(`/v1/notifications/${seg(id)}`);
  const page = await api.get(`/v1/notifications/${seg(id)}/deliveries`, {
    outcome: query.get("outcome"), limit: PAGE_SIZE, after: query.get("after"),
  });
  const answers = item.content.actions
    ? await api.get(`/v1/notifications/${seg(id)}/responses`, { limit: PAGE_SIZE })
    : { items: [] };
  const status = h("div", { class: "status" });
  const cancel = action("Cancel this notification? Devices that have not got it yet will not.",
    status, async () => {
      await api.delete(`/v1/notifications/${seg(id)}`);
      await renderNotification(ctx);
      fill(main.querySelector(".status"), noticeBox("Notification canceled."));
    });
  const providers = Object.entries(item.by_provider).map(([provider, counts]) => ({ provider, counts }));
  const path = `/notifications/${seg(id)}`;
  fill(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/notifications" }, "Notifications"), " / ", item.id),
    h("h1", {}, item.content.title || "Notification"),
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
    h("h2", {}, "Deliveries per provider"),
    table([["Provider", (r) => r.provider],
      ...OUTCOMES.map((s) => [s, (r) => r.counts[s] || 0])], providers, "No deliveries yet."),
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
