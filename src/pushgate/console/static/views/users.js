// Users: a paged list; a user's page with attributes, per-app aliases, preferences and
// devices.

import { api, seg } from "../api.js";
import { action, button, facts, field, fill, h, noticeBox, onSubmit, table } from "../dom.js";
import { deviceColumns } from "./devices.js";
import { PAGE_SIZE, pager } from "./paging.js";

export async function renderUsers({ main, query }) {
  const page = await api.get(`/v1/users`, { limit: PAGE_SIZE, after: query.get("after") });
  const columns = [
    ["External id", (u) => h("a", { href: `#/users/${seg(u.external_id)}` }, u.external_id)],
    ["Unit", (u) => u.unit || "—"],
    ["Locale", (u) => u.locale || "—"],
    ["Time zone", (u) => u.timezone || "—"],
    ["Created", (u) => u.created_at || "—"],
  ];
  fill(main, h("h1", {}, "Users"),
    h("p", { class: "help" }, "Users are created by the host system through the API."),
    table(columns, page.items, "No users."), pager("/users", query, page.next));
}

async function aliasesSection(user, status, done) {
  const remove = (alias) => action(null, status, async () => {
    await api.delete(
      `/v1/users/${seg(user.external_id)}/aliases/${seg(alias.app)}/${seg(alias.alias)}`);
    await done(`Alias ${alias.alias} removed.`);
  });
  const form = h("form", { class: "inline", id: "alias-add" },
    field("App", "app", { required: true }), field("Alias", "alias", { required: true }),
    h("button", { type: "submit" }, "Add alias"));
  onSubmit(form, status, async (data) => {
    await api.put(`/v1/users/${seg(user.external_id)}/aliases`,
      { app: data.get("app"), alias: data.get("alias") });
    await done(`Alias ${data.get("alias")} added.`);
  });
  const aliases = await api.get(`/v1/users/${seg(user.external_id)}/aliases`);
  return h("section", {}, h("h2", {}, "Aliases"), table([
    ["App", (a) => a.app], ["Alias", (a) => a.alias],
    ["", (a) => button("Remove", remove(a), "danger")],
  ], aliases, "No aliases."), form);
}

const keys = (text) => text.split(",").map((k) => k.trim()).filter(Boolean);

/** The user's preferences as the form's fields: which types are in, out, off a channel. */
function preferenceFields(prefs) {
  const rows = Object.entries(prefs.types).map(([key, said]) => ({ key, ...said }));
  const named = (choice) => rows.filter((r) => r.choice === choice).map((r) => r.key).join(", ");
  const channels = rows.flatMap((r) => r.providers_out.map((p) => `${r.key}:${p}`)).join(", ");
  return { rows, in: named("in"), out: named("out"), channels };
}

/** The PUT body from the form: a PUT replaces everything (docs/preferences.md). */
function preferenceBody(data) {
  const types = {};
  const said = (key) => (types[key] ??= { choice: null, providers_out: [] });
  for (const key of keys(data.get("in"))) said(key).choice = "in";
  for (const key of keys(data.get("out"))) said(key).choice = "out";
  for (const item of keys(data.get("channels"))) {
    const [key, provider] = item.split(":").map((part) => part.trim());
    said(key).providers_out.push(provider);
  }
  const start = data.get("quiet_start").trim();
  const end = data.get("quiet_end").trim();
  const quiet = start || end
    ? { start, end, urgent_passes: data.get("urgent_passes") === "true" } : null;
  return { default: data.get("default"), types, quiet_hours: quiet };
}

async function preferencesSection(user, status, done) {
  const prefs = await api.get(`/v1/users/${seg(user.external_id)}/preferences`);
  const shown = preferenceFields(prefs);
  const quiet = prefs.quiet_hours;
  const form = h("form", { id: "preferences-edit" },
    field("Types not named", "default", { options: ["in", "out"], value: prefs.default }),
    field("Received", "in", { value: shown.in, help: "type keys, comma-separated" }),
    field("Opted out of", "out", { value: shown.out, help: "type keys, comma-separated" }),
    field("Opted out on a channel", "channels",
      { value: shown.channels, help: "type:provider, comma-separated (visit:webhook)" }),
    field("Quiet hours from", "quiet_start", { value: quiet?.start ?? "", help: "HH:MM" }),
    field("Quiet hours until", "quiet_end", { value: quiet?.end ?? "", help: "HH:MM" }),
    field("Urgent notifications pass quiet hours", "urgent_passes", { kind: "checkbox" }),
    h("button", { type: "submit" }, "Save preferences"));
  form.elements.urgent_passes.checked = Boolean(quiet?.urgent_passes);
  onSubmit(form, status, async (data) => {
    await api.put(`/v1/users/${seg(user.external_id)}/preferences`, preferenceBody(data));
    await done("Preferences saved.");
  });
  const quietText = quiet
    ? `${quiet.start}–${quiet.end}${quiet.urgent_passes ? ", urgent ones pass" : ""}` : "none";
  return h("section", { id: "preferences" }, h("h2", {}, "Preferences"),
    facts([["types not named", prefs.default], ["quiet hours", quietText]]),
    table([
      ["Type", (r) => r.key],
      ["Choice", (r) => r.choice || `default (${prefs.default})`],
      ["Not on", (r) => r.providers_out.join(", ") || "—"],
    ], shown.rows, "No type named: every type follows the default."),
    form);
}

export async function renderUser(ctx) {
  const { main, params, query } = ctx;
  const [externalId] = params;
  const user = await api.get(`/v1/users/${seg(externalId)}`);
  const devices = await api.get(`/v1/users/${seg(externalId)}/devices`,
    { limit: PAGE_SIZE, after: query.get("after") });
  const apps = await api.get(`/v1/apps`);
  const status = h("div", { class: "status" });
  const done = async (message) => {
    await renderUser(ctx);
    fill(main.querySelector(".status"), noticeBox(message));
  };
  const remove = action(`Delete user ${user.external_id}? Their devices are unregistered.`,
    status, async () => {
      await api.delete(`/v1/users/${seg(user.external_id)}`);
      location.hash = "#/users";
    });
  const aliases = await aliasesSection(user, status, done);
  const preferences = await preferencesSection(user, status, done);
  fill(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/users" }, "Users"), " / ", user.external_id),
    h("h1", {}, "User ", user.external_id),
    status,
    facts([["id", h("code", {}, user.id)], ["unit", user.unit || "—"], ["locale", user.locale],
      ["time zone", user.timezone], ["created", user.created_at], ["updated", user.updated_at]]),
    ctx.me.canAdmin ? h("p", {}, h("a", { id: "user-settings",
      href: `#/settings?user=${seg(user.external_id)}` }, "Settings in effect")) : "",
    h("h2", {}, "Attributes"),
    h("pre", { class: "json" }, JSON.stringify(user.attributes, null, 2)),
    aliases,
    preferences,
    h("section", {}, h("h2", {}, "Devices"),
      table(deviceColumns(new Map(apps.map((a) => [a.id, a.name]))), devices.items, "No devices."),
      pager(`/users/${seg(externalId)}`, query, devices.next)),
    button("Delete user", remove, "danger"),
  );
}
