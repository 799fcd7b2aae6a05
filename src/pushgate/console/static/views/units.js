// Units and settings (docs/settings.md): a tenant's units, made, moved and deleted here;
// the effective settings of the tenant or of one unit, each value with the scope it came
// from, and a form to set or unset one value at that scope; a user's (`?user=`), resolved at
// the user's unit.

import { api, seg } from "../api.js";
import { action, button, field, fill, h, noticeBox, onSubmit, table } from "../dom.js";

function createForm(status, done) {
  const form = h("form", { class: "inline", id: "unit-create" },
    field("Key", "key", { required: true }), field("Name", "name", { required: true }),
    field("Parent", "parent", { help: "a unit's key; empty: a top unit" }),
    h("button", { type: "submit" }, "Create unit"));
  return onSubmit(form, status, async (data) => {
    const made = await api.post(`/v1/units`, {
      key: data.get("key"), name: data.get("name"), parent: data.get("parent") || null,
    });
    await done(`Unit ${made.key} created.`);
  });
}

export async function renderUnits(ctx) {
  const { main } = ctx;
  const status = h("div", { class: "status" });
  const done = async (message) => {
    await renderUnits(ctx);
    fill(main.querySelector(".status"), noticeBox(message));
  };
  const remove = (unit) => action(`Delete unit ${unit.key} and its settings?`, status, async () => {
    await api.delete(`/v1/units/${seg(unit.key)}`);
    await done(`Unit ${unit.key} deleted.`);
  });
  const units = await api.get(`/v1/units`);
  fill(main, h("h1", {}, "Units"),
    h("p", { class: "help" },
      "Groups of users, optionally nested. A unit with child units or members is not deleted."),
    status, createForm(status, done),
    table([
      ["Key", (u) => h("a", { href: `#/settings?unit=${seg(u.key)}` }, u.key)],
      ["Name", (u) => u.name],
      ["Parent", (u) => u.parent || "—"],
      ["Created", (u) => u.created_at || "—"],
      ["", (u) => button("Delete", remove(u), "danger")],
    ], units, "No units yet."));
}

function parsed(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text; // a plain word is a string, as the command line takes it
  }
}

function setForm(unit, status, done) {
  const form = h("form", { class: "inline", id: "setting-set" },
    field("Setting", "name", { required: true }),
    field("Value", "value", { help: "JSON (true, 30, \"22:00\"); empty: unset" }),
    h("button", { type: "submit" }, "Set"));
  return onSubmit(form, status, async (data) => {
    const value = data.get("value") ? parsed(data.get("value")) : null;
    if (unit) {
      await api.patch(`/v1/units/${seg(unit)}/settings`, { name: data.get("name"), value });
    } else {
      await api.patch(`/v1/settings`, { name: data.get("name"), value });
    }
    await done(`${data.get("name")} ${value === null ? "unset" : "set"}.`);
  });
}

/** A user's effective settings: those of the user's unit, or the global ones. */
async function renderUserSettings(ctx, user) {
  const effective = await api.get(`/v1/users/${seg(user)}/settings/effective`);
  fill(ctx.main,
    h("p", { class: "crumbs" }, h("a", { href: "#/users" }, "Users"), " / ",
      h("a", { href: `#/users/${seg(user)}` }, user), " / settings"),
    h("h1", {}, `Settings in effect for ${user}`),
    h("p", { class: "help", id: "user-scope" },
      effective.unit ? ["Member of unit ", h("a", { href: `#/settings?unit=${seg(effective.unit)}` },
        effective.unit), "; each value resolved there."] : "In no unit: the global values apply."),
    effectiveTable(effective.settings));
}

function effectiveTable(settings) {
  return table([
    ["Setting", (s) => h("code", {}, s.name)],
    ["Value", (s) => JSON.stringify(s.value)],
    ["From", (s) => s.source],
  ], settings, "No settings.");
}

export async function renderSettings(ctx) {
  const { main, query } = ctx;
  if (query.get("user")) {
    await renderUserSettings(ctx, query.get("user"));
    return;
  }
  const unit = query.get("unit");
  const status = h("div", { class: "status" });
  const done = async (message) => {
    await renderSettings(ctx);
    fill(main.querySelector(".status"), noticeBox(message));
  };
  const effective = unit
    ? await api.get(`/v1/units/${seg(unit)}/settings/effective`)
    : await api.get(`/v1/settings/effective`);
  fill(main,
    h("p", { class: "crumbs" }, h("a", { href: "#/units" }, "Units"), " / ", effective.scope),
    h("h1", {}, unit ? `Settings of unit ${unit}` : "Global settings"),
    h("p", { class: "help" },
      "Each value as it applies here, and the scope it came from. General settings are set "
      + "globally only; a type's switch per unit too, the nearest one winning."),
    status, setForm(unit, status, done),
    effectiveTable(effective.settings));
}
