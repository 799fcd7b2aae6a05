// An app's triggers (docs/events.md, "Triggers"): the list with a form to define one, and a
// trigger's own page: the same form to change it, a switch, delete, and the test panel that
// runs the trigger against a sample event (POST …/triggers/{key}/test) and shows whether
// it matched, the recipients and the rendered text, without sending anything; and its
// switch per scope (the scoped setting triggers.<key>.enabled, globally and per unit).

import { api, seg } from "../api.js";
import {
  action, button, errorBox, facts, field, fill, h, markField, noticeBox, table,
} from "../dom.js";

const OPERATIONS = ["create", "update", "delete"];
const RECIPIENT_KINDS = ["field", "users", "unit", "topic", "tags"];
const RECIPIENT_HELP = "field: a path such as record.fields.assigned_to; users: external ids "
  + "separated by commas; unit: a unit's key; topic: a topic; tags: a tag expression";
const SAMPLE_EVENT = {
  name: "incident.assigned",
  operation: "update",
  record: { type: "incident", id: "INC0042",
    fields: { priority: 1, assigned_to: "alice", short_description: "Printer on fire" } },
  changes: { assigned_to: { old: null, new: "alice" } },
  actor: "dave",
};

const list = (text) => (text || "").split(",").map((s) => s.trim()).filter(Boolean);

/** The recipients rule of the form, in the API's tagged shape (its `kind`). */
function recipientsOf(data) {
  const kind = data.get("recipient_kind");
  const value = (data.get("recipient_value") || "").trim();
  switch (kind) {
    case "field": return { kind, path: value };
    case "users": return { kind, users: list(value) };
    case "unit": return { kind, unit: value };
    case "topic": return { kind, topic: value };
    case "tags": return { kind, tags: value };
    default: throw new Error(`recipients: unknown kind ${kind}`);
  }
}

/** The text the form shows for a stored recipients rule. */
function recipientValue(rule) {
  if (!rule) {
    return "";
  }
  switch (rule.kind) {
    case "field": return rule.path;
    case "users": return rule.users.join(", ");
    case "unit": return rule.unit;
    case "topic": return rule.topic;
    case "tags": return rule.tags;
    default: return "";
  }
}

const describeRecipients = (rule) => `${rule.kind}: ${recipientValue(rule)}`;

/** An error of a trigger form: the API's box, and for a condition (or cancel_on) that does
 * not compile the compiler's message kept in its lines, whose caret marks the column. */
function triggerError(form, status, error) {
  const source = error.field === "condition" || error.field === "cancel_on";
  const reason = error.details && error.details.reason;
  fill(status, errorBox(error),
    source && reason ? h("pre", { class: "json condition-error" }, reason) : null);
  markField(form, error.field);
}

/** The form that defines (`item` null) or changes a trigger; `send` stores the body. */
function triggerForm(types, item, status, send) {
  const spec = item || {};
  const operations = new Set(spec.operations || []);
  const form = h(
    "form",
    { class: "card", id: item ? "trigger-edit" : "trigger-create" },
    h("h3", {}, item ? "Change the trigger" : "New trigger"),
    item ? null : field("Key", "key", { required: true, help: "e.g. assigned; fixed" }),
    field("Name", "name", { value: spec.name || "", help: "for people" }),
    field("Event names", "events", { value: (spec.events || []).join(", "), required: true,
      help: "separated by commas, e.g. incident.assigned" }),
    field("Record type", "record_type", { value: spec.record_type || "",
      help: "empty: any" }),
    h("fieldset", { class: "operations" }, h("legend", {}, "Operations (none: any)"),
      OPERATIONS.map((op) => {
        const box = field(op, `op_${op}`, { kind: "checkbox" });
        box.querySelector("input").checked = operations.has(op);
        return box;
      })),
    field("Condition", "condition", { kind: "textarea", value: spec.condition || "",
      help: "CEL over event, e.g. event.record.fields.priority <= 2; empty: always" }),
    field("Recipients", "recipient_kind", { options: RECIPIENT_KINDS,
      value: spec.recipients ? spec.recipients.kind : "field" }),
    field("Recipients from", "recipient_value", { value: recipientValue(spec.recipients),
      required: true, help: RECIPIENT_HELP }),
    field("Notification type", "type", { options: types.map((t) => t.key), value: spec.type,
      required: true }),
    field("Throttle (minutes)", "throttle_minutes", { kind: "number",
      value: spec.throttle_minutes ?? "", help: "at most one per record, type and person" }),
    field("Delay (minutes)", "delay_minutes", { kind: "number", value: spec.delay_minutes ?? "",
      help: "send only if no later event cancels it" }),
    field("Cancel on", "cancel_on", { kind: "textarea", value: spec.cancel_on || "",
      help: 'with a delay: CEL, e.g. event.name == "incident.assigned"; empty: any later event' }),
    h("button", { type: "submit" }, item ? "Save trigger" : "Create trigger"),
  );
  form.querySelector("textarea[name=condition]").rows = 2;
  form.querySelector("textarea[name=cancel_on]").rows = 2;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      events: list(data.get("events")),
      operations: OPERATIONS.filter((op) => data.get(`op_${op}`)),
      recipients: recipientsOf(data),
      type: data.get("type"),
    };
    if (!item) {
      body.key = data.get("key");
    }
    // A change sends an emptied field as null, which removes it (PATCH takes what is set).
    for (const name of ["name", "record_type", "condition", "cancel_on"]) {
      if ((data.get(name) || "").trim()) {
        body[name] = data.get(name).trim();
      } else if (item) {
        body[name] = null;
      }
    }
    for (const name of ["throttle_minutes", "delay_minutes"]) {
      if (data.get(name)) {
        body[name] = Number(data.get(name));
      } else if (item) {
        body[name] = null;
      }
    }
    const submit = form.querySelector("[type=submit]");
    submit.disabled = true;
    fill(status);
    markField(form, null);
    try {
      await send(body);
    } catch (error) {
      triggerError(form, status, error);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function renderTriggers(ctx) {
  const { main, params } = ctx;
  const [app] = params;
  const [page, types] = await Promise.all([
    api.get(`/v1/apps/${seg(app)}/triggers`, { limit: 500 }),
    api.get(`/v1/apps/${seg(app)}/types`, { limit: 500 }),
  ]);
  const status = h("div", { class: "status", id: "triggers-status" });
  const link = (t) => h("a", { href: `#/apps/${seg(app)}/triggers/${seg(t.key)}` },
    h("code", {}, t.key));
  const columns = [
    ["Key", link],
    ["Events", (t) => t.events.join(", ")],
    ["Record", (t) => [t.record_type || "any", t.operations.length
      ? ` (${t.operations.join(", ")})` : ""].join("")],
    ["Condition", (t) => (t.condition ? h("code", {}, t.condition) : "always")],
    ["Recipients", (t) => describeRecipients(t.recipients)],
    ["Type", (t) => t.type],
    ["Enabled", (t) => (t.enabled ? "on" : "off")],
  ];
  const created = async (body) => {
    const made = await api.post(`/v1/apps/${seg(app)}/triggers`, body);
    await renderTriggers(ctx);
    fill(main.querySelector("#triggers-status"), noticeBox(`Trigger ${made.key} created.`));
  };
  fill(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/apps" }, "Apps"), " / ",
      h("a", { href: `#/apps/${seg(app)}` }, app), " / triggers"),
    h("h1", {}, "Triggers of ", app),
    h("p", { class: "help" }, "A trigger turns record events into notifications of a type. ",
      h("a", { href: `#/events` }, "The event log"), " shows what they made of each event."),
    status,
    h("section", { id: "triggers" }, table(columns, page.items, "No triggers yet.")),
    types.items.length
      ? h("div", { class: "cards" }, triggerForm(types.items, null, status, created))
      : h("p", { class: "empty" }, "Define a notification type on the app's page first."),
  );
}

/** The test panel: a sample event posted to the trigger's test endpoint; the answer shown. */
function testPanel(app, key) {
  const out = h("div", { id: "trigger-test-result", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card", id: "trigger-test" },
    h("h3", {}, "Test with a sample event"),
    field("Event", "event", { kind: "textarea", value: JSON.stringify(SAMPLE_EVENT, null, 2),
      help: "JSON, as POST /v1/events takes it; nothing is stored or sent" }),
    h("button", { type: "submit" }, "Run test"),
  );
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    fill(out);
    let sample;
    try {
      sample = JSON.parse(new FormData(form).get("event"));
    } catch {
      fill(out, errorBox(new Error("event: not JSON")));
      return;
    }
    try {
      const run = await api.post(`/v1/apps/${seg(app)}/triggers/${seg(key)}/test`,
        { event: sample });
      fill(out, testResult(run));
    } catch (error) {
      fill(out, errorBox(error));
    }
  });
  return h("div", {}, form, out);
}

function testResult(run) {
  const failed = run.reason && run.reason.startsWith("condition failed:");
  const recipients = run.recipients
    ? Object.entries(run.recipients).map(([kind, v]) =>
      `${kind}: ${Array.isArray(v) ? v.join(", ") : v}`).join("; ")
    : null;
  const rendered = run.rendered || {};
  return h("div", { class: "card", id: "trigger-test-answer" },
    h("p", { class: `state state-${run.matched ? "completed" : "canceled"}`, id: "test-match" },
      run.matched ? "Matched" : "Not matched"),
    facts([
      ["why not", failed ? null : run.reason],
      ["recipients", recipients],
      ["delay", run.delayed_minutes ? `${run.delayed_minutes} minutes` : null],
      ["title", rendered.title ? h("span", { id: "test-title" }, rendered.title) : null],
      ["body", rendered.body ? h("span", { id: "test-body" }, rendered.body) : null],
    ]),
    failed ? h("pre", { class: "json condition-error" }, run.reason) : null,
    Object.keys(rendered).length
      ? h("pre", { class: "json", id: "test-rendered" }, JSON.stringify(rendered, null, 2))
      : null);
}

/** The trigger's switch as set at each scope: global, then each unit (docs/events.md). */
async function switchRows(key) {
  const units = await api.get(`/v1/units`);
  const name = `triggers.${key}.enabled`;
  const at = async (unit) => {
    const own = unit ? await api.get(`/v1/units/${seg(unit.key)}/settings`)
      : await api.get(`/v1/settings`);
    return { unit, scope: unit ? `unit:${unit.key}` : "global",
      own: name in own.values ? own.values[name] : null };
  };
  return Promise.all([at(null), ...units.map(at)]);
}

function switchButtons(key, row, status, done) {
  const name = `triggers.${key}.enabled`;
  const set = (value, label) => button(label, action(null, status, async () => {
    if (row.unit) {
      await api.patch(`/v1/units/${seg(row.unit.key)}/settings`, { name, value });
    } else {
      await api.patch(`/v1/settings`, { name, value });
    }
    const what = value === null ? "unset" : `set ${value ? "on" : "off"}`;
    await done(`${name} ${what} at ${row.scope}.`);
  }));
  return h("span", { class: "buttons" }, set(true, "On"), set(false, "Off"),
    row.own === null ? "" : set(null, "Unset"));
}

function switchSection(key, rows, status, done) {
  return h("section", { id: "trigger-switches" },
    h("h2", {}, "On and off by scope"),
    h("p", { class: "help" }, "For a user, the nearest value up the user's unit chain wins, "
      + "then the global one; a trigger to a topic or tags follows the global one alone."),
    table([
      ["Scope", (r) => h("code", {}, r.scope)],
      ["Set here", (r) => (r.own === null ? "—" : r.own ? "on" : "off")],
      ["", (r) => switchButtons(key, r, status, done)],
    ], rows));
}

export async function renderTrigger(ctx) {
  const { main, params } = ctx;
  const [app, key] = params;
  const [item, types] = await Promise.all([
    api.get(`/v1/apps/${seg(app)}/triggers/${seg(key)}`),
    api.get(`/v1/apps/${seg(app)}/types`, { limit: 500 }),
  ]);
  const status = h("div", { class: "status", id: "trigger-status" });
  const saved = async (message) => {
    await renderTrigger(ctx);
    fill(main.querySelector("#trigger-status"), noticeBox(message));
  };
  const change = async (body) => {
    await api.patch(`/v1/apps/${seg(app)}/triggers/${seg(key)}`, body);
    await saved(`Trigger ${key} saved.`);
  };
  const next = !item.enabled;
  // Settings are an admin's: other keys see the trigger and its test panel only.
  const rows = ctx.me.canAdmin ? await switchRows(key) : null;
  fill(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/apps" }, "Apps"), " / ",
      h("a", { href: `#/apps/${seg(app)}` }, app), " / ",
      h("a", { href: `#/apps/${seg(app)}/triggers` }, "triggers"), " / ", key),
    h("h1", {}, "Trigger ", key),
    status,
    facts([["id", h("code", {}, item.id)], ["enabled", item.enabled ? "on" : "off"],
      ["recipients", describeRecipients(item.recipients)], ["type", item.type],
      ["version", item.version], ["created", item.created_at], ["updated", item.updated_at]]),
    h("p", {},
      button(next ? "Switch on" : "Switch off", action(null, status, async () => {
        await api.patch(`/v1/apps/${seg(app)}/triggers/${seg(key)}`, { enabled: next });
        await saved(`Trigger ${key} switched ${next ? "on" : "off"}.`);
      })), " ",
      button("Delete trigger", action(`Delete trigger ${key}?`, status, async () => {
        await api.delete(`/v1/apps/${seg(app)}/triggers/${seg(key)}`);
        location.hash = `#/apps/${seg(app)}/triggers`;
      }), "danger")),
    h("div", { class: "cards" }, testPanel(app, key),
      triggerForm(types.items, item, status, change)),
    rows === null ? "" : switchSection(key, rows, status, saved),
  );
}
