// Apps: list, create, delete; an app's page with its settings and provider credentials.

import { api, seg } from "../api.js";
import { action, button, facts, field, fill, h, noticeBox, onSubmit, table } from "../dom.js";
import { actionsSection } from "./actions.js";
import { credentialsSection } from "./credentials.js";
import { typesSection } from "./types.js";

function removeApp(name, status, after) {
  return action(`Delete app ${name}, its credentials and its devices?`, status, async () => {
    await api.delete(`/v1/apps/${seg(name)}`);
    await after();
  })();
}

function createForm(status, done) {
  const form = h(
    "form",
    { class: "card", id: "app-create" },
    h("h2", {}, "New app"),
    field("Name", "name", { required: true, help: "lowercase letters, digits, . _ -" }),
    field("Description", "description"),
    h("button", { type: "submit" }, "Create app"),
  );
  return onSubmit(form, status, async (data) => {
    const made = await api.post(`/v1/apps`, {
      name: data.get("name"), description: data.get("description") });
    await done(`App ${made.name} created.`);
  });
}

export async function renderApps(ctx) {
  const { main } = ctx;
  const apps = await api.get(`/v1/apps`);
  const status = h("div", { class: "status" });
  const done = async (message) => {
    await renderApps(ctx);
    fill(main.querySelector(".status"), noticeBox(message));
  };
  const columns = [
    ["Name", (a) => h("a", { href: `#/apps/${seg(a.name)}` }, a.name)],
    ["Description", (a) => a.description],
    ["User tokens", (a) => (a.user_auth ? "required" : "—")],
    ["Created", (a) => a.created_at || "—"],
    ["", (a) => button("Delete", () => removeApp(a.name, status,
      () => done(`App ${a.name} deleted.`)), "danger")],
  ];
  fill(main, h("h1", {}, "Apps"), status, table(columns, apps, "No apps yet."),
    createForm(status, done));
}

/** The app's switch that makes every send name one of its notification types. */
function requiresType(app) {
  const box = field("Every send names a notification type", "requires_type",
    { kind: "checkbox" });
  box.querySelector("input").checked = Boolean(app.requires_type);
  return box;
}

function settingsForm(app, status, done) {
  const form = h(
    "form",
    { class: "card", id: "app-update" },
    h("h2", {}, "Settings"),
    field("Name", "name", { value: app.name, required: true }),
    field("Description", "description", { value: app.description }),
    field("User-auth secret", "user_auth_secret", { kind: "password",
      help: "HS256 secret the host system signs user tokens with (32+ characters, write-only)" }),
    field("Stop requiring user tokens", "clear_user_auth_secret", { kind: "checkbox" }),
    requiresType(app),
    h("button", { type: "submit" }, "Save settings"),
  );
  return onSubmit(form, status, async (data) => {
    const body = { name: data.get("name"), description: data.get("description"),
      requires_type: Boolean(data.get("requires_type")) };
    if (data.get("user_auth_secret")) {
      body.user_auth_secret = data.get("user_auth_secret");
    }
    if (data.get("clear_user_auth_secret")) {
      body.clear_user_auth_secret = true;
    }
    const saved = await api.patch(`/v1/apps/${seg(app.name)}`, body);
    await done(saved);
  });
}

export async function renderApp(ctx) {
  const { main, params } = ctx;
  const [name] = params;
  const app = await api.get(`/v1/apps/${seg(name)}`);
  const status = h("div", { class: "status" });
  // The credentials part redraws itself after each change; the rest of the page stays.
  const section = h("div", {});
  const redraw = async (kind) => fill(section, await credentialsSection(app.name, redraw, kind));
  await redraw();
  const actions = h("div", {});
  const redrawActions = async () => fill(actions, await actionsSection(app.name, redrawActions));
  await redrawActions();
  const types = h("div", {});
  const redrawTypes = async () => fill(types, await typesSection(app.name, redrawTypes));
  await redrawTypes();
  const saved = async (changed) => {
    if (changed.name !== app.name) {
      location.hash = `#/apps/${seg(changed.name)}`;
      return;
    }
    await renderApp(ctx);
    fill(main.querySelector(".status"), noticeBox("Settings saved."));
  };
  fill(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/apps" }, "Apps"), " / ", app.name),
    h("h1", {}, "App ", app.name),
    status,
    facts([["id", h("code", {}, app.id)], ["description", app.description],
      ["user tokens", app.user_auth ? "required" : "not required"],
      ["notification type", app.requires_type ? "required on every send" : "optional"],
      ["created", app.created_at], ["updated", app.updated_at]]),
    h("p", {}, h("a", { href: `#/apps/${seg(app.name)}/reports`, id: "app-reports" }, "Reports"),
      " ", h("a", { href: `#/devices?app=${seg(app.name)}` }, "Devices of this app"), " ",
      h("a", { href: `#/apps/${seg(app.name)}/triggers`, id: "app-triggers" }, "Triggers"), " ",
      button("Delete app", () => removeApp(app.name, status, () => {
        location.hash = "#/apps";
      }), "danger")),
    section,
    actions,
    types,
    settingsForm(app, status, saved),
  );
}
