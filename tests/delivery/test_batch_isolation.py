"""One delivery that cannot be prepared or sent fails alone: the rest of its batch goes out
exactly once and the job is not run again (docs/architecture.md §5).

The bad targets are written through the storage layer, as rows stored before registration
refused them would be: the API no longer takes them.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import httpx
import pytest

from pushgate.core.models import Provider
from pushgate.core.registry import new_device
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.simulators.webpush import WebPushSimulator
from pushgate.wiring import Services
from tests.delivery.conftest import register, settled

pytestmark = pytest.mark.usefixtures("worker")

# Refused by the HTTP client while the request is built: an octal IPv4 spelling (its own
# error class), and a host label that is no valid IDNA (a ValueError from the codec).
UNSENDABLE = [
    ("https://0177.0.0.1/x", "InvalidURL"),
    ("https://xn--a.example/x", "InvalidCodepoint"),
]


async def _stored_device(
    services: Services, app: str, provider: Provider, token: str, keys: dict[str, str] | None
) -> str:
    tenant = await services.accounts.tenant_by_name("default")
    assert tenant is not None
    found = await services.accounts.app_by_name(tenant.id, app)
    assert found is not None
    device = new_device(tenant.id, found.id, provider, token, keys, None, None, None, [], [], None)
    saved, created = await services.people.save_device(device)
    assert created
    return saved.id


async def _deliveries(client: httpx.AsyncClient, notification_id: str) -> list[dict[str, Any]]:
    answer = await client.get(f"/v1/notifications/{notification_id}/deliveries")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def _quiet(receiver: WebhookSimulator | WebPushSimulator, seconds: float = 1.5) -> None:
    """Wait out a second attempt that should not come: the job's retry would run within
    this time (the worker's first backoff is one to two seconds)."""
    deadline = time.monotonic() + seconds
    seen = len(receiver.all_received())
    while time.monotonic() < deadline:
        assert len(receiver.all_received()) == seen
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("bad_url", "error", "records"),
    [(*UNSENDABLE[0], "all"), (*UNSENDABLE[0], "failures"), (*UNSENDABLE[1], "all")],
)
async def test_an_unsendable_webhook_target_fails_alone(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    records: str,
    bad_url: str,
    error: str,
) -> None:
    good = [
        await register(client, webhook_app, f"{webhook_sim.base_url}/hook/{n}") for n in range(5)
    ]
    bad = await _stored_device(services, webhook_app, Provider.WEBHOOK, bad_url, None)
    answer = await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"everyone": True}, "body": "hi", "records": records},
    )
    assert answer.status_code == 202, answer.text
    notification_id = answer.json()["id"]
    final = await settled(client, notification_id, seconds=10)
    assert final["state"] == "completed", final
    assert final["deliveries"]["sent"] == 5
    assert final["deliveries"]["failed"] == 1
    await _quiet(webhook_sim)
    counts = {path: len(items) for path, items in webhook_sim.received.items()}
    assert counts == {f"/hook/{n}": 1 for n in range(5)}
    rows = await _deliveries(client, notification_id)
    [failed] = [row for row in rows if row["state"] == "failed"]
    assert failed["device_id"] == bad
    assert failed["reason"].startswith(f"delivery failed: {error}: ")
    if records == "all":
        assert {row["device_id"] for row in rows if row["state"] == "sent"} == set(good)


async def test_a_subscription_with_an_unusable_key_fails_alone(
    client: httpx.AsyncClient, services: Services, webpush_sim: WebPushSimulator
) -> None:
    """Web Push encrypts each delivery for its subscription: a key that is not a point on
    P-256 (stored before registration checked it) fails that delivery, not the batch."""
    assert (await client.post("/v1/apps", json={"name": "web"})).status_code == 201
    made = await client.put(
        "/v1/apps/web/credentials/webpush",
        json={"generate": True, "subject": "mailto:ops@example.com"},
    )
    assert made.status_code == 200, made.text
    server_key = made.json()["values"]["application_server_key"]
    for _ in range(3):
        subscription = webpush_sim.create_subscription(server_key)
        answer = await client.post(
            "/v1/apps/web/devices", json={"provider": "webpush", "subscription": subscription}
        )
        assert answer.status_code == 201, answer.text
    spare = webpush_sim.create_subscription(server_key)
    # 65 bytes of the uncompressed form whose coordinates are no point of the curve.
    off_curve = base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).decode().rstrip("=")
    keys = {"p256dh": off_curve, "auth": spare["keys"]["auth"]}
    bad = await _stored_device(services, "web", Provider.WEBPUSH, spare["endpoint"], keys)
    answer = await client.post(
        "/v1/notifications", json={"app": "web", "audience": {"everyone": True}, "title": "t"}
    )
    assert answer.status_code == 202, answer.text
    final = await settled(client, answer.json()["id"], seconds=10)
    assert final["state"] == "completed", final
    assert final["deliveries"]["sent"] == 3
    await _quiet(webpush_sim)
    assert len(webpush_sim.all_received()) == 3
    rows = await _deliveries(client, answer.json()["id"])
    [unsent] = [row for row in rows if row["state"] != "sent"]
    assert unsent["device_id"] == bad
    assert unsent["reason"]
