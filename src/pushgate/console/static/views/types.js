// Notification types of one app (docs/types.md): list with their switch, create, delete.
// Templates are shown by their title and body sources; a type's key leads to its own page
// (views/type_view.js): the whole template edited beside its preview, switches per scope.

import { api, seg } from "../api.js";
import { action, button, field, fill, h, noticeBox, onSubmit, table } from "../dom.js";

const PRIORITIES = ["", "high", "normal"];

function typeForm(app, status, done) {
  const form = h(
    "form",
    { class: "card", id: "type-create" },
    h("h3", {}, "New notification type"),
    field("Key", "key", { required: true, help: "e.g. appointment_booked; fixed" }),
    field("Name", "name", { help: "for people; default: the key" }),
    field("Default priority", "priority", { options: PRIORITIES }),
    field("Title template", "title", { help: "Jinja2, e.g. Booked: {{ data.what }}" }),
    field("Body template", "body", { help: "may read data, user and device" }),
    field("People may not opt out", "no_opt_out", { kind: "checkbox" }),
    h("button", { type: "submit" }, "Create type"),
  );
  return onSubmit(form, status, async (data) => {
    const body = { key: data.get("key"), name: data.get("name") || "" };
    if (data.get("priority")) {
      body.priority = data.get("priority");
    }
    const template = {};
    for (const name of ["title", "body"]) {
      if (data.get(name)) {
        template[name] = data.get(name);
      }
    }
    if (Object.keys(template).length) {
      body.template = template;
    }
    if (data.get("no_opt_out")) {
      body.opt_out_allowed = false;
    }
    const made = await api.post(`/v1/apps/${seg(app)}/types`, body);
    await done([noticeBox(`Type ${made.key} created.`)]);
  });
}

function switchOf(app, item, status, done) {
  const next = !item.enabled;
  return button(next ? "Switch on" : "Switch off", action(null, status, async () => {
    await api.patch(`/v1/apps/${seg(app)}/types/${seg(item.key)}`, { enabled: next });
    await done([noticeBox(`Type ${item.key} switched ${next ? "on" : "off"}.`)]);
  }));
}

/** The types section of an app's page; it redraws itself through `rerender`. */
export async function typesSection(app, rerender) {
  const status = h("div", { class: "status", id: "types-status" });
  const page = await api.get(`/v1/apps/${seg(app)}/types`, { limit: 500 });
  const done = async (shown) => {
    const section = await rerender();
    fill(section.querySelector("#types-status"), ...shown);
  };
  const columns = [
    ["Key", (t) => h("a", { href: `#/apps/${seg(app)}/types/${seg(t.key)}` }, h("code", {}, t.key))],
    ["Name", (t) => t.name],
    ["Enabled", (t) => (t.enabled ? "on" : "off")],
    ["Providers", (t) => (t.providers.length ? t.providers.join(", ") : "all")],
    ["Template", (t) => (t.template ? [t.template.title, t.template.body].filter(Boolean)
      .join(" — ") : "—")],
    ["", (t) => switchOf(app, t, status, done)],
    ["", (t) => button("Delete", action(`Delete type ${t.key}?`, status, async () => {
      await api.delete(`/v1/apps/${seg(app)}/types/${seg(t.key)}`);
      await done([noticeBox(`Type ${t.key} deleted.`)]);
    }), "danger")],
  ];
  return h(
    "section",
    { id: "types" },
    h("h2", {}, "Notification types"),
    status,
    table(columns, page.items, "No notification types yet."),
    h("div", { class: "cards" }, typeForm(app, status, done)),
  );
}
