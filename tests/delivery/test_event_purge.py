"""The housekeeping purge of record events (kept as long as their tenant's notifications)
and of trigger throttles whose period ended, on the injected clock (docs/events.md,
"Purge")."""

from __future__ import annotations

import logging

import httpx
import pytest

from pushgate.core.clock import ManualClock
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services
from tests.api.expect import ok
from tests.delivery.conftest import work_through
from tests.delivery.test_record_events import incident, send_event, setup, trigger

DAY = 24 * 3600.0


async def _exists(client: httpx.AsyncClient, event_id: str, tenant: str) -> bool:
    answer = await client.get(f"/v1/events/{event_id}?tenant={tenant}")
    assert answer.status_code in (200, 404), answer.text
    return answer.status_code == 200


def _sample(services: Services, name: str) -> float:
    return services.metrics.registry.get_sample_value(name) or 0.0


async def test_events_past_their_tenants_retention_and_ended_throttles_are_purged(
    services: Services,
    client: httpx.AsyncClient,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup(client, webhook_app, webhook_sim)
    await trigger(
        client, webhook_app, recipients={"kind": "users", "users": ["carol"]}, throttle_minutes=60
    )
    ok(await client.post("/v1/tenants", json={"name": "acme"}), 201)
    ok(await client.put("/v1/settings?tenant=acme", json={"values": {"retention_days": 2}}))
    acme = ok(await client.post("/v1/events?tenant=acme", json=incident()), 202)["id"]
    kept = await send_event(client, incident())
    clock = ManualClock()
    await work_through(services, clock=clock)  # carol is sent to; her throttle holds an hour
    clock.advance(30 * 60)
    await work_through(services, clock=clock)
    assert _sample(services, "pushgate_trigger_throttles_purged_total") == 0
    assert await _exists(client, acme, "acme")

    clock.advance(2.5 * DAY)  # past acme's two days and carol's hour, within the instance's 30
    with caplog.at_level(logging.INFO, logger="pushgate.delivery.worker"):
        await work_through(services, clock=clock)
    assert not await _exists(client, acme, "acme")
    assert await _exists(client, kept, "default")
    assert _sample(services, "pushgate_record_events_purged_total") == 1
    assert _sample(services, "pushgate_trigger_throttles_purged_total") == 1
    assert any(
        "purged 1 record events" in r.getMessage() and "1 ended trigger throttles" in r.getMessage()
        for r in caplog.records
    )
    # The throttle gone, the next event on the record makes a notification again.
    again = await send_event(client, incident())
    await work_through(services, clock=clock)
    [entry] = ok(await client.get(f"/v1/events/{again}"))["triggers"]
    assert "notification" in entry, entry
