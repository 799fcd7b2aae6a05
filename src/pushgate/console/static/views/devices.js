// Devices: a filtered, paged list; a device's page with its token history and unregister.

import { api, seg } from "../api.js";
import { action, button, facts, fill, h, noticeBox, table } from "../dom.js";
import { PAGE_SIZE, choice, filterForm, pager } from "./paging.js";

const PROVIDERS = ["apns", "fcm", "webpush", "wns", "hms", "webhook"];
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

export async function renderDevices({ main, query }) {
  const apps = await api.get(`/v1/apps`);
  const page = await api.get(`/v1/devices`, {
    app: query.get("app"), provider: query.get("provider"), state: query.get("state"),
    limit: PAGE_SIZE, after: query.get("after"),
  });
  const names = new Map(apps.map((a) => [a.id, a.name]));
  fill(main, h("h1", {}, "Devices"), deviceFilters(apps, query),
    table(deviceColumns(names), page.items, "No devices match."),
    pager("/devices", query, page.next));
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
    device.state === "unregistered" ? null : button("Unregister device", unregister, "danger"),
  );
}
