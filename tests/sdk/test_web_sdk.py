"""The web SDK and its service worker in real headless Chromium against a real
``pushgate serve``, with the site on an origin of its own (docs/clients.md, "Web").

The browser's own push service is out of reach here, so the Web Push simulator stands in
for it on both sides: ``pushManager.subscribe`` answers the simulator's subscription for the
key the SDK asked with (the only browser function replaced), pushgate sends to the
simulator, which decrypts each push as a browser would, and the decrypted payload is
delivered to the site's real service worker as a real push event (DevTools'
``ServiceWorker.deliverPushMessage``, what the DevTools "Push" button does). Clicks and
dismissals cannot be made on command, so the test calls the worker's own handlers
(``self.pushgate``) with the notifications it showed, as the ``notificationclick`` and
``notificationclose`` listeners do.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from pushgate.simulators.server import start
from pushgate.simulators.tls import CertificateAuthority
from pushgate.simulators.webpush import WebPushSimulator
from tests.console.browser import Page, _shared, chromium_page
from tests.console.test_browser import Served, _chromium
from tests.console.test_console_follow import served

__all__ = ["_chromium", "served"]  # a real Chromium, the module's one pushgate serve

WORKER_PATH = "/pushgate-sw.js"


@dataclass(frozen=True)
class Site:
    """A web site of its own origin, holding a copy of pushgate's service worker."""

    origin: str


@pytest.fixture(scope="module")
def site(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The site copies /sdk/web-sw.js to its own origin, as docs/clients.md says to."""
    folder = tmp_path_factory.mktemp("site")
    worker = httpx.get(f"{served.base_url}/sdk/web-sw.js", timeout=10)
    assert worker.status_code == 200, worker.text
    (folder / WORKER_PATH.lstrip("/")).write_bytes(worker.content)
    (folder / "index.html").write_text("<!doctype html><title>shop</title><p>shop</p>")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class WebApp:
    """An app of the module's server with VAPID credentials, and a key a web page holds."""

    name: str
    vapid_public_key: str
    register_key: str
    push_service: WebPushSimulator


@pytest.fixture
async def web_app(
    served: Served, sim_authority: CertificateAuthority, request: pytest.FixtureRequest
) -> AsyncIterator[WebApp]:
    push_service = WebPushSimulator()
    running = await start(push_service, ssl_context=sim_authority.server_context())
    name = request.node.name.removeprefix("test_").replace("_", "-")[:40]
    with served.api() as api:
        assert api.post("/v1/apps", json={"name": name}).status_code == 201
        vapid = {"subject": "mailto:ops@example.com", "generate": True}
        made = api.put(f"/v1/apps/{name}/credentials/webpush", json=vapid)
        assert made.status_code == 200, made.text
        public_key = made.json()["values"]["application_server_key"]
        for key, title in (("approve", "Approve"), ("reject", "Reject")):
            action = {"key": key, "title": title, "handler": {"kind": "record"}}
            assert api.post(f"/v1/apps/{name}/actions", json=action).status_code == 201
        scoped = {"name": f"{name} web", "scopes": ["devices:register"]}
        register_key = api.post("/v1/keys", json=scoped).json()["key"]
    try:
        yield WebApp(name, public_key, register_key, push_service)
    finally:
        await running.close()


@pytest.fixture
async def page(site: Site, tmp_path: Path) -> AsyncIterator[Page]:
    """A tab on the site, allowed to show notifications."""
    async with chromium_page(tmp_path) as opened:
        # The browser is shared: the worker an earlier test registered goes first.
        await opened.call("Storage.clearDataForOrigin", origin=site.origin, storageTypes="all")
        await opened.call(
            "Browser.grantPermissions", origin=site.origin, permissions=["notifications"]
        )
        opened.keep("ServiceWorker")
        await opened.call("Page.navigate", url=f"{site.origin}/index.html")
        await opened.wait_for("document.readyState === 'complete'")
        yield opened


def _subscribe_script(served: Served, app: WebApp, subscription: dict[str, Any]) -> str:
    """Import the SDK from pushgate and subscribe; ``pushManager.subscribe`` answers the
    push service's subscription, and keeps the key it was asked for (``window.asked``)."""
    options = {
        "baseUrl": served.base_url,
        "app": app.name,
        "key": app.register_key,
        "serviceWorker": WORKER_PATH,
        "user": "alice",
        "tags": ["web"],
    }
    return f"""(async () => {{
      PushManager.prototype.getSubscription = async () => null;
      PushManager.prototype.subscribe = async function (options) {{
        window.asked = btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey)));
        return {json.dumps(subscription)};
      }};
      const sdk = await import({json.dumps(served.base_url + "/sdk/web.js")});
      const device = await sdk.subscribe({json.dumps(options)});
      // subscribe() waited for the worker to be active, as the Push API needs.
      const registration = await navigator.serviceWorker.getRegistration();
      if (!registration.active) throw new Error("subscribed before the worker was active");
      return device;
    }})()"""


async def test_subscribe_registers_the_browser_as_a_webpush_device(
    served: Served, web_app: WebApp, page: Page
) -> None:
    subscription = web_app.push_service.create_subscription(web_app.vapid_public_key)
    device = await page.evaluate(_subscribe_script(served, web_app, subscription))
    assert device["provider"] == "webpush"
    assert device["token"] == subscription["endpoint"]
    # The key the SDK read from pushgate is the app's, as the bytes the Push API takes.
    asked = await page.evaluate("window.asked")
    assert _b64url(asked) == web_app.vapid_public_key
    with served.api() as api:
        [listed] = api.get("/v1/devices", params={"app": web_app.name}).json()["items"]
    assert listed["id"] == device["id"]
    assert listed["keys"] == subscription["keys"]
    assert listed["platform"] == "web"
    assert listed["tags"] == ["web"]
    with served.api() as api:
        alice = api.get("/v1/users/alice").json()
    assert listed["user_id"] == alice["id"]
    # Subscribing again refreshes the one registration.
    again = await page.evaluate(_subscribe_script(served, web_app, subscription))
    assert again["id"] == device["id"]
    assert page.errors == []


async def test_the_service_worker_shows_pushes_and_reports_what_became_of_them(
    served: Served, web_app: WebApp, page: Page
) -> None:
    subscription = web_app.push_service.create_subscription(web_app.vapid_public_key)
    device = await page.evaluate(_subscribe_script(served, web_app, subscription))
    registration = await _worker_registration(page)
    with served.api() as api:
        asking = _send(api, web_app, device["id"], "Approve CHG0042?", ["approve", "reject"])
        plain = _send(api, web_app, device["id"], "Your order shipped", [])
    async with _worker(registration["scopeURL"]) as worker:
        for notification in (asking, plain):
            payload = await _pushed(web_app.push_service, subscription, notification)
            await page.call(
                "ServiceWorker.deliverPushMessage",
                origin=_origin(registration),
                registrationId=registration["registrationId"],
                data=json.dumps(payload),
            )
        # Each push was reported received, before anything else of the worker is read:
        # polling the notifications while they are being shown can keep them from it.
        await _received(served, (asking, plain))
        shown = await _until(
            worker,
            "self.registration.getNotifications().then(all => all.length === 2 && "
            "all.map(n => [n.title, n.actions.map(a => a.action)]))",
        )
        assert sorted(shown) == [
            ["Approve CHG0042?", ["approve", "reject"]],
            ["Your order shipped", []],
        ]
        # The receipts are out before the taps, so the taps' batches are theirs alone.
        await worker.evaluate("self.pushgate.flush().then(() => true)")
        worker.keep("Network")
        await worker.call("Network.enable")
        await worker.evaluate(
            "self.registration.getNotifications().then(all => Promise.all(all.map(n =>"
            " n.title === 'Your order shipped'"
            "   ? self.pushgate.clicked(n, '').then(() => self.pushgate.closed(n))"
            "   : self.pushgate.clicked(n, 'approve'))))"
        )
        await worker.evaluate("self.pushgate.flush().then(() => true)")
        await worker.evaluate("true")  # reads the events that came meanwhile
    # The tap and the open of the same moment went in one batch, the dismissal after them.
    batches = [
        [(e["event"], e.get("action_key")) for e in json.loads(sent["postData"])["events"]]
        for sent in _posted(worker, "/v1/interactions")
    ]
    assert sorted(map(sorted, batches)) == [
        [("action", "approve"), ("opened", None)],
        [("dismissed", None)],
    ]
    [answer] = _posted(worker, "/action/")
    assert answer["headers"]["Authorization"].startswith("Bearer ")
    with served.api() as api:
        answered = _interactions(api, asking)
        counted = answered["interactions"]
        assert (counted["received"], counted["opened"], counted["dismissed"]) == (1, 0, 0)
        assert (counted["actioned"], counted["actions"]) == (1, {"approve": 1})
        assert answered["responses"] == {"approve": {"succeeded": 1}}
        opened = _interactions(api, plain)["interactions"]
        assert (opened["received"], opened["opened"], opened["dismissed"]) == (1, 1, 1)
        assert opened["actioned"] == 0
    assert page.errors == []


async def _received(served: Served, notifications: tuple[str, ...]) -> None:
    """Wait until pushgate counts each notification received once."""
    async with asyncio.timeout(30):
        while True:
            with served.api() as api:
                counts = [_interactions(api, n)["interactions"]["received"] for n in notifications]
            if counts == [1] * len(notifications):
                return
            await asyncio.sleep(0.1)


def _posted(worker: Page, path: str) -> list[dict[str, Any]]:
    """The POST requests the worker made to a URL holding ``path``, oldest first."""
    return [
        event["params"]["request"]
        for event in worker.kept
        if event["method"] == "Network.requestWillBeSent"
        and event["params"]["request"]["method"] == "POST"
        # DevTools may announce a request again once its CORS preflight is answered.
        and "postData" in event["params"]["request"]
        and path in event["params"]["request"]["url"]
    ]


def _origin(registration: dict[str, Any]) -> str:
    """The origin of a worker registration, from its scope (the site's root)."""
    scope: str = registration["scopeURL"]
    return scope.rstrip("/")


def _send(api: httpx.Client, app: WebApp, device: str, title: str, actions: list[str]) -> str:
    body: dict[str, Any] = {"app": app.name, "audience": {"devices": [device]}, "title": title}
    if actions:
        body["actions"] = actions
    sent = api.post("/v1/notifications", json=body)
    assert sent.status_code == 202, sent.text
    notification: str = sent.json()["id"]
    return notification


def _interactions(api: httpx.Client, notification: str) -> dict[str, Any]:
    read = api.get(f"/v1/notifications/{notification}")
    assert read.status_code == 200, read.text
    found: dict[str, Any] = read.json()
    return found


async def _pushed(
    push_service: WebPushSimulator, subscription: dict[str, Any], notification: str
) -> dict[str, Any]:
    """The decrypted payload of ``notification`` once the push service has it."""
    async with asyncio.timeout(30):
        while True:
            for body in push_service.received_for(subscription["endpoint"]):
                payload = json.loads(body) if isinstance(body, bytes | str) else body
                if payload["pushgate"]["notification"] == notification:
                    found: dict[str, Any] = payload
                    return found
            await asyncio.sleep(0.05)


async def _worker_registration(page: Page) -> dict[str, Any]:
    """The site's worker registration, as DevTools names it for ``deliverPushMessage``."""
    await page.call("ServiceWorker.enable")
    async with asyncio.timeout(10):
        while True:
            for event in page.kept:
                if event["method"] == "ServiceWorker.workerRegistrationUpdated":
                    for registration in event["params"]["registrations"]:
                        if not registration.get("isDeleted"):
                            found: dict[str, Any] = registration
                            return found
            await page.evaluate("true")  # reads the events that came meanwhile
            await asyncio.sleep(0.05)


@asynccontextmanager
async def _worker(scope_url: str) -> AsyncIterator[Page]:
    """A DevTools connection to the site's service worker, to run its handlers and see what
    it sends."""
    port = await asyncio.to_thread(_shared.port)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        async with asyncio.timeout(10):
            while True:
                targets = (await http.get("/json/list")).json()
                workers = [
                    t
                    for t in targets
                    if t.get("type") == "service_worker" and t["url"].startswith(scope_url)
                ]
                if workers:
                    break
                await asyncio.sleep(0.05)
    async with connect(workers[0]["webSocketDebuggerUrl"], max_size=16 * 1024 * 1024) as ws:
        worker = Page(ws)
        await worker.call("Runtime.enable")
        yield worker


async def _until(worker: Page, expression: str, within: float = 10.0) -> Any:
    """Poll until ``expression`` is truthy in the worker (which has no document to show)."""
    async with asyncio.timeout(within):
        while True:
            value = await worker.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.25)


def _b64url(standard: str) -> str:
    return standard.replace("+", "-").replace("/", "_").rstrip("=")
