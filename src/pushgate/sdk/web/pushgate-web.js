// pushgate web SDK: subscribe a browser to an app's pushes (docs/clients.md, "Web").
//
// A plain ES module, no build step and no dependency:
//
//   import { subscribe } from "https://push.example.com/sdk/web.js";
//   const device = await subscribe({
//     baseUrl: "https://push.example.com", app: "shop", key: "pgk_…",
//     serviceWorker: "/pushgate-sw.js", user: "alice",
//   });
//
// subscribe() asks for permission (Notifications API), registers the service worker (a
// copy of /sdk/web-sw.js served from the site's own origin: a service worker must be),
// reads the app's VAPID public key from pushgate, subscribes with the Push API
// (https://www.w3.org/TR/push-api/#dom-pushmanager-subscribe) and registers the
// subscription as a `webpush` device. Calling it again refreshes the same registration:
// pushgate upserts devices by their endpoint.

/** An answer of pushgate other than 2xx: `status`, and `code`/`details` of its error shape. */
export class PushgateError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `pushgate answered ${status}`);
    this.name = "PushgateError";
    this.status = status;
    this.code = body?.error?.code || null;
    this.details = body?.error?.details || null;
  }
}

function trimmed(baseUrl) {
  if (!baseUrl) throw new TypeError("baseUrl is required (pushgate's public address)");
  return String(baseUrl).replace(/\/+$/, "");
}

function headersFor({ key, userToken }) {
  if (!key) throw new TypeError("key is required (an API key with the devices:register scope)");
  const headers = { Authorization: `Bearer ${key}` };
  // An app with a user-auth secret wants the host's token for the device's user as well.
  if (userToken) headers["Pushgate-User-Token"] = userToken;
  return headers;
}

async function answered(response) {
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new PushgateError(response.status, body);
  return body;
}

/** The app's VAPID public key, base64url, as pushgate keeps it (`application_server_key`). */
export async function vapidPublicKey({ baseUrl, app, key, userToken }) {
  const url = `${trimmed(baseUrl)}/v1/apps/${encodeURIComponent(app)}/webpush/vapid-public-key`;
  const body = await answered(await fetch(url, { headers: headersFor({ key, userToken }) }));
  return body.application_server_key;
}

/** base64url text to the bytes `applicationServerKey` takes. */
export function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/** Register a subscription (a PushSubscription or its toJSON()) as a `webpush` device. */
export async function register({
  baseUrl, app, key, userToken, subscription,
  user, userAlias, locale, timezone, topics, tags, appVersion, oldEndpoint,
}) {
  const json = typeof subscription?.toJSON === "function" ? subscription.toJSON() : subscription;
  if (!json?.endpoint || !json?.keys) throw new TypeError("subscription has no endpoint or keys");
  const device = {
    provider: "webpush",
    platform: "web",
    subscription: { endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } },
    user, user_alias: userAlias, locale, timezone, topics, tags, app_version: appVersion,
    old_token: oldEndpoint,
  };
  for (const name of Object.keys(device)) if (device[name] === undefined) delete device[name];
  const url = `${trimmed(baseUrl)}/v1/apps/${encodeURIComponent(app)}/devices`;
  const response = await fetch(url, {
    method: "POST",
    headers: { ...headersFor({ key, userToken }), "Content-Type": "application/json" },
    body: JSON.stringify(device),
  });
  return answered(response);
}

/**
 * Ask for permission, subscribe and register; the device pushgate answered.
 *
 * `serviceWorker`: the worker's address on the site (default "/pushgate-sw.js"), or
 * `registration`: a ServiceWorkerRegistration the site made itself.
 * `user`, `userAlias`, `locale` (default the browser's), `timezone` (default the
 * browser's), `topics`, `tags`, `appVersion`: the device's fields (docs/architecture.md).
 */
export async function subscribe(options) {
  const { serviceWorker = "/pushgate-sw.js" } = options;
  // Ask first, within the user's gesture that called subscribe() (browsers refuse a
  // permission prompt that no gesture led to).
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    throw new PushgateError(0, { error: { code: "permission_denied", message: `notifications ${permission}` } });
  }
  const registration = await activated(
    options.registration || (await navigator.serviceWorker.register(serviceWorker)),
  );
  const applicationServerKey = await vapidPublicKey(options);
  const existing = await registration.pushManager.getSubscription();
  let oldEndpoint;
  if (existing && !sameKey(existing, applicationServerKey)) {
    // Made with another VAPID key (the app's was changed): it cannot receive our pushes.
    oldEndpoint = existing.endpoint;
    await existing.unsubscribe();
  }
  const subscription = existing && !oldEndpoint ? existing
    : await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(applicationServerKey) });
  return register({
    locale: navigator.language,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    ...options,
    subscription,
    oldEndpoint,
  });
}

/** The registration once its worker is active: the Push API subscribes only then
 * (https://www.w3.org/TR/push-api/#subscribe-method, "no active worker"). */
async function activated(registration) {
  const worker = registration.installing || registration.waiting;
  if (registration.active || !worker) return registration;
  await new Promise((resolve) => {
    worker.addEventListener("statechange", () => {
      if (worker.state === "activated" || worker.state === "redundant") resolve();
    });
  });
  return registration;
}

function sameKey(subscription, base64url) {
  const held = subscription.options?.applicationServerKey;
  if (!held) return true;  // not told: keep it
  const want = keyBytes(base64url);
  const have = new Uint8Array(held);
  return have.length === want.length && have.every((byte, i) => byte === want[i]);
}
