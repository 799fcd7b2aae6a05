"""Paused credentials, locale choice, unknown users and retention, through the pipeline."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from pushgate.core.credentials.keys import application_server_key
from pushgate.core.ids import new_id, now_ms
from pushgate.core.notifications import Notification, NotificationState
from pushgate.simulators.base import Fault
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.simulators.webpush import WebPushSimulator
from pushgate.wiring import Services
from tests.delivery.conftest import register, settled

pytestmark = pytest.mark.usefixtures("worker")


async def _webpush_app(client: httpx.AsyncClient, sim: WebPushSimulator) -> str:
    """An app with a generated VAPID key and one subscribed browser; returns the key."""
    assert (await client.post("/v1/apps", json={"name": "web"})).status_code == 201
    made = await client.put(
        "/v1/apps/web/credentials/webpush",
        json={"generate": True, "subject": "mailto:ops@example.com"},
    )
    assert made.status_code == 200, made.text
    subscription = sim.create_subscription(made.json()["values"]["application_server_key"])
    answer = await client.post(
        "/v1/apps/web/devices",
        json={"provider": "webpush", "subscription": subscription, "user": "w"},
    )
    assert answer.status_code == 201, answer.text
    private_key: str = made.json()["generated"]["vapid_private_key"]
    return private_key


@pytest.mark.parametrize("records", ["all", "failures"])
async def test_refused_credentials_pause_sending_until_replaced(
    client: httpx.AsyncClient, webpush_sim: WebPushSimulator, records: str
) -> None:
    """The batch, refused while the fan-out sent it, waits in a send job of its own; with
    rows or without (records failures only, where it is pending in that job alone)."""
    private_key = await _webpush_app(client, webpush_sim)
    # Refused for as long as the test looks: the probes of the paused credentials (one per
    # turn, test_paused_probe.py) are refused too, so nothing reaches a browser.
    webpush_sim.inject(Fault(status=403, count=1000))
    sent = await client.post(
        "/v1/notifications",
        json={"app": "web", "audience": {"users": ["w"]}, "title": "hold", "records": records},
    )
    notification_id = sent.json()["id"]
    listed: list[dict[str, Any]] = []
    for _ in range(200):
        listed = (await client.get("/v1/apps/web/credentials")).json()
        if listed[0]["paused_reason"]:
            break
        await asyncio.sleep(0.05)
    assert "VAPID" in listed[0]["paused_reason"]
    await asyncio.sleep(1.0)  # several rechecks while paused: nothing is sent or burned
    status = (await client.get(f"/v1/notifications/{notification_id}")).json()
    assert status["deliveries"]["pending"] == 1
    assert webpush_sim.all_received() == []
    webpush_sim.faults.clear()
    # Setting the credentials again (the operator's fix) lifts the pause; the held
    # delivery goes out and the browser decrypts it.
    fixed = await client.put(
        "/v1/apps/web/credentials/webpush",
        json={"vapid_private_key": private_key, "subject": "mailto:ops@example.com"},
    )
    assert fixed.json()["paused_reason"] is None
    final = await settled(client, notification_id)
    assert final["deliveries"]["sent"] == 1
    assert sum(final["deliveries"].values()) == 1
    [received] = webpush_sim.all_received()
    assert orjson.loads(received.body)["title"] == "hold"  # decrypted by the browser side


@pytest.mark.parametrize("records", ["all", "failures"])
async def test_a_subscription_made_under_another_key_is_its_own_failure(
    client: httpx.AsyncClient, webpush_sim: WebPushSimulator, records: str
) -> None:
    """Three browsers, one subscribed under another VAPID key (its push service refuses
    ours for it): the two others get the message, that device is invalidated with the
    reason, and the app's Web Push credentials stay unpaused."""
    await _webpush_app(client, webpush_sim)
    other_key = application_server_key(ec.generate_private_key(ec.SECP256R1()))
    mismatched = webpush_sim.create_subscription(other_key)
    answer = await client.post(
        "/v1/apps/web/devices",
        json={"provider": "webpush", "subscription": mismatched, "user": "m"},
    )
    bad_device = answer.json()["id"]
    await client.post(
        "/v1/apps/web/devices",
        json={"provider": "webpush", "subscription": webpush_sim.create_subscription()},
    )
    sent = await client.post(
        "/v1/notifications",
        json={"app": "web", "audience": {"everyone": True}, "title": "hi", "records": records},
    )
    final = await settled(client, sent.json()["id"])
    assert final["deliveries"]["sent"] == 2
    assert final["deliveries"]["invalid"] == 1
    assert len(webpush_sim.all_received()) == 2
    device = (await client.get(f"/v1/devices/{bad_device}")).json()
    assert device["state"] == "invalid"
    assert device["state_reason"] == "vapid_key_mismatch: VAPID public key mismatch"
    [listed] = (await client.get("/v1/apps/web/credentials")).json()
    assert listed["paused_reason"] is None


async def test_the_users_locale_picks_the_variant(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    assert (await client.put("/v1/users/lena", json={"locale": "de-AT"})).status_code == 201
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/lena", user="lena")
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/fr", user="f", locale="fr")
    answer = await client.post(
        "/v1/notifications",
        json={
            "app": webhook_app,
            "audience": {"users": ["lena", "f"]},
            "title": "Booked",
            "locales": {"de": {"title": "Gebucht"}, "fr": {"title": "Réservé"}},
        },
    )
    await settled(client, answer.json()["id"])
    titles = {r.token: r.body["data"]["title"] for r in webhook_sim.all_received()}
    assert titles == {"/hook/lena": "Gebucht", "/hook/fr": "Réservé"}


async def test_unknown_users_are_reported(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/k", user="known")
    answer = await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"users": ["known", "ghost"]}, "title": "x"},
    )
    assert answer.json()["unknown"] == ["ghost"]
    assert answer.json()["targeted"] == 1


async def test_retention_purges_old_notifications(services: Services, webhook_app: str) -> None:
    tenant = await services.access.ensure_default_tenant()
    app = await services.registry.app(tenant, webhook_app)
    old = now_ms() - (services.settings.retention_days + 1) * 24 * 3600 * 1000
    stale = Notification(
        id=new_id(),
        tenant_id=tenant.id,
        app_id=app.id,
        idempotency_key=None,
        audience={"everyone": True},
        content={"title": "old"},
        state=NotificationState.COMPLETED,
        targeted=0,
        fanout_done=True,
        send_at=None,
        expires_at=old + 1000,
        created_at=old,
        updated_at=old,
    )
    await services.notifications.insert_notification(stale)
    # The worker fixture's housekeeping runs at start and every 30 s.
    await services.notifications.purge(now_ms() - services.settings.retention_days * 86_400_000)
    assert await services.notifications.notification(stale.id) is None


async def test_a_payload_no_provider_of_the_app_can_take_is_refused(
    client: httpx.AsyncClient, webpush_sim: WebPushSimulator
) -> None:
    await _webpush_app(client, webpush_sim)
    big = {
        "app": "web",
        "audience": {"users": ["w"]},
        "title": "t",
        "body": "b" * 2000,
        "data": {"blob": "d" * 2000},
    }
    refused = await client.post("/v1/notifications", json=big)
    assert refused.status_code == 413
    error = refused.json()["error"]
    assert error["details"]["provider"] == "webpush"
    assert "bytes" in error["message"]
    # A locale variant is checked too, not only the default text.
    variant = {**big, "body": "short", "locales": {"de": {"body": "b" * 2000}}}
    assert (await client.post("/v1/notifications", json=variant)).status_code == 413
    fits = {**big, "data": {"blob": "d" * 100}}
    assert (await client.post("/v1/notifications", json=fits)).status_code == 202


async def test_topics_nobody_follows_are_reported(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/n", topics=["news"])
    answer = await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"topics": ["news", "weather"]}, "title": "x"},
    )
    assert answer.json()["unknown"] == ["weather"]
    assert answer.json()["targeted"] == 1
