// pushgate's service worker (docs/clients.md, "Web"): shows pushgate's pushes with their
// actions and reports what became of them.
//
// A service worker must come from the site's own origin
// (https://www.w3.org/TR/service-workers/#register-algorithm): copy this file to the site
// (or proxy /sdk/web-sw.js there) and register it, e.g. as /pushgate-sw.js. A site with a
// worker of its own adds `importScripts("/pushgate-sw.js")` to it instead.
//
// What the push carries is the JSON of docs/actions.md, "Payload identity": the message
// fields, `actions`, and `pushgate` (instance, server, app, notification, delivery, itoken,
// and with actions token and url). Reports go to `POST {server}/v1/interactions` with the
// push's itoken (docs/reports.md); an action answer to `url` + the action's id with the
// response token (docs/actions.md, "Answering a notification").
//
// `?server=https://…` on the worker's address sends both to another base address than the
// push's `server` (pushgate proxied under the site, for instance).

const SERVER = new URL(self.location.href).searchParams.get("server");
// docs/reports.md: a batch holds 1 to 100 events.
const MAX_BATCH = 100;
// Events not delivered yet (network down, 429, 5xx), kept while this worker lives.
const pending = [];
let flushing = null;

function base(gate) {
  return (SERVER || gate.server).replace(/\/+$/, "");
}

/** The address an answer goes to: `url` + the action's id, moved to SERVER when set. */
function answerUrl(gate, chosen) {
  const url = gate.url + encodeURIComponent(chosen.id);
  return SERVER ? base(gate) + url.slice(gate.server.replace(/\/+$/, "").length) : url;
}

function eventOf(gate, event, actionKey) {
  const item = {
    notification: gate.notification,
    delivery: gate.delivery,
    token: gate.itoken,
    event,
    at: new Date().toISOString(),
  };
  if (actionKey) item.action_key = actionKey;
  return { server: base(gate), app: gate.app, item };
}

/** Queue an event and send what is queued: one request per server and app, 100 at most. */
function report(gate, event, actionKey) {
  if (!gate?.itoken) return Promise.resolve();
  pending.push(eventOf(gate, event, actionKey));
  return flush();
}

function flush() {
  // Events queued while a request is out go with the next one, so several events of one
  // moment travel together.
  flushing = (flushing || Promise.resolve()).then(sendPending);
  return flushing;
}

async function sendPending() {
  while (pending.length) {
    const [{ server, app }] = pending;
    const batch = pending.filter((e) => e.server === server && e.app === app).slice(0, MAX_BATCH);
    for (const sent of batch) pending.splice(pending.indexOf(sent), 1);
    let response;
    try {
      response = await fetch(`${server}/v1/interactions`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ app, events: batch.map((e) => e.item) }),
      });
    } catch (error) {
      pending.unshift(...batch);  // offline: try again with the next event
      return;
    }
    // 429 and 5xx are worth another try; any other refusal would be refused again.
    if (response.status === 429 || response.status >= 500) {
      pending.unshift(...batch);
      return;
    }
  }
}

/** The Notifications API's options for a push: its text, image, actions and identity. */
function notificationOptions(payload) {
  const actions = (payload.actions || []).map((a) => {
    const shown = { action: a.action, title: a.title };
    if (a.input) {
      // A text reply (Chromium): what the person types comes back as event.reply.
      shown.type = "text";
      if (a.input.placeholder) shown.placeholder = a.input.placeholder;
    }
    return shown;
  });
  return {
    body: [payload.subtitle, payload.body].filter(Boolean).join("\n") || undefined,
    image: payload.image,
    tag: payload.collapse_key || payload.thread_id,
    actions,
    // A notification's `actions` keep only what the Notifications API knows: the ids the
    // answer needs travel beside the identity.
    data: { pushgate: payload.pushgate, actions: payload.actions || [], data: payload.data || {} },
  };
}

/** A push arrived: show it and report it received. */
async function received(payload) {
  const title = payload.title || payload.body || "";
  await Promise.all([
    self.registration.showNotification(title, notificationOptions(payload)),
    report(payload.pushgate, "received"),
  ]);
}

/** The person clicked the notification (`action` ""), or one of its buttons. */
async function clicked(notification, action, reply) {
  const { pushgate: gate, actions = [], data = {} } = notification.data || {};
  notification.close();
  const chosen = actions.find((a) => a.action === action);
  if (!chosen) {
    await Promise.all([report(gate, "opened"), openPage(data.url)]);
    return;
  }
  const work = [report(gate, "action", chosen.action)];
  if (gate?.token && gate?.url) {
    const body = reply != null ? { input: String(reply) } : {};
    work.push(
      fetch(answerUrl(gate, chosen), {
        method: "POST",
        headers: { Authorization: `Bearer ${gate.token}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }).catch(() => null),
    );
  }
  if ((chosen.options || []).includes("foreground")) work.push(openPage(data.url));
  await Promise.all(work);
}

/** The person dismissed it (https://notifications.spec.whatwg.org/#activating-a-notification). */
async function closed(notification) {
  await report(notification.data?.pushgate, "dismissed");
}

/** Focus a window of the site, or open `url` (the push's `data.url`) when given. Browsers
 * allow it only while handling a click (HTML, "transient activation"): a refusal leaves the
 * report to go on. */
async function openPage(url) {
  try {
    if (url) {
      await self.clients.openWindow(url);
      return;
    }
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    if (windows.length) await windows[0].focus();
  } catch (error) {
    // Not allowed now: nothing to open.
  }
}

self.addEventListener("push", (event) => {
  let payload;
  try {
    payload = event.data ? event.data.json() : null;
  } catch (error) {
    payload = null;
  }
  if (!payload || !payload.pushgate) return;  // not one of pushgate's pushes
  event.waitUntil(received(payload));
});

self.addEventListener("notificationclick", (event) => {
  if (!event.notification.data?.pushgate) return;
  event.waitUntil(clicked(event.notification, event.action, event.reply));
});

self.addEventListener("notificationclose", (event) => {
  if (!event.notification.data?.pushgate) return;
  event.waitUntil(closed(event.notification));
});

// The handlers themselves, for a site's own worker and for tests: a browser offers no way
// to click a notification on command.
self.pushgate = { received, clicked, closed, flush };
