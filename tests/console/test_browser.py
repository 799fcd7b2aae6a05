"""The console in a real headless Chromium against a real ``pushgate serve``.

Skipped when ``/usr/bin/chromium`` is absent. The browser signs in with the bootstrap key
printed on first start, must show the instance id and an app created through the API, and
then changes things through the page whose effects are checked through the API.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.clock import in_200_days
from tests.console.browser import CHROMIUM, Page, chromium_page, free_port
from tests.services import require_program


@pytest.fixture(autouse=True)
def _chromium() -> None:
    """Every test here drives a real headless Chromium."""
    require_program(CHROMIUM.name, "chromium")


KEY_PATTERN = re.compile(r"pgk_[0-9a-f]{12}_[A-Za-z0-9_-]+")
START_TIMEOUT_SECONDS = 30
APP_NAMES = "[...document.querySelectorAll('main td:first-child a')].map(a => a.textContent)"


@dataclass(frozen=True)
class Served:
    base_url: str
    admin_key: str

    def api(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=10)


def _wait_until_up(base: str, log: Path, process: subprocess.Popen[bytes]) -> str:
    """The bootstrap key from the first-start output, once the server answers."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        key = KEY_PATTERN.search(log.read_text(errors="replace"))
        try:
            if key and httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return key.group(0)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"pushgate serve did not start:\n{log.read_text(errors='replace')}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHGATE_")}
    env.update(
        PUSHGATE_DATA_DIR=str(tmp_path / "data"),
        PUSHGATE_BIND=f"127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
        COLUMNS="250",
        XDG_CONFIG_HOME=str(tmp_path / "user-config"),
    )
    log = tmp_path / "serve.log"
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
            process.wait(timeout=15)


async def _sign_in(page: Page, served: Served, key: str | None = None) -> None:
    await page.call("Page.navigate", url=f"{served.base_url}/console")
    await page.wait_for("document.querySelector('#signin-key') !== null")
    await page.evaluate(
        f"document.querySelector('#signin-key').value = {json.dumps(key or served.admin_key)};"
        "document.querySelector('#signin-form').requestSubmit(); true"
    )


async def test_sign_in_shows_the_instance_and_its_apps(served: Served, tmp_path: Path) -> None:
    with served.api() as api:
        instance = api.get("/v1/instance").json()
        assert api.post("/v1/apps", json={"name": "shop", "description": "Web shop"}).is_success
        assert api.post("/v1/tenants", json={"name": "acme"}).is_success
        assert api.post("/v1/apps?tenant=acme", json={"name": "crm"}).is_success
        made = api.post("/v1/keys", json={"name": "acme", "scopes": ["admin"], "tenant": "acme"})
        tenant_key = made.json()["key"]
    profile = tmp_path / "profile"
    profile.mkdir()
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        shown_id = await page.wait_for("document.querySelector('#instance-id')?.textContent")
        assert shown_id == instance["instance_id"]
        shown_name = await page.evaluate("document.querySelector('#instance-name').textContent")
        assert shown_name == instance["instance_name"]
        await page.wait_for(f"{APP_NAMES}.join() === 'shop'")
        # The key is kept for this tab only: not in a cookie, not in the address.
        stored = await page.evaluate("sessionStorage.getItem('pushgate.console.key')")
        assert stored == served.admin_key
        assert await page.evaluate("document.cookie") == ""
        assert served.admin_key not in await page.evaluate("location.href")
        await page.screenshot(tmp_path / "apps.png")
        # Picking a tenant makes every call act in it: its apps, not the default tenant's.
        await page.evaluate(
            "{ const pick = document.querySelector('#tenant-picker');"
            "pick.value = 'acme'; pick.dispatchEvent(new Event('change')); }"
        )
        await page.wait_for(f"{APP_NAMES}.join() === 'crm'")
        assert await page.evaluate("sessionStorage.getItem('pushgate.console.tenant')") == "acme"
        # A tenant's own admin key sees its tenant only, with no tenant picker.
        await page.evaluate("document.querySelector('header button').click(); true")
        await _sign_in(page, served, tenant_key)
        await page.wait_for(f"{APP_NAMES}.join() === 'crm'")
        assert await page.evaluate("document.querySelector('#tenant-picker')") is None
        assert await page.evaluate("sessionStorage.getItem('pushgate.console.tenant')") is None
        assert page.errors == []
        assert page.failed_loads == []


async def test_errors_are_shown_and_changes_reach_the_server(
    served: Served, tmp_path: Path
) -> None:
    with served.api() as api:
        assert api.post("/v1/apps", json={"name": "shop"}).is_success
    profile = tmp_path / "profile"
    profile.mkdir()
    async with chromium_page(profile) as page:
        # An unknown key is refused with the API's own error, and is not kept.
        await _sign_in(page, served, "pgk_000000000000_unknown")
        code = await page.wait_for("document.querySelector('.error-code')?.textContent")
        assert code == "unauthenticated"
        assert await page.evaluate("sessionStorage.length") == 0
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        # A name the API refuses: the one error shape is shown, naming the field.
        await page.evaluate(
            "{ const form = document.querySelector('#app-create');"
            "form.elements.name.value = 'Not Valid'; form.requestSubmit(); }"
        )
        code = await page.wait_for("document.querySelector('.error-code')?.textContent")
        assert code == "validation_failed"
        field = await page.evaluate("document.querySelector('.error-field code').textContent")
        assert field == "name"
        # Web Push credentials with a generated VAPID key: the private key is shown once.
        await page.evaluate("location.hash = '#/apps/shop'; true")
        await page.wait_for("document.querySelector('#credentials-kind') !== null")
        await page.evaluate(
            "{ const pick = document.querySelector('#credentials-kind');"
            "pick.value = 'webpush'; pick.dispatchEvent(new Event('change'));"
            "const form = document.querySelector('#credentials-webpush');"
            "form.elements.subject.value = 'mailto:ops@example.com';"
            "form.elements.generate.checked = true; form.requestSubmit(); }"
        )
        secret = await page.wait_for("document.querySelector('.secret-value')?.value")
        await page.wait_for("document.querySelector('.credential[data-kind=webpush]') !== null")
        await page.screenshot(tmp_path / "credentials.png")
        assert page.errors == []
        assert len(page.failed_loads) == 2
        assert "401" in page.failed_loads[0]
        assert "422" in page.failed_loads[1]
    with served.api() as api:
        credentials = api.get("/v1/apps/shop/credentials").json()
    assert [c["kind"] for c in credentials] == ["webpush"]
    assert credentials[0]["values"]["subject"] == "mailto:ops@example.com"
    assert secret not in json.dumps(credentials)


def _scheduled_notification(served: Served, title: str) -> str:
    """An app "shop" with webhook credentials and a notification to all its devices that
    waits 200 days; its id."""
    with served.api() as api:
        assert api.post("/v1/apps", json={"name": "shop"}).is_success
        webhook = {"url": "https://hooks.example.com/x", "generate_signing_secret": True}
        assert api.put("/v1/apps/shop/credentials/webhook", json=webhook).is_success
        later = {
            "app": "shop",
            "audience": {"everyone": True},
            "title": title,
            "send_at": in_200_days(),
        }
        notification_id: str = api.post("/v1/notifications", json=later).json()["id"]
        return notification_id


async def _filter_by_state(page: Page, view: str, form_id: str, state: str) -> None:
    """Open ``view``, choose ``state`` in its filter form and submit it: the choice goes
    into the address."""
    await page.evaluate(f"location.hash = '#/{view}'; true")
    await page.wait_for(f"document.querySelector('#{form_id}') !== null")
    await page.evaluate(
        f"{{ const form = document.querySelector('#{form_id}');"
        f"form.elements.state.value = '{state}'; form.requestSubmit(); }}"
    )
    await page.wait_for(f"location.hash === '#/{view}?state={state}'")


async def test_notifications_are_sent_listed_followed_and_canceled(
    served: Served, tmp_path: Path
) -> None:
    scheduled = _scheduled_notification(served, "Tomorrow")
    rows = "[...document.querySelectorAll('main tbody tr td:first-child')].map(t => t.textContent)"
    profile = tmp_path / "profile"
    profile.mkdir()
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        await page.evaluate("location.hash = '#/notifications'; true")
        await page.wait_for(f"{rows}.join() === {json.dumps(scheduled)}")
        # Nothing to send: the API's error is shown and nothing is stored.
        await page.evaluate("document.querySelector('#notification-send').requestSubmit(); true")
        code = await page.wait_for("document.querySelector('.error-code')?.textContent")
        assert code == "validation_failed"
        # Sent from the form: the page of the new notification opens.
        await page.evaluate(
            "{ const form = document.querySelector('#notification-send');"
            "form.elements.title.value = 'Hello from the console';"
            "form.elements.records.value = 'failures'; form.requestSubmit(); }"
        )
        await page.wait_for(
            "document.querySelector('h1')?.textContent === 'Hello from the console'"
        )
        keeps = "[...document.querySelectorAll('.facts dd')].map(d => d.textContent).join('|')"
        assert "rows only for deliveries that did not go out" in await page.wait_for(keeps)
        sent = await page.evaluate("decodeURIComponent(location.hash.split('/')[2])")
        # The scheduled one, canceled from its page.
        await page.evaluate(f"location.hash = '#/notifications/{scheduled}'; true")
        await page.wait_for("document.querySelector('h1')?.textContent === 'Tomorrow'")
        await page.evaluate(
            "window.confirm = () => true;"
            "[...document.querySelectorAll('button')]"
            ".find(b => b.textContent === 'Cancel notification').click(); true"
        )
        notice = await page.wait_for("document.querySelector('.notice')?.textContent")
        assert notice == "Notification canceled."
        badge = "document.querySelector('.facts .state')?.textContent"
        assert await page.wait_for(badge) == "canceled"
        # Filtered by state (the form puts the choice in the address), only the canceled one.
        await _filter_by_state(page, "notifications", "notification-filters", "canceled")
        await page.wait_for(f"{rows}.join() === {json.dumps(scheduled)}")
        # The devices page's filters work the same way.
        await _filter_by_state(page, "devices", "device-filters", "invalid")
        await page.wait_for("document.querySelector('main .empty')?.textContent")
        await page.screenshot(tmp_path / "notifications.png")
        assert page.errors == []
        assert len(page.failed_loads) == 1
        assert "422" in page.failed_loads[0]
    with served.api() as api:
        assert api.get(f"/v1/notifications/{scheduled}").json()["state"] == "canceled"
        stored = api.get(f"/v1/notifications/{sent}").json()
        assert stored["content"]["title"] == "Hello from the console"
        assert stored["audience"] == {"everyone": True}
        assert stored["records"] == "failures"
        listed = api.get("/v1/notifications").json()["items"]
        assert [n["id"] for n in listed] == [sent, scheduled]


async def test_the_queue_page_shows_dead_letters_and_retries_one(
    served: Served, tmp_path: Path
) -> None:
    notification_id = _scheduled_notification(served, "t")
    # A send job that died earlier, as a worker leaves one after its last attempt.
    payload = json.dumps({"n": notification_id, "d": []}).encode()
    with sqlite3.connect(tmp_path / "data" / "pushgate.db") as database:
        database.execute(
            "INSERT INTO dead_jobs (id, kind, payload, attempts, reason, created_at, failed_at)"
            " VALUES ('job-1', 'send', ?, 10, 'TimeoutError: provider pool closed', 1, 2)",
            (payload,),
        )
    profile = tmp_path / "profile"
    profile.mkdir()
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        assert await page.evaluate("!!document.querySelector('nav a[href=\"#/queue\"]')")
        await page.evaluate("location.hash = '#/queue'; true")
        await page.wait_for(
            "document.body.innerText.includes('TimeoutError: provider pool closed')"
        )
        text = await page.evaluate("document.querySelector('main').innerText")
        assert notification_id in text
        await page.evaluate(
            "[...document.querySelectorAll('main button')]"
            ".find(b => b.textContent === 'Retry').click(); true"
        )
        notice = await page.wait_for("document.querySelector('.notice')?.textContent")
        assert notice == "Job job-1 queued again."
        await page.wait_for("document.body.innerText.includes('No dead letters.')")
        assert page.errors == []
        assert page.failed_loads == []
    with served.api() as api:
        assert api.get("/v1/queue/send/dead").json() == []


async def test_the_relay_page_lists_origins_with_their_quota(
    served: Served, tmp_path: Path
) -> None:
    origin = {
        "instance_id": "origin-7",
        "instance_name": "https://push.customer.example",
        "apps": ["shop"],
        "rate_limit": {"per_second": 5, "burst": 10},
        "per_day": 1000,
    }
    with served.api() as api:
        made = api.post("/v1/relay/origins", json=origin)
        assert made.status_code == 201, made.text
    profile = tmp_path / "profile"
    profile.mkdir()
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        assert await page.evaluate("!!document.querySelector('nav a[href=\"#/relay\"]')")
        await page.evaluate("location.hash = '#/relay'; true")
        await page.wait_for("document.body.innerText.includes('origin-7')")
        text = await page.evaluate("document.querySelector('main').innerText")
        assert "https://push.customer.example" in text
        assert "5/s, burst 10; 1000 a day" in text
        assert page.errors == []
        assert page.failed_loads == []


# Clicks the button labelled ``label`` in the table row whose text contains ``row`` (or
# anywhere in the page when ``row`` is empty), accepting the confirmation it asks for.
CLICK = """((label, row) => {{
  window.confirm = () => true;
  const scope = row
    ? [...document.querySelectorAll('main tr')].find(r => r.textContent.includes(row))
    : document.querySelector('main');
  const found = scope && [...scope.querySelectorAll('button')].find(b => b.textContent === label);
  if (found) {{ found.click(); }}
  return !!found;
}})({label}, {row})"""


async def _click(page: Page, label: str, row: str = "") -> None:
    clicked = await page.evaluate(CLICK.format(label=json.dumps(label), row=json.dumps(row)))
    assert clicked, (label, row)


async def test_removals_ask_first_and_reach_the_server(served: Served, tmp_path: Path) -> None:
    with served.api() as api:
        for name in ("shop", "gone"):
            assert api.post("/v1/apps", json={"name": name}).is_success
        webhook = {"url": "https://hooks.example.com/x", "generate_signing_secret": True}
        assert api.put("/v1/apps/shop/credentials/webhook", json=webhook).is_success
        assert api.post("/v1/keys", json={"name": "ops", "scopes": ["send"]}).is_success
        assert api.put("/v1/users/u-1", json={"locale": "de"}).is_success
        alias = {"app": "shop", "alias": "a-1"}
        assert api.put("/v1/users/u-1/aliases", json=alias).is_success
        assert api.post("/v1/tenants", json={"name": "old"}).is_success
    notice = "document.querySelector('.notice')?.textContent"
    profile = tmp_path / "profile"
    profile.mkdir()
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for(f"{APP_NAMES}.join() === 'gone,shop'")
        await _click(page, "Delete", "gone")
        await page.wait_for(f"{notice} === 'App gone deleted.'")
        assert await page.evaluate(f"{APP_NAMES}.join()") == "shop"

        await page.evaluate("location.hash = '#/apps/shop'; true")
        await page.wait_for("document.body.innerText.includes('Remove webhook')")
        await _click(page, "Remove webhook")
        await page.wait_for(f"{notice} === 'webhook credentials removed.'")

        await page.evaluate("location.hash = '#/keys'; true")
        await page.wait_for("document.querySelector('main').innerText.includes('ops')")
        await _click(page, "Revoke", "ops")
        await page.wait_for(f"{notice} === 'Key ops revoked.'")

        await page.evaluate("location.hash = '#/users/u-1'; true")
        await page.wait_for("document.querySelector('main').innerText.includes('a-1')")
        await _click(page, "Remove", "a-1")
        await page.wait_for(f"{notice} === 'Alias a-1 removed.'")
        await _click(page, "Delete user")
        await page.wait_for("location.hash === '#/users'")

        await page.evaluate("location.hash = '#/tenants'; true")
        await page.wait_for(
            "[...document.querySelectorAll('main td:first-child')]"
            ".some(t => t.textContent === 'old')"
        )
        await _click(page, "Delete", "old")
        await page.wait_for(f"{notice} === 'Tenant old deleted.'")
        assert page.errors == []
        assert page.failed_loads == []
    with served.api() as api:
        assert [a["name"] for a in api.get("/v1/apps").json()] == ["shop"]
        assert api.get("/v1/apps/shop/credentials").json() == []
        keys = {k["name"]: k for k in api.get("/v1/keys").json()}
        assert keys["ops"]["revoked_at"] is not None
        assert api.get("/v1/users/u-1").status_code == 404
        assert [t["name"] for t in api.get("/v1/tenants").json()] == ["default"]


async def test_a_key_is_limited_and_unlimited_from_the_keys_page(
    served: Served, tmp_path: Path
) -> None:
    with served.api() as api:
        made = api.post("/v1/keys", json={"name": "ops", "scopes": ["send"]}).json()
        limits = {"deliveries_per_day": 500, "send_rate_limit": {"per_second": 2, "burst": 4}}
        assert api.patch("/v1/tenants/default", json=limits).is_success
    form = f"document.querySelector('form.key-limit[data-key=\"{made['id']}\"]')"
    notice = "document.querySelector('.notice')?.textContent"
    profile = tmp_path / "profile"
    profile.mkdir()
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        await page.evaluate("location.hash = '#/keys'; true")
        await page.wait_for(f"{form} !== null")
        await page.evaluate(
            f"{{ const form = {form}; form.elements.per_second.value = '2.5';"
            "form.elements.burst.value = '5'; form.requestSubmit(); }"
        )
        await page.wait_for(f"{notice} === 'Key ops: rate limit 2.5/s, burst 5.'")
        with served.api() as api:
            keys = {k["name"]: k for k in api.get("/v1/keys").json()}
        assert keys["ops"]["rate_limit"] == {"per_second": 2.5, "burst": 5}
        # Empty fields remove the limit.
        await page.wait_for(f"{form}.elements.burst.value === '5'")
        await page.evaluate(
            f"{{ const form = {form}; form.elements.per_second.value = '';"
            "form.elements.burst.value = ''; form.requestSubmit(); }"
        )
        await page.wait_for(f"{notice} === 'Key ops: rate limit —.'")
        # The tenants page shows the tenant's limits.
        await page.evaluate("location.hash = '#/tenants'; true")
        await page.wait_for("document.querySelector('main').innerText.includes('2/s, burst 4')")
        assert "500" in await page.evaluate("document.querySelector('main').innerText")
        assert page.errors == []
        assert page.failed_loads == []
    with served.api() as api:
        keys = {k["name"]: k for k in api.get("/v1/keys").json()}
    assert keys["ops"]["rate_limit"] is None


async def test_actions_and_sets_are_made_on_the_app_page_and_picked_to_send(
    served: Served, tmp_path: Path
) -> None:
    with served.api() as api:
        assert api.post("/v1/apps", json={"name": "desk"}).is_success
    profile = tmp_path / "profile"
    profile.mkdir()
    create_action = (
        "{{ const form = document.querySelector('#action-create');"
        "form.elements.key.value = '{key}'; form.elements.title.value = '{title}';"
        "form.elements.handler.value = '{handler}'; form.elements.url.value = '{url}';"
        "form.requestSubmit(); }}"
    )
    keys = "[...document.querySelectorAll('#actions tbody tr td:first-child')]"
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        await page.evaluate("location.hash = '#/apps/desk'; true")
        await page.wait_for("document.querySelector('#action-create') !== null")
        hook = "https://hooks.example.com/answers"
        await page.evaluate(
            create_action.format(key="approve", title="Approve", handler="webhook", url=hook)
        )
        secret = await page.wait_for("document.querySelector('#actions .secret-value')?.value")
        assert secret.startswith("whsec_")
        await page.evaluate(
            create_action.format(key="reject", title="Reject", handler="record", url="")
        )
        await page.wait_for(f"{keys}.length === 2")
        await page.evaluate(
            "{ const form = document.querySelector('#action-set-create');"
            "form.elements.key.value = 'approval';"
            "form.elements.actions.value = 'approve, reject'; form.requestSubmit(); }"
        )
        await page.wait_for(f"{keys}.length === 3")
        # An action a set uses is not deleted: the API's conflict is shown.
        await page.evaluate(
            "window.confirm = () => true;"
            "document.querySelector('#actions tbody tr button').click(); true"
        )
        code = await page.wait_for("document.querySelector('#actions .error-code')?.textContent")
        assert code == "conflict"
        # The send form offers the app's sets.
        await page.evaluate("location.hash = '#/notifications'; true")
        options = "[...document.querySelectorAll('#notification-send [name=action_set] option')]"
        await page.wait_for(f"{options}.length === 2")
        await page.evaluate(
            "{ const form = document.querySelector('#notification-send');"
            "form.elements.title.value = 'CHG0042 needs your approval';"
            "form.elements.action_set.value = 'approval'; form.requestSubmit(); }"
        )
        await page.wait_for(
            "document.querySelector('h1')?.textContent === 'CHG0042 needs your approval'"
        )
        sent = await page.evaluate("decodeURIComponent(location.hash.split('/')[2])")
        await page.screenshot(tmp_path / "actions.png")
        assert page.errors == []
        assert len(page.failed_loads) == 1
        assert "409" in page.failed_loads[0]
    with served.api() as api:
        listed = api.get("/v1/apps/desk/actions").json()
        assert [(a["key"], a["handler"]["kind"]) for a in listed] == [
            ("approve", "webhook"),
            ("reject", "record"),
        ]
        assert secret not in json.dumps(listed)
        assert api.get("/v1/apps/desk/action-sets/approval").json()["actions"] == [
            "approve",
            "reject",
        ]
        content = api.get(f"/v1/notifications/{sent}").json()["content"]
        assert content["action_set"] == "approval"
        assert [a["key"] for a in content["actions"]] == ["approve", "reject"]


async def test_a_notification_is_sent_at_a_local_time_and_shows_what_waits(
    served: Served, tmp_path: Path
) -> None:
    with served.api() as api:
        assert api.post("/v1/apps", json={"name": "desk"}).is_success
        device = {"provider": "webhook", "token": "https://hooks.example.com/a", "user": "amy"}
        assert api.post("/v1/apps/desk/devices", json=device).is_success
    profile = tmp_path / "profile"
    profile.mkdir()
    facts = "document.querySelector('main').innerText"
    # Tomorrow at 09:00 in each recipient's zone: within the default TTL everywhere.
    when = f"{(datetime.now(UTC) + timedelta(days=1)).date().isoformat()}T09:00"
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        await page.evaluate("location.hash = '#/notifications'; true")
        await page.wait_for("document.querySelector('#notification-send') !== null")
        await page.evaluate(
            "{ const form = document.querySelector('#notification-send');"
            "form.elements.app.value = 'desk'; form.elements.audience.value = 'everyone';"
            "form.elements.title.value = 'Good morning';"
            f"form.elements.deliver_at_local.value = '{when}'; form.requestSubmit(); }}"
        )
        await page.wait_for("document.querySelector('h1')?.textContent === 'Good morning'")
        await page.wait_for(f"{facts}.includes('{when}')")
        sent = await page.evaluate("decodeURIComponent(location.hash.split('/')[2])")
        assert page.errors == []
    with served.api() as api:
        content = api.get(f"/v1/notifications/{sent}").json()["content"]
    assert content["deliver_at_local"] == when


async def test_the_events_page_lists_operational_events_by_kind(
    served: Served, tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "data" / "pushgate.db") as database:
        [(tenant_id,)] = database.execute("SELECT id FROM tenants WHERE name = 'default'")
        for event_id, kind, subject_type, subject, details in (
            ("01900000-0000-7000-8000-000000000001", "credentials.paused", "app", "a-1", "refused"),
            ("01900000-0000-7000-8000-000000000002", "job.dead_lettered", "job", "job-7", "boom"),
        ):
            database.execute(
                "INSERT INTO operational_events (id, at, tenant_id, kind, subject_type,"
                " subject_id, app_id, details) VALUES (?, 1, ?, ?, ?, ?, NULL, ?)",
                (event_id, tenant_id, kind, subject_type, subject, json.dumps({"reason": details})),
            )
    profile = tmp_path / "profile"
    profile.mkdir()
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        assert await page.evaluate("!!document.querySelector('nav a[href=\"#/ops-events\"]')")
        await page.evaluate("location.hash = '#/ops-events'; true")
        await page.wait_for("document.body.innerText.includes('reason: boom')")
        text = await page.evaluate("document.querySelector('main').innerText")
        assert "credentials.paused" in text
        assert "reason: refused" in text
        await page.evaluate("location.hash = '#/ops-events?kind=job.dead_lettered'; true")
        await page.wait_for(
            "document.querySelector('main').innerText.includes('job-7')"
            " && !document.querySelector('main').innerText.includes('reason: refused')"
        )
        assert page.errors == []
        assert page.failed_loads == []


async def test_types_are_made_switched_and_deleted_on_the_app_page(
    served: Served, tmp_path: Path
) -> None:
    with served.api() as api:
        assert api.post("/v1/apps", json={"name": "clinic"}).is_success
    profile = tmp_path / "profile"
    profile.mkdir()
    rows = "[...document.querySelectorAll('#types tbody tr')]"
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        await page.evaluate("location.hash = '#/apps/clinic'; true")
        await page.wait_for("document.querySelector('#type-create') !== null")
        await page.evaluate(
            "{ const form = document.querySelector('#type-create');"
            "form.elements.key.value = 'booked'; form.elements.priority.value = 'normal';"
            "form.elements.title.value = 'Booked: {{ data.what }}';"
            "form.elements.no_opt_out.checked = true; form.requestSubmit(); }"
        )
        await page.wait_for(f"{rows}.length === 1")
        shown = await page.evaluate(f"{rows}[0].textContent")
        assert "booked" in shown
        assert "Booked: {{ data.what }}" in shown
        # A template that does not compile: the API's 422 is shown, nothing is made.
        await page.evaluate(
            "{ const form = document.querySelector('#type-create');"
            "form.elements.key.value = 'broken'; form.elements.title.value = '{{ data.x ';"
            "form.requestSubmit(); }"
        )
        code = await page.wait_for("document.querySelector('#types .error-code')?.textContent")
        assert code == "validation_failed"
        await page.evaluate(f"{rows}[0].querySelector('button').click(); true")  # switch off
        await page.wait_for(f"{rows}[0]?.textContent.includes('off')")
        with served.api() as api:
            made = api.get("/v1/apps/clinic/types/booked").json()
        assert (made["enabled"], made["priority"], made["opt_out_allowed"]) == (
            False,
            "normal",
            False,
        )
        # The app's settings: every send must name a type.
        await page.evaluate(
            "{ const form = document.querySelector('#app-update');"
            "form.elements.requires_type.checked = true; form.requestSubmit(); }"
        )
        await page.wait_for("document.body.textContent.includes('required on every send')")
        await page.evaluate(
            f"window.confirm = () => true;{rows}[0].querySelectorAll('button')[1].click(); true"
        )
        await page.wait_for(f"{rows}.length === 0")
        await page.screenshot(tmp_path / "types.png")
        assert page.errors == []
    with served.api() as api:
        assert api.get("/v1/apps/clinic").json()["requires_type"] is True
        assert api.get("/v1/apps/clinic/types/booked").status_code == 404
        assert api.get("/v1/apps/clinic/types/broken").status_code == 404


async def test_units_are_made_and_settings_shown_with_their_scope(
    served: Served, tmp_path: Path
) -> None:
    with served.api() as http:
        assert http.post("/v1/units", json={"key": "north", "name": "North"}).status_code == 201
        changed = http.put("/v1/settings", json={"values": {"types.visit.enabled": True}})
        assert changed.status_code == 200, changed.text
    profile = tmp_path / "profile"
    profile.mkdir()
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        await page.evaluate("location.hash = '#/units'; true")
        await page.wait_for("document.querySelector('#unit-create') !== null")
        await page.evaluate(
            "const f = document.querySelector('#unit-create');"
            "f.elements.key.value = 'depot-7'; f.elements.name.value = 'Depot 7';"
            "f.elements.parent.value = 'north'; f.requestSubmit(); true"
        )
        await page.wait_for("document.body.innerText.includes('Unit depot-7 created.')")
        await page.evaluate("location.hash = '#/settings?unit=depot-7'; true")
        await page.wait_for("document.querySelector('#setting-set') !== null")
        await page.evaluate(
            "const s = document.querySelector('#setting-set');"
            "s.elements.name.value = 'types.visit.enabled'; s.elements.value.value = 'false';"
            "s.requestSubmit(); true"
        )
        await page.wait_for("document.body.innerText.includes('unit:depot-7')")
        text = await page.evaluate("document.querySelector('main').innerText")
        assert "retention_days" in text
        assert "default" in text
        assert page.errors == []
        assert page.failed_loads == []
    with served.api() as http:
        unit = http.get("/v1/units/depot-7").json()
        assert unit["parent"] == "north"
        values = http.get("/v1/units/depot-7/settings").json()["values"]
        assert values == {"types.visit.enabled": False}


async def test_a_source_is_made_paused_and_deleted_and_its_secret_never_shown(
    served: Served, tmp_path: Path
) -> None:
    definition = {
        "key": "scheduler",
        "kind": "datanotifier",
        "verification": {"alg": "HS256", "secret": "console-secret-of-at-least-32-bytes!"},
        "mapping": {"name": "Type", "record_type": "appointment", "record_id": "Id"},
    }
    profile = tmp_path / "profile"
    profile.mkdir()
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        await page.evaluate("location.hash = '#/sources'; true")
        await page.wait_for("document.querySelector('#source-create') !== null")
        await page.evaluate(
            "const f = document.querySelector('#source-create');"
            f"f.elements.definition.value = {json.dumps(json.dumps(definition))};"
            "f.requestSubmit(); true"
        )
        await page.wait_for("document.body.innerText.includes('Source scheduler created')")
        text = await page.evaluate("document.querySelector('main').innerText")
        assert "/v1/inbound/" in text
        assert "console-secret" not in text
        rows = "document.querySelectorAll('main table tbody tr')"
        await page.evaluate(f"{rows}[0].querySelectorAll('button')[0].click(); true")
        await page.wait_for("document.body.innerText.includes('Source scheduler paused.')")
        with served.api() as http:
            assert http.get("/v1/sources/scheduler").json()["paused"] is True
        await page.evaluate(
            f"window.confirm = () => true;{rows}[0].querySelectorAll('button')[1].click(); true"
        )
        await page.wait_for("document.body.innerText.includes('Source scheduler deleted.')")
        assert page.errors == []
        assert page.failed_loads == []
    with served.api() as http:
        assert http.get("/v1/sources/scheduler").status_code == 404


async def test_a_types_template_is_edited_beside_its_preview_and_switched_per_scope(
    served: Served, tmp_path: Path
) -> None:
    with served.api() as http:
        assert http.post("/v1/apps", json={"name": "clinic"}).is_success
        assert http.post("/v1/units", json={"key": "north", "name": "North"}).status_code == 201
        made = http.post(
            "/v1/apps/clinic/types", json={"key": "visit", "template": {"title": "{{ data.what }}"}}
        )
        assert made.status_code == 201, made.text
        user = http.put("/v1/users/ann", json={"unit": "north", "attributes": {"name": "Ann"}})
        assert user.is_success, user.text
    profile = tmp_path / "profile"
    profile.mkdir()
    rows = "[...document.querySelectorAll('#type-switches tbody tr')]"
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        await page.evaluate("location.hash = '#/apps/clinic'; true")
        await page.wait_for("document.querySelector('#types a') !== null")
        await page.evaluate("document.querySelector('#types a').click(); true")
        await page.wait_for("document.querySelector('#template-edit') !== null")
        # The saved template is previewed at once, beside the editor.
        await page.wait_for("document.querySelector('#preview-out').innerText.includes('example')")
        await page.evaluate(
            "{ const f = document.querySelector('#template-edit');"
            "f.elements.title.value = 'Hi {{ user.attributes.name }}';"
            "f.elements.body.value = 'About {{ data.what }}';"
            "f.elements.locales.value ="
            ' \'{"de": {"title": "Hallo {{ user.attributes.name }}"}}\';'
            "f.requestSubmit(); }"
        )
        await page.wait_for("document.body.innerText.includes('Template of visit saved.')")
        await page.evaluate(
            "{ const f = document.querySelector('#template-preview');"
            "f.elements.user.value = 'ann'; f.elements.data.value = '{\"what\": \"tea\"}';"
            "f.requestSubmit(); }"
        )
        await page.wait_for("document.querySelector('#preview-out').innerText.includes('Hi Ann')")
        shown = await page.evaluate("document.querySelector('#preview-out').innerText")
        assert "Hallo Ann" in shown
        assert "About tea" in shown
        # Data that is no JSON object is refused in the page, naming the field.
        await page.evaluate(
            "{ const f = document.querySelector('#template-edit');"
            "f.elements.data.value = '[1]'; f.requestSubmit(); }"
        )
        await page.wait_for("document.body.innerText.includes('data: must be a JSON object')")
        # Switched off for the unit only: the row says where the value comes from.
        scopes = await page.evaluate(f"{rows}.map(r => r.cells[0].textContent)")
        assert scopes == ["global", "unit:north"]
        await page.evaluate(
            f"[...{rows}[1].querySelectorAll('button')].find(b => b.textContent === 'Off')"
            ".click(); true"
        )
        await page.wait_for("document.body.innerText.includes('set off at unit:north')")
        north = await page.evaluate(f"{rows}[1].innerText")
        assert "off" in north
        assert "unit:north" in north
        await page.screenshot(tmp_path / "type.png")
        # The user's settings in effect, resolved at their unit.
        await page.evaluate("location.hash = '#/users/ann'; true")
        await page.wait_for("document.querySelector('#user-settings') !== null")
        await page.evaluate("document.querySelector('#user-settings').click(); true")
        await page.wait_for("document.querySelector('#user-scope') !== null")
        text = await page.evaluate("document.querySelector('main').innerText")
        assert "types.visit.enabled\tfalse\tunit:north" in text
        assert "retention_days" in text
        await page.screenshot(tmp_path / "user-settings.png")
        assert page.errors == []
    with served.api() as http:
        template = http.get("/v1/apps/clinic/types/visit").json()["template"]
        assert template["title"] == "Hi {{ user.attributes.name }}"
        assert template["locales"]["de"]["title"] == "Hallo {{ user.attributes.name }}"
        assert http.get("/v1/units/north/settings").json()["values"] == {
            "types.visit.enabled": False
        }
        assert http.get("/v1/settings").json()["values"] == {}
