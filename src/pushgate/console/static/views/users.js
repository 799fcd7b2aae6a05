// Users: a paged list; a user's page with attributes, per-app aliases and devices.

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
    h("section", {}, h("h2", {}, "Devices"),
      table(deviceColumns(new Map(apps.map((a) => [a.id, a.name]))), devices.items, "No devices."),
      pager(`/users/${seg(externalId)}`, query, devices.next)),
    button("Delete user", remove, "danger"),
  );
}
