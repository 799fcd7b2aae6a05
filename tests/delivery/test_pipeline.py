"""Send → fan-out → provider → outcome, through the API and a real worker."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from pushgate.simulators.base import Fault
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services
from tests.clock import in_200_days
from tests.delivery.conftest import register, settled

pytestmark = pytest.mark.usefixtures("worker")


async def test_a_notification_reaches_every_device(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    base = webhook_sim.base_url
    for user in ("alice", "bob"):
        await register(client, webhook_app, f"{base}/hook/{user}", user=user)
    await register(client, webhook_app, f"{base}/hook/carol", user="carol")
    answer = await client.post(
        "/v1/notifications",
        json={
            "app": webhook_app,
            "audience": {"users": ["alice", "bob"]},
            "title": "Appointment booked",
            "body": "Tomorrow 9:00",
            "data": {"ticket": 42},
        },
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["targeted"] == 2
    final = await settled(client, answer.json()["id"])
    assert final["state"] == "completed"
    assert final["deliveries"]["sent"] == 2
    received = {r.token for r in webhook_sim.all_received()}
    assert received == {"/hook/alice", "/hook/bob"}
    bodies = [r.body for r in webhook_sim.all_received()]
    assert all(b["data"]["title"] == "Appointment booked" for b in bodies), bodies
    assert all(b["data"]["data"] == {"ticket": 42} for b in bodies), bodies


async def test_idempotency_key_returns_the_first_notification(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/a", user="a")
    body = {"app": webhook_app, "audience": {"users": ["a"]}, "title": "once"}
    first = await client.post("/v1/notifications", json=body, headers={"Idempotency-Key": "k1"})
    again = await client.post("/v1/notifications", json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["created"] is False
    await settled(client, first.json()["id"])
    assert len(webhook_sim.all_received()) == 1


async def test_dead_endpoint_invalidates_the_device(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    device = await register(client, webhook_app, f"{webhook_sim.base_url}/hook/gone", user="g")
    webhook_sim.inject(Fault(status=410, count=1))
    answer = await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"devices": [device]}, "title": "x"},
    )
    final = await settled(client, answer.json()["id"])
    assert final["deliveries"]["invalid"] == 1
    state = (await client.get(f"/v1/devices/{device}")).json()
    assert state["state"] == "invalid"
    # An invalid device is not targeted again.
    again = await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"devices": [device]}, "title": "y"},
    )
    assert again.json()["targeted"] == 0


async def test_retry_after_is_honoured_and_the_retry_succeeds(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/r", user="r")
    webhook_sim.inject(Fault(status=503, retry_after=1, count=1))
    answer = await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"users": ["r"]}, "title": "later"},
    )
    final = await settled(client, answer.json()["id"], seconds=30)
    assert final["state"] == "completed"
    assert final["deliveries"]["sent"] == 1
    deliveries = (await client.get(f"/v1/notifications/{answer.json()['id']}/deliveries")).json()
    assert deliveries["items"][0]["attempts"] == 2


async def test_a_webhook_retry_carries_the_first_attempts_body(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/same", user="s")
    webhook_sim.inject(Fault(status=503, retry_after=1, count=1))
    answer = await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"users": ["s"]}, "title": "once more"},
    )
    final = await settled(client, answer.json()["id"], seconds=30)
    assert final["deliveries"]["sent"] == 1
    first, retry = webhook_sim.attempts
    assert first.header("webhook-id") == retry.header("webhook-id")
    assert first.body == retry.body  # byte for byte (docs/providers.md §6.1)
    assert first.header("webhook-timestamp") != retry.header("webhook-timestamp")
    # The event's time is the notification's acceptance, to the millisecond.
    created = final["created_at"].replace("+00:00", "Z")
    assert orjson.loads(retry.body)["timestamp"] == created


async def test_scheduled_notification_waits_and_cancel_stops_it(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/s", user="s")
    answer = await client.post(
        "/v1/notifications",
        json={
            "app": webhook_app,
            "audience": {"users": ["s"]},
            "title": "tomorrow",
            "send_at": in_200_days(),
        },
    )
    assert answer.json()["state"] == "scheduled"
    await asyncio.sleep(0.5)
    assert webhook_sim.all_received() == []
    canceled = await client.delete(f"/v1/notifications/{answer.json()['id']}")
    assert canceled.json()["state"] == "canceled"


async def test_unknown_app_and_bad_audience_are_refused(client: httpx.AsyncClient) -> None:
    missing = await client.post(
        "/v1/notifications", json={"app": "nope", "audience": {"everyone": True}, "title": "x"}
    )
    assert missing.status_code == 404
    bad = await client.post(
        "/v1/notifications", json={"app": "nope", "audience": {"tags": "(a &&"}, "title": "x"}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "validation_failed"
    # An explicit kind is optional; given, it must agree with the audience's one key.
    named = {"app": "nope", "audience": {"kind": "users", "users": ["u"]}, "title": "x"}
    assert (await client.post("/v1/notifications", json=named)).status_code == 404
    named["audience"] = {"kind": "everyone", "users": ["u"]}
    disagreeing = await client.post("/v1/notifications", json=named)
    assert disagreeing.status_code == 422
    assert disagreeing.json()["error"]["details"]["errors"][0]["field"] == "audience"


async def test_metrics_count_what_happened(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator, services: Services
) -> None:
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/m", user="m")
    answer = await client.post(
        "/v1/notifications", json={"app": webhook_app, "audience": {"users": ["m"]}, "title": "x"}
    )
    await settled(client, answer.json()["id"])
    text = (await client.get("/metrics")).text
    assert "pushgate_notifications_accepted_total 1.0" in text
    assert 'pushgate_deliveries_total{outcome="sent",provider="webhook"} 1.0' in text


async def test_a_retry_that_would_outlive_the_ttl_expires_the_delivery(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/t", user="t")
    webhook_sim.inject(Fault(status=503, retry_after=30, count=1))
    answer = await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"users": ["t"]}, "title": "soon", "ttl": 5},
    )
    final = await settled(client, answer.json()["id"])
    assert final["deliveries"]["expired"] == 1
    assert final["deliveries"]["sent"] == 0
    [delivery] = (await client.get(f"/v1/notifications/{answer.json()['id']}/deliveries")).json()[
        "items"
    ]
    assert delivery["state"] == "expired"
    assert delivery["attempts"] == 1
    assert webhook_sim.all_received() == []  # the 503 was the only attempt
