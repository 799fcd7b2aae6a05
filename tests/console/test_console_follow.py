"""The console as an operator uses it while sending, in real headless Chromium against a real
``pushgate serve`` that delivers to the webhook simulator over https: the notification page
follows a send live, the send form covers the API, a device is registered by hand and sent a
test, credentials are read from files, times are the reader's own, and it all fits a phone.

One server serves the module (each test has an app of its own); the browser is the worker's
shared one (tests/console/browser.py), each test in a new tab. Screenshots go to each test's
``tmp_path``, kept by pytest as the run's artifacts.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pushgate.simulators.base import Fault
from pushgate.simulators.server import start
from pushgate.simulators.tls import CertificateAuthority
from pushgate.simulators.webhook import WebhookSimulator
from tests.api.material import apns_p8, apns_p12, browser_subscription, fcm_service_account
from tests.console.browser import Page, chromium_page, free_port
from tests.console.test_browser import Served, _chromium, _sign_in, _wait_until_up

__all__ = ["_chromium"]  # every test here drives a real headless Chromium

NOTICE_OR_ERROR = "document.querySelector('.notice, .error-code')?.textContent"
PHONE_WIDTH = 390


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, sim_authority: CertificateAuthority
) -> Iterator[Served]:
    """One ``pushgate serve`` for the module, trusting the simulators' CA and allowed to
    reach loopback targets (the webhook simulator)."""
    folder = tmp_path_factory.mktemp("console-follow")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHGATE_")}
    env.update(
        PUSHGATE_DATA_DIR=str(folder / "data"),
        PUSHGATE_BIND=f"127.0.0.1:{port}",
        PUSHGATE_ALLOW_PRIVATE_TARGETS="true",
        PUSHGATE_PROVIDER_CA_FILE=str(sim_authority.ca_path),
        PYTHONUNBUFFERED="1",
        COLUMNS="250",
        XDG_CONFIG_HOME=str(folder / "user-config"),
    )
    log = folder / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "pushgate", "serve", "--init"],
            env=env,
            stdout=output,
            stderr=output,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            yield Served(base, _wait_until_up(base, log, process))
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a loaded machine; what it printed is kept
                process.kill()
                process.wait(timeout=15)


@dataclass
class Hooks:
    """The webhook simulator and an app of the module's server whose credentials point at it."""

    receiver: WebhookSimulator
    app: str

    def token(self, name: str) -> str:
        return f"{self.receiver.base_url}/hook/{name}"


@pytest.fixture
async def hooks(
    served: Served, sim_authority: CertificateAuthority, request: pytest.FixtureRequest
) -> AsyncIterator[Hooks]:
    receiver = WebhookSimulator()
    running = await start(receiver, ssl_context=sim_authority.server_context())
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    receiver.register_credentials({"secret": secret})
    app = request.node.name.removeprefix("test_").replace("_", "-")[:40]
    with served.api() as api:
        assert api.post("/v1/apps", json={"name": app}).status_code == 201
        credentials = {"url": f"{receiver.base_url}/hook", "signing_secret": secret}
        answer = api.put(f"/v1/apps/{app}/credentials/webhook", json=credentials)
        assert answer.status_code == 200, answer.text
    try:
        yield Hooks(receiver, app)
    finally:
        await running.close()


def _register(served: Served, hooks: Hooks, name: str, **extra: object) -> str:
    with served.api() as api:
        body = {"provider": "webhook", "token": hooks.token(name), **extra}
        answer = api.post(f"/v1/apps/{hooks.app}/devices", json=body)
        assert answer.status_code in (200, 201), answer.text
        device_id: str = answer.json()["id"]
        return device_id


@pytest.fixture
async def page(served: Served, tmp_path: Path) -> AsyncIterator[Page]:
    """A signed-in tab on the console's apps page."""
    async with chromium_page(tmp_path) as opened:
        await _sign_in(opened, served)
        await opened.wait_for("document.querySelector('#app-create') !== null")
        yield opened


async def _go(page: Page, hash_: str, ready: str) -> None:
    await page.evaluate(f"location.hash = {json.dumps(hash_)}; true")
    await page.wait_for(f"!!({ready})")


def _tables(page_rows: str = "main table") -> str:
    """Every table matched, as lists of rows of cell texts (JSON)."""
    return (
        f"JSON.stringify([...document.querySelectorAll('{page_rows}')].map(t => "
        "[...t.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.textContent))))"
    )


SUMMARY = _tables("#provider-summary table")
DELIVERY_OUTCOMES = (
    "JSON.stringify([...document.querySelectorAll('main table')].at(-1)"
    ".querySelectorAll('tbody tr').length)"
)


async def test_the_notification_page_follows_a_send_live(
    served: Served, hooks: Hooks, page: Page, tmp_path: Path
) -> None:
    fast = _register(served, hooks, "fast")
    slow = _register(served, hooks, "slow")
    # The slow device's receiver answers 503 with Retry-After: 1 until it is let through,
    # so the notification stays sending, one delivery sent and one pending.
    hooks.receiver.inject(Fault(status=503, retry_after=1, count=None, token="/hook/slow"))
    with served.api() as api:
        sent = api.post(
            "/v1/notifications",
            json={"app": hooks.app, "audience": {"devices": [fast, slow]}, "title": "Live one"},
        )
        assert sent.status_code == 202, sent.text
        notification_id = sent.json()["id"]
    await _go(page, "#/notifications", "document.querySelector('main tbody tr') !== null")
    header = await page.evaluate(
        "[...document.querySelectorAll('main thead th')].map(t => t.textContent)"
    )
    assert header[:2] == ["Id", "Title"]
    listed = await page.evaluate(_tables())
    assert [notification_id, "Live one"] in [row[:2] for row in json.loads(listed)[0]]

    await _go(page, f"#/notifications/{notification_id}", "document.querySelector('#live')")
    await page.evaluate("window.openedOnce = true")
    following = "document.querySelector('#live.following')?.textContent"
    assert (await page.wait_for(following)).startswith("Following live")
    # The summary moves while the page stays: one sent, one pending, no navigation.
    await page.wait_for(
        f"(() => {{ const [rows] = JSON.parse({SUMMARY});"
        "return rows.length === 1 && rows[0][1] === '1' && rows[0][2] === '1'; })()",
        within=30,
    )
    assert await page.evaluate("document.querySelector('.facts .state').textContent") == "sending"
    why = await page.wait_for(
        "document.querySelector('#pending-reasons')?.textContent.includes('503') &&"
        "document.querySelector('#pending-reasons tbody tr').textContent"
    )
    assert why.startswith("retrying1webhook")
    await page.screenshot(tmp_path / "following.png")
    hooks.receiver.faults.clear()
    await page.wait_for(
        "document.querySelector('.facts .state')?.textContent === 'completed'", within=30
    )
    assert await page.evaluate("window.openedOnce") is True
    assert (await page.evaluate("document.querySelector('#live').textContent")).startswith(
        "Final (completed)"
    )
    # The summary agrees with the deliveries table: the same devices, by the same outcome.
    [[webhook]] = json.loads(await page.evaluate(SUMMARY))
    assert webhook[0] == "webhook"
    assert webhook[2] == "2"  # sent
    assert webhook[-1] == "2"  # all
    deliveries = json.loads(await page.evaluate(_tables()))[-1]
    assert sorted((row[0], row[2]) for row in deliveries) == sorted(
        [(fast, "sent"), (slow, "sent")]
    )
    assert int(webhook[-1]) == len(deliveries)
    await page.screenshot(tmp_path / "followed.png")
    assert page.errors == []
    assert page.failed_loads == []
    assert sorted(item.token for item in hooks.receiver.all_received()) == [
        "/hook/fast",
        "/hook/slow",
    ]


async def test_the_send_form_covers_the_api(
    served: Served, hooks: Hooks, page: Page, tmp_path: Path
) -> None:
    device = _register(served, hooks, "alias-device", user="u-form")
    with served.api() as api:
        alias = {"app": hooks.app, "alias": "crm-7"}
        assert api.put("/v1/users/u-form/aliases", json=alias).is_success
    # The browser is in Kolkata (UTC+05:30): the local time picked is sent as UTC.
    await page.call("Emulation.setTimezoneOverride", timezoneId="Asia/Kolkata")
    at = (datetime.now(UTC) + timedelta(days=200)).replace(second=0, microsecond=0)
    local = at.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%dT%H:%M")
    await _go(page, "#/notifications", "document.querySelector('#notification-send')")
    form = "document.querySelector('#notification-send')"
    await page.evaluate(
        f"{{ const f = {form}; f.elements.app.value = {json.dumps(hooks.app)};"
        "f.elements.app.dispatchEvent(new Event('change'));"
        "f.elements.audience.value = 'user_aliases'; f.elements.who.value = 'crm-7';"
        "f.elements.title.value = 'Booked'; f.elements.body.value = 'Tomorrow at 9';"
        "f.elements.data.value = '{\"ticket\": 42'; f.requestSubmit(); }"
    )
    # Data that is not JSON is refused in the page, naming the field; nothing is sent.
    field = await page.wait_for("document.querySelector('.error-field code')?.textContent")
    assert field == "data"
    assert await page.evaluate(f"{form}.elements.data.getAttribute('aria-invalid')") == "true"
    await page.evaluate(
        f"{{ const f = {form}; f.elements.data.value = '{{\"ticket\": 42}}';"
        "document.querySelector('#locale-add').click();"
        "const tags = f.querySelectorAll('[name=locale_tag]');"
        "const titles = f.querySelectorAll('[name=locale_title]');"
        "const bodies = f.querySelectorAll('[name=locale_body]');"
        "tags[0].value = 'de'; titles[0].value = 'Gebucht'; bodies[0].value = 'Morgen um 9';"
        "tags[1].value = 'fr'; titles[1].value = 'Réservé';"
        f"f.elements.send_at.value = {json.dumps(local)}; f.elements.ttl.value = '600';"
        "f.elements.priority.value = 'normal'; f.requestSubmit(); }"
    )
    await page.wait_for("document.querySelector('h1')?.textContent === 'Booked'")
    first = await page.evaluate("decodeURIComponent(location.hash.split('/')[2])")
    # A second send, to a device by its id.
    await _go(page, "#/notifications", "document.querySelector('#notification-send')")
    await page.evaluate(
        f"{{ const f = {form}; f.elements.app.value = {json.dumps(hooks.app)};"
        f"f.elements.audience.value = 'devices'; f.elements.who.value = {json.dumps(device)};"
        "f.elements.title.value = 'To one device'; f.requestSubmit(); }"
    )
    await page.wait_for("document.querySelector('h1')?.textContent === 'To one device'")
    second = await page.evaluate("decodeURIComponent(location.hash.split('/')[2])")
    await page.screenshot(tmp_path / "sent.png")
    assert page.errors == []
    assert page.failed_loads == []
    with served.api() as api:
        stored = api.get(f"/v1/notifications/{first}").json()
        assert stored["audience"] == {"user_aliases": ["crm-7"]}
        content = stored["content"]
        assert (content["title"], content["body"]) == ("Booked", "Tomorrow at 9")
        assert content["locales"] == {
            "de": {"title": "Gebucht", "body": "Morgen um 9"},
            "fr": {"title": "Réservé"},
        }
        assert content["data"] == {"ticket": 42}
        assert (content["ttl"], content["priority"]) == (600, "normal")
        assert datetime.fromisoformat(stored["send_at"]) == at
        assert stored["state"] == "scheduled"
        other = api.get(f"/v1/notifications/{second}").json()
        assert other["audience"] == {"devices": [device]}


async def test_times_are_shown_in_the_readers_zone_with_utc_on_hover(
    served: Served, hooks: Hooks, page: Page
) -> None:
    at = (datetime.now(UTC) + timedelta(days=200)).replace(microsecond=0)
    with served.api() as api:
        body = {
            "app": hooks.app,
            "audience": {"everyone": True},
            "title": "Later",
            "send_at": at.isoformat(),
        }
        notification_id = api.post("/v1/notifications", json=body).json()["id"]
        utc = api.get(f"/v1/notifications/{notification_id}").json()["send_at"]
    await page.call("Emulation.setTimezoneOverride", timezoneId="Asia/Kolkata")
    await _go(page, f"#/notifications/{notification_id}", "document.querySelector('.facts')")
    shown = await page.evaluate(
        "[...document.querySelectorAll('.facts dt')].find(d => d.textContent === 'send at')"
        ".nextElementSibling.querySelector('time').textContent"
    )
    local = at.astimezone(ZoneInfo("Asia/Kolkata"))
    assert shown == local.strftime("%Y-%m-%d %H:%M:%S") + " GMT+5:30"
    hover = await page.evaluate(
        "[...document.querySelectorAll('.facts time')].find(t => t.textContent === "
        f"{json.dumps(shown)}).title"
    )
    assert hover == f"{utc} (UTC)"
    # Lists too: the notification's created time in the list is a local time.
    await _go(page, "#/notifications", "document.querySelector('main tbody time')")
    created = await page.evaluate("document.querySelector('main tbody time').textContent")
    assert created.endswith(" GMT+5:30")
    assert page.errors == []


async def test_a_device_is_registered_by_hand_and_sent_a_test(
    served: Served, hooks: Hooks, page: Page, tmp_path: Path
) -> None:
    await _go(page, "#/devices", "document.querySelector('#device-register')")
    form = "document.querySelector('#device-register')"
    await page.evaluate(
        f"{{ const f = {form}; f.elements.app.value = {json.dumps(hooks.app)};"
        f"f.elements.provider.value = 'webhook'; f.elements.token.value = "
        f"{json.dumps(hooks.token('by-hand'))}; f.elements.user.value = 'u-hand';"
        "f.elements.locale.value = 'de-AT'; f.elements.timezone.value = 'Europe/Vienna';"
        "f.elements.topics.value = 'news, alerts'; f.requestSubmit(); }"
    )
    await page.wait_for("document.querySelector('h1')?.textContent === 'Device'")
    device_id = await page.evaluate("decodeURIComponent(location.hash.split('/')[2])")
    with served.api() as api:
        device = api.get(f"/v1/devices/{device_id}").json()
    assert device["token"] == hooks.token("by-hand")
    assert (device["provider"], device["locale"], device["timezone"]) == (
        "webhook",
        "de-AT",
        "Europe/Vienna",
    )
    assert sorted(device["topics"]) == ["alerts", "news"]
    # From the device's page, a test notification to it alone, followed to the end.
    clicked = await page.evaluate(
        "(() => { const b = [...document.querySelectorAll('main button')]"
        ".find(b => b.textContent === 'Send a test to this device'); b?.click(); return !!b; })()"
    )
    assert clicked
    await page.wait_for(
        "document.querySelector('h1')?.textContent === 'Test from the pushgate console'"
    )
    await page.wait_for(
        "document.querySelector('.facts .state')?.textContent === 'completed'", within=30
    )
    await page.screenshot(tmp_path / "device-test.png")
    assert page.errors == []
    assert page.failed_loads == []
    [received] = hooks.receiver.all_received()
    assert received.token == "/hook/by-hand"
    assert received.body["data"]["title"] == "Test from the pushgate console"
    # A Web Push device gives its browser's subscription JSON in the token field.
    subscription = browser_subscription("https://push.example.com/send/console-1").as_json()
    await _go(page, "#/devices", "document.querySelector('#device-register')")
    await page.evaluate(
        f"{{ const f = {form}; f.elements.app.value = {json.dumps(hooks.app)};"
        "f.elements.provider.value = 'webpush';"
        f"f.elements.token.value = {json.dumps(json.dumps(subscription))}; f.requestSubmit(); }}"
    )
    await page.wait_for(
        f"location.hash !== '#/devices' && !location.hash.endsWith({json.dumps(device_id)})"
        " && document.querySelector('h1')?.textContent === 'Device'"
    )
    web_id = await page.evaluate("decodeURIComponent(location.hash.split('/')[2])")
    with served.api() as api:
        web = api.get(f"/v1/devices/{web_id}").json()
    assert (web["provider"], web["token"]) == ("webpush", subscription["endpoint"])
    assert web["keys"] == subscription["keys"]
    assert page.errors == []
    assert page.failed_loads == []


async def _load_file(page: Page, selector: str, path: Path) -> None:
    """Choose ``path`` in the file input ``selector``, as a person picking it would."""
    root = await page.call("DOM.getDocument")
    found = await page.call("DOM.querySelector", nodeId=root["root"]["nodeId"], selector=selector)
    await page.call("DOM.setFileInputFiles", files=[str(path)], nodeId=found["nodeId"])


async def test_credentials_are_read_from_files(
    served: Served, hooks: Hooks, page: Page, tmp_path: Path
) -> None:
    p8 = tmp_path / "AuthKey_ABC123DEFG.p8"
    p8.write_text(apns_p8())
    p12_bytes = base64.b64decode(apns_p12("secret"))
    p12 = tmp_path / "apns.p12"
    p12.write_bytes(p12_bytes)
    account = fcm_service_account("console-files")
    account_file = tmp_path / "service-account.json"
    account_file.write_text(json.dumps(account, indent=2))
    await _go(page, f"#/apps/{hooks.app}", "document.querySelector('#credentials-apns')")
    loader = "#credentials-apns label:has([name={}]) + label input[type=file]"
    await _load_file(page, loader.format("private_key"), p8)
    form = "document.querySelector('#credentials-apns')"
    await page.wait_for(f"{form}.elements.private_key.value.includes('BEGIN PRIVATE KEY')")
    assert await page.evaluate(f"{form}.elements.private_key.value") == p8.read_text()
    await _load_file(page, loader.format("certificate_p12"), p12)
    await page.wait_for(f"{form}.elements.certificate_p12.value !== ''")
    as_base64 = await page.evaluate(f"{form}.elements.certificate_p12.value")
    assert base64.b64decode(as_base64) == p12_bytes
    await page.evaluate(
        f"{{ const f = {form}; f.elements.certificate_p12.value = '';"
        "f.elements.bundle_id.value = 'com.example.app'; f.elements.team_id.value = 'TEAM123456';"
        "f.elements.key_id.value = 'ABC123DEFG'; f.requestSubmit(); }"
    )
    await page.wait_for("document.querySelector('.credential[data-kind=apns]') !== null")
    # FCM: the service account JSON file, read into its field.
    await page.evaluate(
        "{ const pick = document.querySelector('#credentials-kind');"
        "pick.value = 'fcm'; pick.dispatchEvent(new Event('change')); }"
    )
    await page.wait_for("!!document.querySelector('#credentials-fcm')")
    fcm_loader = "#credentials-fcm label:has([name=service_account]) + label input"
    await _load_file(page, fcm_loader, account_file)
    fcm_form = "document.querySelector('#credentials-fcm')"
    await page.wait_for(f"{fcm_form}.elements.service_account.value !== ''")
    await page.evaluate(f"{fcm_form}.requestSubmit(); true")
    await page.wait_for("document.querySelector('.credential[data-kind=fcm]') !== null")
    await page.screenshot(tmp_path / "credentials-from-files.png")
    assert page.errors == []
    assert page.failed_loads == []
    with served.api() as api:
        kinds = {c["kind"]: c for c in api.get(f"/v1/apps/{hooks.app}/credentials").json()}
    assert "private_key" in kinds["apns"]["fields_set"]
    assert kinds["apns"]["values"]["key_id"] == "ABC123DEFG"
    assert kinds["fcm"]["values"]["project_id"] == "console-files"


PAGE_WIDTH = "document.documentElement.scrollWidth"


async def test_the_console_fits_a_phone_and_its_menu_works(
    served: Served, hooks: Hooks, page: Page, tmp_path: Path
) -> None:
    device_id = _register(served, hooks, "phone")
    with served.api() as api:
        body = {"app": hooks.app, "audience": {"devices": [device_id]}, "title": "Phone"}
        notification_id = api.post("/v1/notifications", json=body).json()["id"]
    await page.call(
        "Emulation.setDeviceMetricsOverride",
        width=PHONE_WIDTH,
        height=844,
        deviceScaleFactor=2,
        mobile=True,
    )
    await page.wait_for(f"window.innerWidth === {PHONE_WIDTH}")
    for shot, (hash_, ready) in enumerate(
        (
            ("#/apps", "document.querySelector('#app-create')"),
            (f"#/apps/{hooks.app}", "document.querySelector('#credentials-kind')"),
            ("#/notifications", "document.querySelector('#notification-send')"),
            (f"#/notifications/{notification_id}", "document.querySelector('#provider-summary')"),
            (f"#/apps/{hooks.app}/reports", "document.querySelector('#series-chart canvas')"),
            ("#/devices", "document.querySelector('#device-register')"),
            (f"#/devices/{device_id}", "document.querySelector('.facts')"),
            ("#/keys", "document.querySelector('main h1')?.textContent === 'API keys'"),
        )
    ):
        await _go(page, hash_, ready)
        width = await page.evaluate(PAGE_WIDTH)
        assert width <= PHONE_WIDTH, (hash_, width)
        name = hash_.strip("#/").split("/")[0]
        await page.screenshot(tmp_path / f"phone-{shot}-{name}.png", whole_page=False)
    # The links are folded behind the Menu button, which opens them inside the screen.
    link = "document.querySelector('nav a[href=\"#/devices\"]')"
    assert await page.evaluate(f"{link}.getClientRects().length") == 0
    await _tap(page, "#nav-toggle")
    await page.wait_for(f"{link}.getClientRects().length > 0")
    assert (
        await page.evaluate("document.querySelector('#nav-toggle').getAttribute('aria-expanded')")
        == "true"
    )
    boxes = await page.evaluate(
        "[...document.querySelectorAll('nav a')].map(a => { const r = a.getBoundingClientRect();"
        "return [r.left, r.right, r.height]; })"
    )
    assert len(boxes) >= 8
    assert all(left >= 0 and right <= PHONE_WIDTH and height > 0 for left, right, height in boxes)
    assert await page.evaluate(PAGE_WIDTH) <= PHONE_WIDTH
    await page.screenshot(tmp_path / "phone-menu.png", whole_page=False)
    await _tap(page, 'nav a[href="#/devices"]')
    await page.wait_for("location.hash === '#/devices'")
    await page.wait_for("!!document.querySelector('#device-register')")
    assert await page.evaluate(f"{link}.getClientRects().length") == 0  # closed again
    assert page.errors == []
    assert page.failed_loads == []


async def _tap(page: Page, selector: str) -> None:
    """A touch-like click at the middle of ``selector``'s box: only what is really shown
    and on top can be tapped this way."""
    x, y = await page.evaluate(
        f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
        ".getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()"
    )
    for kind in ("mousePressed", "mouseReleased"):
        await page.call(
            "Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1
        )


def _event_made_its_notification(served: Served, event_id: str) -> str:
    """The notification the served worker made of the event, once it has (bounded)."""
    deadline = time.monotonic() + 30
    with served.api() as api:
        while time.monotonic() < deadline:
            shown = api.get(f"/v1/events/{event_id}").json()
            made = [t["notification"] for t in shown["triggers"] if t.get("notification")]
            if made:
                return str(made[0])
            time.sleep(0.1)  # the server's own worker, in another process, takes the job
    raise AssertionError(f"event {event_id} made no notification: {shown}")


async def test_a_trigger_is_made_and_tested_and_the_event_log_links_its_notification(
    served: Served, hooks: Hooks, page: Page, tmp_path: Path
) -> None:
    _register(served, hooks, "alice", user="alice")
    template = {
        "title": "{{ data.event.record.id }} assigned",
        "body": "{{ data.event.record.fields.short_description }}",
    }
    with served.api() as api:
        body = {"key": "assigned", "template": template}
        made = api.post(f"/v1/apps/{hooks.app}/types", json=body)
        assert made.status_code == 201, made.text
    await _go(page, f"#/apps/{hooks.app}", "document.querySelector('#app-triggers')")
    await _go(page, f"#/apps/{hooks.app}/triggers", "document.querySelector('#trigger-create')")
    create = (
        "{ const f = document.querySelector('#trigger-create');"
        "f.elements.key.value = 'assigned'; f.elements.events.value = 'incident.assigned';"
        "f.elements.recipient_kind.value = 'field';"
        "f.elements.recipient_value.value = 'record.fields.assigned_to';"
        "f.elements.condition.value = %s; f.requestSubmit(); }"
    )
    # A condition that does not compile: the compiler's lines, the caret under the column.
    await page.evaluate(create % json.dumps("event.record.fields.priority <="))
    shown = await page.wait_for("document.querySelector('.condition-error')?.textContent")
    assert shown.startswith("at 1:32:")
    assert shown.splitlines()[-1].endswith("^")
    await page.evaluate(create % json.dumps("event.record.fields.priority <= 2"))
    rows = "document.querySelectorAll('#triggers tbody tr')"
    await page.wait_for(f"{rows}.length === 1")
    await page.evaluate(f"{rows}[0].querySelector('a').click(); true")
    await page.wait_for("!!document.querySelector('#trigger-test')")
    await page.evaluate("document.querySelector('#trigger-test').requestSubmit(); true")
    title = await page.wait_for("document.querySelector('#test-title')?.textContent")
    assert title == "INC0042 assigned"
    assert await page.evaluate("document.querySelector('#test-match').textContent") == "Matched"
    answer = await page.evaluate("document.querySelector('#trigger-test-answer').textContent")
    assert "users: alice" in answer
    await page.screenshot(tmp_path / "trigger-test.png")
    # A change: the condition emptied is removed, the throttle set.
    await page.evaluate(
        "{ const f = document.querySelector('#trigger-edit'); f.elements.condition.value = '';"
        "f.elements.throttle_minutes.value = '5'; f.requestSubmit(); }"
    )
    await page.wait_for("!!document.querySelector('#trigger-status .notice.ok')")
    with served.api() as api:
        stored = api.get(f"/v1/apps/{hooks.app}/triggers/assigned").json()
    assert (stored.get("condition"), stored["throttle_minutes"], stored["version"]) == (None, 5, 2)
    # Switched off for a unit: the unit's setting.
    unit = f"{hooks.app}-desk"[:60]
    with served.api() as api:
        assert api.post("/v1/units", json={"key": unit, "name": "Desk"}).status_code == 201
    await _go(
        page,
        f"#/apps/{hooks.app}/triggers/assigned?u=1",
        "document.querySelector('#trigger-switches')",
    )
    row = (
        "[...document.querySelectorAll('#trigger-switches tbody tr')]"
        f".find(r => r.textContent.includes('unit:{unit}'))"
    )
    await page.evaluate(
        f"[...{row}.querySelectorAll('button')].find(b => b.textContent === 'Off').click(); true"
    )
    await page.wait_for(f"{row}?.cells[1].textContent === 'off'")
    with served.api() as api:
        values = api.get(f"/v1/units/{unit}/settings").json()["values"]
    assert values == {"triggers.assigned.enabled": False}
    with served.api() as api:
        sample = json.loads(
            await page.evaluate("document.querySelector('#trigger-test').elements.event.value")
        )
        sent = api.post("/v1/events", json=sample)
        assert sent.status_code == 202, sent.text
        event_id = sent.json()["id"]
    notification_id = _event_made_its_notification(served, event_id)
    await _go(page, "#/events", "document.querySelector('#events tbody tr')")
    listed = json.loads(await page.evaluate(_tables("#events table")))[0]
    assert [event_id, "incident.assigned", "incident INC0042"] == listed[0][:3]
    link = "document.querySelector('#event-triggers a.notification')"
    await _go(page, f"#/events/{event_id}", link)
    assert await page.evaluate(f"{link}.getAttribute('href')") == (
        f"#/notifications/{notification_id}"
    )
    await page.evaluate(f"{link}.click(); true")
    await page.wait_for("!!document.querySelector('#provider-summary')")
    # Each page fits a phone.
    await page.call(
        "Emulation.setDeviceMetricsOverride",
        width=PHONE_WIDTH,
        height=844,
        deviceScaleFactor=2,
        mobile=True,
    )
    await page.wait_for(f"window.innerWidth === {PHONE_WIDTH}")
    for hash_, ready in (
        (f"#/apps/{hooks.app}/triggers", "#trigger-create"),
        (f"#/apps/{hooks.app}/triggers/assigned", "#trigger-test"),
        ("#/events", "#events"),
        (f"#/events/{event_id}", "#event-triggers"),
    ):
        await _go(page, hash_, f"document.querySelector('{ready}')")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, (hash_, width)
    await page.screenshot(tmp_path / "event-phone.png", whole_page=False)
    assert page.errors == []
