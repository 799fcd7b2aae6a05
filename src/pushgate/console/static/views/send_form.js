// The send form of the notifications page: every audience kind, content with locale
// variants, data, schedule, TTL, priority and an action set, as POST /v1/notifications
// takes them (README "Sending"; docs/actions.md for action sets).

import { api, seg } from "../api.js";
import { errorBox, field, fill, h, onSubmit } from "../dom.js";

const AUDIENCES = ["everyone", "users", "user_aliases", "devices", "topics", "tags"];
const RECORDS = ["as set", "all", "failures"];
const PRIORITIES = ["as set", "high", "normal"];
const NO_SET = "none";
const WHO_HELP = "external user ids, user aliases in the app, device ids or tokens, or topics, "
  + "comma-separated; or a tag expression";

/** The audience object of the send form: its kind, named explicitly (the API checks it
 * agrees with the key), and that kind's names split on commas. */
export function audienceOf(kind, text) {
  const names = String(text || "").split(",").map((s) => s.trim()).filter(Boolean);
  if (kind === "everyone") {
    return { kind, everyone: true };
  }
  if (kind === "tags") {
    return { kind, tags: String(text || "") };
  }
  return { kind, [kind]: names };
}

/** A JSON object typed into a text area, or undefined when it is empty. A text the
 * browser cannot parse is refused here, naming the field as the API would. */
function jsonObject(text, name) {
  if (!String(text || "").trim()) {
    return undefined;
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw localError(name, `${name} is not JSON: ${error.message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw localError(name, `${name} must be a JSON object`);
  }
  return value;
}

function localError(name, message) {
  const error = new Error(message);
  error.code = "invalid_input";
  error.field = name;
  return error;
}

/** One locale variant: its tag and the title and body shown to devices in that locale. */
function localeRow() {
  return h("div", { class: "locale-row" },
    h("label", {}, h("span", {}, "Locale"), h("input", { name: "locale_tag", placeholder: "de" })),
    h("label", {}, h("span", {}, "Title"), h("input", { name: "locale_title" })),
    h("label", {}, h("span", {}, "Body"), h("input", { name: "locale_body" })));
}

/** {"de": {"title": …, "body": …}} from the locale rows that name a locale. */
export function localesOf(data) {
  const tags = data.getAll("locale_tag");
  const titles = data.getAll("locale_title");
  const bodies = data.getAll("locale_body");
  const locales = {};
  tags.forEach((tag, i) => {
    if (String(tag).trim()) {
      locales[String(tag).trim()] = {
        title: titles[i] || undefined,
        body: bodies[i] || undefined,
      };
    }
  });
  return Object.keys(locales).length ? locales : undefined;
}

/** The `send_at` of a local date and time picked in the form (the browser's zone), in UTC. */
function sendAtOf(value) {
  return value ? new Date(String(value)).toISOString() : undefined;
}

const number = (value) => (String(value || "").trim() ? Number(value) : undefined);
const chosen = (value, unset) => (value === unset ? undefined : value);

/** The JSON body of POST /v1/notifications from the form's data. */
export function notificationBody(data) {
  return {
    app: data.get("app"),
    audience: audienceOf(data.get("audience"), data.get("who")),
    title: data.get("title") || undefined,
    body: data.get("body") || undefined,
    locales: localesOf(data),
    data: jsonObject(data.get("data"), "data"),
    send_at: sendAtOf(data.get("send_at")),
    deliver_at_local: data.get("deliver_at_local") || undefined,
    ttl: number(data.get("ttl")),
    priority: chosen(data.get("priority"), PRIORITIES[0]),
    records: chosen(data.get("records"), RECORDS[0]),
    action_set: chosen(data.get("action_set"), NO_SET),
  };
}

/** Offer the action sets of the app chosen in the send form (docs/actions.md). */
async function offerActionSets(form) {
  const app = form.elements.app.value;
  const sets = app ? await api.get(`/v1/apps/${seg(app)}/action-sets`) : [];
  fill(form.elements.action_set, h("option", { value: NO_SET }, NO_SET),
    sets.map((s) => h("option", { value: s.key }, `${s.key} (${s.actions.join(", ")})`)));
}

export function sendForm(apps, status) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const locales = h("div", { id: "locale-rows" }, localeRow());
  const form = h(
    "form",
    { class: "card", id: "notification-send" },
    h("h2", {}, "Send"),
    h("div", { class: "grid-2" },
      field("App", "app", { options: apps.map((a) => a.name) }),
      field("Audience", "audience", { options: AUDIENCES })),
    field("Who", "who", { help: WHO_HELP }),
    field("Title", "title"),
    field("Body", "body"),
    h("fieldset", { id: "locale-variants" },
      h("legend", {}, "Locale variants"),
      h("p", { class: "help" }, "A device whose locale matches gets these instead "
        + "(de-AT falls back to de, then to the title and body above)."),
      locales,
      h("button", { type: "button", class: "quiet", id: "locale-add",
        on: { click: () => locales.append(localeRow()) } }, "Add a locale")),
    field("Data", "data", { kind: "textarea",
      help: "a JSON object handed to the app with the notification, e.g. {\"ticket\": 42}" }),
    h("div", { class: "grid-2" },
      field("Send at", "send_at", { kind: "datetime-local",
        help: `your time (${zone}); empty sends now` }),
      field("Local time", "deliver_at_local", {
        help: "or: HH:MM (or YYYY-MM-DDTHH:MM) in each recipient's own zone" }),
      field("TTL (seconds)", "ttl", { kind: "number",
        help: "how long a provider keeps trying an offline device" }),
      field("Priority", "priority", { options: PRIORITIES }),
      field("Action set", "action_set", { options: [NO_SET], help: "buttons to show" }),
      field("Keep", "records", {
        options: RECORDS,
        help: "a row per delivery, or counts and rows only for deliveries that did not go out",
      })),
    h("button", { type: "submit" }, "Send notification"),
  );
  onSubmit(form, status, async (data) => {
    const made = await api.post(`/v1/notifications`, notificationBody(data));
    location.hash = `#/notifications/${seg(made.id)}`;
  });
  const offer = () => offerActionSets(form).catch((error) => fill(status, errorBox(error)));
  form.elements.app.addEventListener("change", offer);
  offer();
  return form;
}
