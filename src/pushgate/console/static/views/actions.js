// Actions and action sets of one app (docs/actions.md): list, create and delete. A webhook
// handler's signing secret is shown once, when the action is made.

import { api, seg } from "../api.js";
import { action, button, field, fill, h, noticeBox, onSubmit, secretBox, table }
  from "../dom.js";

const HANDLERS = ["record", "webhook", "python"];

/** The handler object of the create form: only the fields of the chosen kind. */
export function handlerOf(data) {
  const kind = data.get("handler");
  if (kind === "webhook") {
    return { kind, url: data.get("url") };
  }
  if (kind === "python") {
    return { kind, name: data.get("python_name") };
  }
  return { kind };
}

/** Action keys typed comma-separated, in order, blanks dropped. */
export const keysOf = (text) => String(text || "").split(",").map((s) => s.trim()).filter(Boolean);

function actionForm(app, status, done) {
  const form = h(
    "form",
    { class: "card", id: "action-create" },
    h("h3", {}, "New action"),
    field("Key", "key", { required: true, help: "lowercase letters, digits, . _ -; fixed" }),
    field("Title", "title", { required: true, help: "the button's label, up to 64 characters" }),
    field("Handler", "handler", { options: HANDLERS }),
    field("Webhook URL", "url", { help: "webhook handlers: https://…" }),
    field("Python handler", "python_name", { help: "python handlers: an installed entry point" }),
    field("Opens the app", "foreground", { kind: "checkbox" }),
    field("Destructive", "destructive", { kind: "checkbox" }),
    h("button", { type: "submit" }, "Create action"),
  );
  return onSubmit(form, status, async (data) => {
    const made = await api.post(`/v1/apps/${seg(app)}/actions`, {
      key: data.get("key"),
      title: data.get("title"),
      handler: handlerOf(data),
      foreground: Boolean(data.get("foreground")),
      destructive: Boolean(data.get("destructive")),
    });
    const shown = made.secret ? [secretBox(`Signing secret of ${made.key}`, made.secret)] : [];
    await done([noticeBox(`Action ${made.key} created.`), ...shown]);
  });
}

function setForm(app, status, done) {
  const form = h(
    "form",
    { class: "card", id: "action-set-create" },
    h("h3", {}, "New action set"),
    field("Key", "key", { required: true, help: "also the APNs category" }),
    field("Actions", "actions", { required: true, help: "1–4 action keys, comma-separated" }),
    h("button", { type: "submit" }, "Create action set"),
  );
  return onSubmit(form, status, async (data) => {
    const made = await api.post(`/v1/apps/${seg(app)}/action-sets`, {
      key: data.get("key"), actions: keysOf(data.get("actions")) });
    await done([noticeBox(`Action set ${made.key} created.`)]);
  });
}

function removal(what, remove, status, done) {
  return action(`Delete ${what}?`, status, async () => {
    await remove();
    await done([noticeBox(`${what} deleted.`)]);
  });
}

/** The actions section of an app's page; it redraws itself through `rerender`. */
export async function actionsSection(app, rerender) {
  const status = h("div", { class: "status", id: "actions-status" });
  const [actions, sets] = await Promise.all([
    api.get(`/v1/apps/${seg(app)}/actions`),
    api.get(`/v1/apps/${seg(app)}/action-sets`),
  ]);
  const done = async (shown) => {
    const section = await rerender();
    fill(section.querySelector("#actions-status"), ...shown);
  };
  const actionColumns = [
    ["Key", (a) => h("code", {}, a.key)],
    ["Title", (a) => a.title],
    ["Handler", (a) => a.handler.kind],
    ["", (a) => button("Delete", removal(`Action ${a.key}`,
      () => api.delete(`/v1/apps/${seg(app)}/actions/${seg(a.id)}`), status, done), "danger")],
  ];
  const setColumns = [
    ["Key", (s) => h("code", {}, s.key)],
    ["Actions", (s) => s.actions.join(", ")],
    ["", (s) => button("Delete", removal(`Action set ${s.key}`,
      () => api.delete(`/v1/apps/${seg(app)}/action-sets/${seg(s.key)}`), status, done),
    "danger")],
  ];
  return h(
    "section",
    { id: "actions" },
    h("h2", {}, "Actions"),
    status,
    table(actionColumns, actions, "No actions yet."),
    h("h3", {}, "Action sets"),
    table(setColumns, sets, "No action sets yet."),
    h("div", { class: "cards" }, actionForm(app, status, done), setForm(app, status, done)),
  );
}
