// Devices: a filtered, paged list, a device registered by hand (for testing); a device's
// page with its token history, a test notification to it, and unregister.

import { api, seg } from "../api.js";
import { action, button, facts, field, fill, h, noticeBox, onSubmit, table } from "../dom.js";
import { PAGE_SIZE, choice, filterForm, pager } from "./paging.js";

const PROVIDERS = ["apns", "fcm", "webpush", "wns", "hms", "webhook"];
const PLATFORMS = ["as the provider implies", "ios", "android", "web", "windows", "huawei",
  "macos", "server"];
const STATES = ["active", "invalid", "unregistered"];

function shortToken(token) {
  const text = token.length > 28 ? `${token.slice(0, 28)}…` : token;
  return h("code", { title: token }, text);
}

/** Table columns of a device list; `appNames` maps app ids to names where known. */
export function deviceColumns(appNames) {
  return [
    ["Id", (d) => h("a", { href: `#/devices/${seg(d.id)}` }, h("code", {}, d.id))],
    ["App", (d) => appNames.get(d.app_id) || h("code", {}, d.app_id)],
    ["Provider", (d) => d.provider],
    ["Platform", (d) => d.platform],
    ["Token", (d) => shortToken(d.token)],
    ["State", (d) => h("span", { class: `state state-${d.state}` }, d.state)],
    ["Updated", (d) => d.updated_at || "—"],
  ];
}

function deviceFilters(apps, query) {
  return filterForm("device-filters", "/devices", [
    choice("App", "app", apps.map((a) => a.name), query.get("app")),
    choice("Provider", "provider", PROVIDERS, query.get("provider")),
    choice("State", "state", STATES, query.get("state")),
  ]);
}

const listOf = (text) => String(text || "").split(",").map((s) => s.trim()).filter(Boolean);

/** The body of POST /v1/apps/{app}/devices: a Web Push device gives its subscription JSON
 * (PushSubscription.toJSON()) in the token field, every other kind its token. */
export function deviceBody(data) {
  const provider = data.get("provider");
  const token = String(data.get("token") || "").trim();
  let subscription;
  if (provider === "webpush" && token.startsWith("{")) {
    try {
      subscription = JSON.parse(token);
    } catch (error) {
      throw Object.assign(new Error(`the subscription is not JSON: ${error.message}`),
        { code: "invalid_input", field: "token" });
    }
  }
  const text = (name) => String(data.get(name) || "").trim() || undefined;
  return {
    provider,
    token: subscription ? undefined : token || undefined,
    subscription,
    platform: data.get("platform") === PLATFORMS[0] ? undefined : data.get("platform"),
    user: text("user"),
    locale: text("locale"),
    timezone: text("timezone"),
    topics: listOf(data.get("topics")),
    tags: listOf(data.get("tags")),
  };
}

function registerForm(apps) {
  const status = h("div", { class: "status" });
  const form = h(
    "form",
    { class: "card", id: "device-register" },
    h("h2", {}, "Register a device by hand"),
    h("p", { class: "help" }, "For testing: apps register their devices themselves through "
      + "the API. Registering the same token again refreshes that device."),
    status,
    h("div", { class: "grid-2" },
      field("App", "app", { options: apps.map((a) => a.name) }),
      field("Provider", "provider", { options: PROVIDERS }),
      field("Platform", "platform", { options: PLATFORMS })),
    field("Token", "token", { kind: "textarea", required: true,
      help: "the device token, a webhook URL, or a Web Push subscription as JSON" }),
    h("div", { class: "grid-2" },
      field("User", "user", { help: "external user id (made if new)" }),
      field("Locale", "locale", { help: "e.g. de-AT" }),
      field("Time zone", "timezone", { help: "e.g. Europe/Vienna" }),
      field("Topics", "topics", { help: "comma-separated" }),
      field("Tags", "tags", { help: "comma-separated" })),
    h("button", { type: "submit" }, "Register device"),
  );
  form.elements.token.rows = 2;
  return onSubmit(form, status, async (data) => {
    const made = await api.post(`/v1/apps/${seg(data.get("app"))}/devices`, deviceBody(data));
    location.hash = `#/devices/${seg(made.id)}`;
  });
}

export async function renderDevices({ main, query }) {
  const apps = await api.get(`/v1/apps`);
  const page = await api.get(`/v1/devices`, {
    app: query.get("app"), provider: query.get("provider"), state: query.get("state"),
    limit: PAGE_SIZE, after: query.get("after"),
  });
  const names = new Map(apps.map((a) => [a.id, a.name]));
  fill(main, h("h1", {}, "Devices"), deviceFilters(apps, query),
    table(deviceColumns(names), page.items, "No devices match."),
    pager("/devices", query, page.next),
    apps.length ? registerForm(apps) : null);
}

export async function renderDevice(ctx) {
  const { main, params } = ctx;
  const [id] = params;
  const device = await api.get(`/v1/devices/${seg(id)}`);
  const history = await api.get(`/v1/devices/${seg(id)}/history`);
  const apps = await api.get(`/v1/apps`);
  const app = apps.find((a) => a.id === device.app_id);
  const status = h("div", { class: "status" });
  const unregister = action("Unregister this device? It will receive nothing more.", status,
    async () => {
      await api.delete(`/v1/devices/${seg(id)}`);
      await renderDevice(ctx);
      fill(main.querySelector(".status"), noticeBox("Device unregistered."));
    });
  const sendTest = action(null, status, async () => {
    const made = await api.post(`/v1/notifications`, {
      app: app.name,
      audience: { kind: "devices", devices: [device.id] },
      title: "Test from the pushgate console",
      body: `Sent to device ${device.id} at ${new Date().toLocaleString()}.`,
    });
    location.hash = `#/notifications/${seg(made.id)}`;
  });
  fill(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/devices" }, "Devices"), " / ", device.id),
    h("h1", {}, "Device"),
    status,
    facts([
      ["id", h("code", {}, device.id)],
      ["app", app ? h("a", { href: `#/apps/${seg(app.name)}` }, app.name) : device.app_id],
      ["provider", device.provider], ["platform", device.platform],
      ["token", h("code", { class: "wrap" }, device.token)],
      ["subscription keys", device.keys ? h("code", {}, JSON.stringify(device.keys)) : null],
      ["user id", device.user_id], ["locale", device.locale], ["time zone", device.timezone],
      ["topics", device.topics.join(", ")], ["tags", device.tags.join(", ")],
      ["app version", device.app_version],
      ["state", h("span", { class: `state state-${device.state}` }, device.state)],
      ["state reason", device.state_reason], ["state changed", device.state_changed_at],
      ["created", device.created_at], ["updated", device.updated_at],
    ]),
    h("h2", {}, "Token history"),
    table([
      ["Old token", (c) => shortToken(c.old_token)],
      ["New token", (c) => shortToken(c.new_token)],
      ["Changed", (c) => c.changed_at || "—"],
    ], history, "The token never changed."),
    device.state === "active" && app
      ? button("Send a test to this device", sendTest) : null,
    " ",
    device.state === "unregistered" ? null : button("Unregister device", unregister, "danger"),
  );
}
