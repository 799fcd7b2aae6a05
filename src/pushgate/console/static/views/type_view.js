// One notification type (docs/types.md): its template edited with the preview beside it
// (POST /v1/apps/{app}/types/{key}/preview renders the saved template for a user and
// data), and its switch per scope: global and each unit (docs/settings.md), each row
// showing the value in effect there and the scope it came from.

import { api, seg } from "../api.js";
import { action, button, field, fill, h, noticeBox, onSubmit, table } from "../dom.js";

const TEXTS = ["title", "subtitle", "body"];

/** A JSON object typed in a text area; empty is none. A refusal names the field. */
function objectOf(data, name) {
  const text = (data.get(name) || "").trim();
  if (!text) {
    return {};
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${name}: not JSON`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${name}: must be a JSON object`);
  }
  return value;
}

const shownJson = (value) =>
  value && Object.keys(value).length ? JSON.stringify(value, null, 2) : "";

function templateForm(app, type, status, saved) {
  const source = type.template || {};
  const form = h(
    "form",
    { class: "card", id: "template-edit" },
    h("h3", {}, "Template"),
    ...TEXTS.map((name) =>
      field(name[0].toUpperCase() + name.slice(1), name, {
        value: source[name] || "",
        help: name === "title" ? "Jinja2; reads data, user and device" : undefined,
      }),
    ),
    field("Data", "data", {
      kind: "textarea",
      value: shownJson(source.data),
      help: 'JSON object; string values are templates, e.g. {"url": "{{ data.link }}"}',
    }),
    field("Locale variants", "locales", {
      kind: "textarea",
      value: shownJson(source.locales),
      help: 'JSON, e.g. {"de": {"title": "Hallo {{ user.attributes.name }}"}}',
    }),
    h("button", { type: "submit" }, "Save template"),
  );
  return onSubmit(form, status, async (data) => {
    const template = { ...(source.overrides ? { overrides: source.overrides } : {}) };
    for (const name of TEXTS) {
      if (data.get(name)) {
        template[name] = data.get(name);
      }
    }
    template.data = objectOf(data, "data");
    template.locales = objectOf(data, "locales");
    await api.patch(`/v1/apps/${seg(app)}/types/${seg(type.key)}`, { template });
    await saved(`Template of ${type.key} saved.`);
  });
}

function previewCard(app, type, status) {
  const out = h("div", { id: "preview-out" });
  const form = h(
    "form",
    { class: "card", id: "template-preview" },
    h("h3", {}, "Preview"),
    field("User", "user", { help: "a user's external id; empty: no recipient" }),
    field("Locale", "locale", { help: "e.g. de-DE; empty: every variant" }),
    field("Data", "data", { kind: "textarea", value: '{\n  "what": "example"\n}' }),
    h("button", { type: "submit" }, "Preview"),
    out,
  );
  const show = async (data) => {
    const body = { data: objectOf(data, "data") };
    for (const name of ["user", "locale"]) {
      if (data.get(name)) {
        body[name] = data.get(name);
      }
    }
    const made = await api.post(`/v1/apps/${seg(app)}/types/${seg(type.key)}/preview`, body);
    const rows = TEXTS.filter((name) => made[name] != null).map((name) => [name, made[name]]);
    for (const [tag, variant] of Object.entries(made.locales || {})) {
      for (const name of TEXTS.filter((n) => variant[n] != null)) {
        rows.push([`${tag} ${name}`, variant[name]]);
      }
    }
    if (made.data && Object.keys(made.data).length) {
      rows.push(["data", JSON.stringify(made.data)]);
    }
    fill(out, table([["Field", (r) => r[0]], ["Renders", (r) => h("span", { class: "rendered" }, r[1])]],
      rows, "The template renders nothing."));
  };
  form.refresh = () => show(new FormData(form)).catch(() => fill(out));
  return onSubmit(form, status, show);
}

async function switchRows(type) {
  const units = await api.get(`/v1/units`);
  const name = `types.${type.key}.enabled`;
  const at = async (unit) => {
    const [own, effective] = await Promise.all(unit
      ? [api.get(`/v1/units/${seg(unit.key)}/settings`),
        api.get(`/v1/units/${seg(unit.key)}/settings/effective`)]
      : [api.get(`/v1/settings`), api.get(`/v1/settings/effective`)]);
    const found = effective.settings.find((s) => s.name === name);
    return {
      unit,
      scope: unit ? `unit:${unit.key}` : "global",
      own: name in own.values ? own.values[name] : null,
      value: found ? found.value : type.enabled,
      source: found ? found.source : "default",
    };
  };
  return Promise.all([at(null), ...units.map(at)]);
}

function switchButtons(type, row, status, done) {
  const name = `types.${type.key}.enabled`;
  const set = (value, label) =>
    button(label, action(null, status, async () => {
      if (row.unit) {
        await api.patch(`/v1/units/${seg(row.unit.key)}/settings`, { name, value });
      } else {
        await api.patch(`/v1/settings`, { name, value });
      }
      await done(`${name} ${value === null ? "unset" : `set ${value ? "on" : "off"}`} at ${row.scope}.`);
    }));
  return h("span", { class: "buttons" }, set(true, "On"), set(false, "Off"),
    row.own === null ? "" : set(null, "Unset"));
}

/** `#/apps/{app}/types/{key}`: the template editor with its preview, and the switches. */
export async function renderType(ctx) {
  const { main, params } = ctx;
  const [app, key] = params;
  const status = h("div", { class: "status", id: "type-status" });
  const done = async (message) => {
    await renderType(ctx);
    fill(main.querySelector("#type-status"), noticeBox(message));
  };
  const type = await api.get(`/v1/apps/${seg(app)}/types/${seg(key)}`);
  const preview = previewCard(app, type, status);
  // Settings are an admin's: other keys see the template and its preview only.
  const rows = ctx.me.canAdmin ? await switchRows(type) : null;
  fill(main,
    h("p", { class: "crumbs" }, h("a", { href: "#/apps" }, "Apps"), " / ",
      h("a", { href: `#/apps/${seg(app)}` }, app), " / ", type.key),
    h("h1", {}, `Type ${type.name || type.key}`),
    status,
    h("div", { class: "cards" }, templateForm(app, type, status, done), preview),
    rows === null ? "" : h("section", { id: "type-switches" },
      h("h2", {}, "On and off by scope"),
      h("p", { class: "help" },
        "The nearest value up a unit's chain wins, then the global one, then the type's own."),
      table([
        ["Scope", (r) => h("code", {}, r.scope)],
        ["Set here", (r) => (r.own === null ? "—" : r.own ? "on" : "off")],
        ["In effect", (r) => (r.value ? "on" : "off")],
        ["From", (r) => r.source],
        ["", (r) => switchButtons(type, r, status, done)],
      ], rows)));
  if (type.template) {
    await preview.refresh();
  }
}
