// The console's entry point: sign-in, the header with the tenant picker, and the hash router.
// Every view reads and changes data only through the /v1 API (see api.js).

import { ApiError, api, session } from "./api.js";
import { button, errorBox, fill, h } from "./dom.js";
import { renderAppReports } from "./views/app_reports.js";
import { renderApp, renderApps } from "./views/apps.js";
import { renderDevice, renderDevices } from "./views/devices.js";
import { renderEvent, renderEvents } from "./views/events.js";
import { renderKeys } from "./views/keys.js";
import { renderNotification, renderNotifications } from "./views/notifications.js";
import { renderOpsEvents } from "./views/ops_events.js";
import { renderQueue } from "./views/queue.js";
import { renderRelay } from "./views/relay.js";
import { renderSignIn } from "./views/signin.js";
import { renderSources } from "./views/sources.js";
import { renderTenants } from "./views/tenants.js";
import { renderTrigger, renderTriggers } from "./views/triggers.js";
import { renderType } from "./views/type_view.js";
import { renderSettings, renderUnits } from "./views/units.js";
import { renderUser, renderUsers } from "./views/users.js";

const ROUTES = [
  [/^\/tenants$/, renderTenants],
  [/^\/keys$/, renderKeys],
  [/^\/apps$/, renderApps],
  [/^\/apps\/([^/]+)$/, renderApp],
  [/^\/apps\/([^/]+)\/reports$/, renderAppReports],
  [/^\/apps\/([^/]+)\/types\/([^/]+)$/, renderType],
  [/^\/apps\/([^/]+)\/triggers$/, renderTriggers],
  [/^\/apps\/([^/]+)\/triggers\/([^/]+)$/, renderTrigger],
  [/^\/users$/, renderUsers],
  [/^\/users\/([^/]+)$/, renderUser],
  [/^\/devices$/, renderDevices],
  [/^\/devices\/([^/]+)$/, renderDevice],
  [/^\/notifications$/, renderNotifications],
  [/^\/notifications\/([^/]+)$/, renderNotification],
  [/^\/events$/, renderEvents],
  [/^\/events\/([^/]+)$/, renderEvent],
  [/^\/units$/, renderUnits],
  [/^\/settings$/, renderSettings],
  [/^\/sources$/, renderSources],
  [/^\/queue$/, renderQueue],
  [/^\/relay$/, renderRelay],
  [/^\/ops-events$/, renderOpsEvents],
];
const HOME = "#/apps";

const header = document.getElementById("header");
const main = document.getElementById("main");
let me = null; // what the signed-in key is: {instance, prefix, canAdmin, isInstanceAdmin, tenants}

/**
 * Find out who the key is. An admin key can list keys and find itself by its prefix
 * (pgk_<prefix>_<secret>); a key of no tenant is instance-wide and may pick any tenant.
 */
async function identify(key) {
  const instance = await api.get(`/v1/instance`);
  const prefix = key.split("_")[1] || "";
  let own = null;
  let canAdmin = true;
  try {
    const keys = await api.get(`/v1/keys`, { tenant: null });
    own = keys.find((item) => item.prefix === prefix) || null;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 403) {
      throw error;
    }
    canAdmin = false;
  }
  const isInstanceAdmin = own !== null && own.tenant_id === null;
  const tenants = isInstanceAdmin ? await api.get(`/v1/tenants`) : [];
  if (isInstanceAdmin && !session.tenant()) {
    session.chooseTenant("default");
  }
  return { instance, prefix, canAdmin, isInstanceAdmin, tenants, own };
}

function tenantPicker() {
  const select = h(
    "select",
    { id: "tenant-picker", "aria-label": "Tenant" },
    me.tenants.map((t) => h("option", { value: t.name }, t.name)),
  );
  // A tenant picked earlier may have been deleted or renamed since: fall back to default.
  if (!me.tenants.some((t) => t.name === session.tenant())) {
    session.chooseTenant("default");
  }
  select.value = session.tenant();
  select.addEventListener("change", () => {
    session.chooseTenant(select.value);
    route();
  });
  return h("label", { class: "tenant" }, "Tenant ", select);
}

function renderHeader() {
  if (!me) {
    fill(header, h("span", { class: "brand" }, "pushgate console"));
    return;
  }
  const links = [
    ["#/apps", "Apps"],
    ["#/users", "Users"],
    ["#/devices", "Devices"],
    ["#/notifications", "Notifications"],
    ["#/events", "Event log"],
    me.canAdmin ? ["#/units", "Units"] : null,
    me.canAdmin ? ["#/settings", "Settings"] : null,
    me.canAdmin ? ["#/sources", "Sources"] : null,
    me.canAdmin ? ["#/keys", "API keys"] : null,
    ["#/tenants", "Tenants"],
    me.isInstanceAdmin ? ["#/queue", "Queue"] : null,
    me.isInstanceAdmin ? ["#/relay", "Relay"] : null,
    me.canAdmin ? ["#/ops-events", "Events"] : null,
  ].filter(Boolean);
  const current = location.hash.split("?")[0];
  // On a narrow screen the links fold behind this button (console.css); each route
  // renders the header anew, so a followed link closes the menu again.
  const toggle = h("button", {
    type: "button", id: "nav-toggle", class: "quiet", "aria-controls": "nav",
    "aria-expanded": "false",
  }, "Menu");
  toggle.addEventListener("click", () => {
    const open = header.classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  });
  header.classList.remove("open");
  fill(
    header,
    h("span", { class: "brand" }, "pushgate console"),
    h(
      "span",
      { class: "instance", id: "instance" },
      h("span", { id: "instance-name" }, me.instance.instance_name),
      " ",
      h("code", { id: "instance-id", title: "instance id" }, me.instance.instance_id),
    ),
    h("nav", { id: "nav" }, links.map(([href, label]) =>
      h("a", { href, "aria-current": current.startsWith(href) ? "page" : false }, label))),
    me.isInstanceAdmin ? tenantPicker() : null,
    button("Sign out", signOut, "quiet"),
    toggle,
  );
}

function signOut() {
  session.signOut();
  me = null;
  location.hash = "#/signin";
  route();
}

async function signIn(key) {
  session.signOut();
  session.signIn(key);
  try {
    me = await identify(key);
  } catch (error) {
    session.signOut();
    throw error;
  }
  if (location.hash === HOME) {
    route();
  } else {
    location.hash = HOME;
  }
}

/** Called after tenants change, so the picker shows the new list. */
async function reloadTenants() {
  if (me && me.isInstanceAdmin) {
    me.tenants = await api.get(`/v1/tenants`);
    renderHeader();
  }
}

function parseHash() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  return { path: path || "/", query: new URLSearchParams(query || "") };
}

function askForKey(error) {
  session.signOut();
  me = null;
  renderHeader();
  renderSignIn({ main, signIn, error });
}

const isRefusedKey = (error) => error instanceof ApiError && error.status === 401;

async function route() {
  const key = session.key();
  if (!key) {
    askForKey(null);
    return;
  }
  try {
    me = me || (await identify(key));
  } catch (error) {
    if (isRefusedKey(error)) {
      askForKey(error);
    } else {
      fill(main, errorBox(error));
    }
    return;
  }
  const { path, query } = parseHash();
  const found = ROUTES.map(([pattern, view]) => [path.match(pattern), view]).find(([m]) => m);
  if (!found) {
    location.replace(HOME);
    return;
  }
  renderHeader();
  const [match, view] = found;
  const params = match.slice(1).map(decodeURIComponent);
  fill(main, h("p", { class: "loading" }, "Loading…"));
  try {
    await view({ main, params, query, me, route, reloadTenants });
  } catch (error) {
    // A key revoked meanwhile is refused from then on: ask for a key again.
    if (isRefusedKey(error)) {
      askForKey(error);
    } else {
      fill(main, errorBox(error));
    }
  }
}

window.addEventListener("hashchange", route);
route();
