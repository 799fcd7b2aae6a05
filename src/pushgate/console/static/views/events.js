// The event log (docs/events.md): the record events hosts sent, newest first, narrowed by
// name or record, and an event's page: per trigger its names took, whether it matched, the
// notification it made (a link to that notification's page) or why none.

import { api, seg } from "../api.js";
import { facts, fill, h, table } from "../dom.js";
import { PAGE_SIZE, filterForm, pager } from "./paging.js";

const stateBadge = (state) => h("span", { class: `state state-${state}` }, state);
const eventLink = (id) => h("a", { href: `#/events/${seg(id)}` }, h("code", {}, id));

function textFilter(label, name, current) {
  return h("label", {}, h("span", {}, label),
    h("input", { name, value: current || "", autocomplete: "off", spellcheck: "false" }));
}

export async function renderEvents({ main, query }) {
  const page = await api.get(`/v1/events`, {
    name: query.get("name"), record_type: query.get("record_type"),
    record_id: query.get("record_id"), limit: PAGE_SIZE, after: query.get("after"),
  });
  const columns = [
    ["Id", (e) => eventLink(e.id)],
    ["Name", (e) => e.name],
    ["Record", (e) => `${e.record_type} ${e.record_id}`],
    ["Actor", (e) => e.actor || "—"],
    ["State", (e) => stateBadge(e.state)],
    ["Matched", (e) => `${e.matched} of ${e.triggers}`],
    ["Notifications", (e) => e.notifications],
    ["Why none", (e) => (e.notifications ? "" : e.reason || "")],
    ["Stored", (e) => e.created_at],
  ];
  fill(main, h("h1", {}, "Event log"),
    h("p", { class: "help" }, "Record events hosts sent (POST /v1/events) and what the apps' "
      + "triggers made of them. Triggers are defined per app, from its page."),
    filterForm("event-filters", "/events", [
      textFilter("Name", "name", query.get("name")),
      textFilter("Record type", "record_type", query.get("record_type")),
      textFilter("Record id", "record_id", query.get("record_id")),
    ]),
    h("section", { id: "events" }, table(columns, page.items, "No events yet.")),
    pager("/events", query, page.next));
}

/** What one trigger made of the event: its notification, a delay, or why none. */
function outcomeOf(entry) {
  if (entry.notification) {
    return h("a", { href: `#/notifications/${seg(entry.notification)}`, class: "notification" },
      "notification ", h("code", {}, entry.notification),
      entry.targeted !== undefined ? ` (${entry.targeted} targeted)` : "");
  }
  if (entry.cancelled_by) {
    return ["cancelled by ", eventLink(entry.cancelled_by)];
  }
  if (entry.error) {
    return h("pre", { class: "json condition-error" }, `condition failed: ${entry.error}`);
  }
  if (entry.delayed_until) {
    return `waiting until ${new Date(entry.delayed_until).toLocaleString()}`;
  }
  return entry.reason || "—";
}

export async function renderEvent({ main, params }) {
  const [id] = params;
  const item = await api.get(`/v1/events/${seg(id)}`);
  const event = item.event;
  const record = event.record;
  const recordQuery = new URLSearchParams({ record_type: record.type, record_id: record.id });
  const columns = [
    ["Trigger", (t) => h("code", {}, t.trigger)],
    ["Matched", (t) => (t.matched ? "yes" : "no")],
    ["Delayed until", (t) => t.delayed_until || ""],
    ["Outcome", outcomeOf],
  ];
  fill(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/events" }, "Event log"), " / ", id),
    h("h1", {}, "Event ", event.name),
    facts([
      ["id", h("code", {}, item.id)],
      ["state", stateBadge(item.state)],
      ["record", h("a", { href: `#/events?${recordQuery}` }, `${record.type} ${record.id}`)],
      ["operation", event.operation],
      ["actor", event.actor],
      ["reason", item.reason],
      ["idempotency key", item.idempotency_key],
      ["stored", item.created_at],
      ["processed", item.processed_at],
    ]),
    h("section", { id: "event-triggers" }, h("h2", {}, "Triggers"),
      table(columns, item.triggers, item.state === "pending"
        ? "Not processed yet." : "No trigger takes this event.")),
    h("section", {}, h("h2", {}, "The event"),
      h("pre", { class: "json", id: "event-body" }, JSON.stringify(event, null, 2))),
  );
}
