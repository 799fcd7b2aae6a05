"""Retention by tenant: a tenant's ``retention_days`` keeps its notifications that many
days, then the purge deletes them and says how many (docs/settings.md, "Retention")."""

from __future__ import annotations

import logging

import httpx
import pytest

from pushgate.core import outcomes
from pushgate.core.clock import ManualClock
from pushgate.core.retention import DAY_MS, TenantRetention
from pushgate.core.retry import RetryPolicy
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services
from tests.api.expect import ok
from tests.delivery.conftest import work_through

DAY = 24 * 3600.0


async def _notification(client: httpx.AsyncClient, tenant: str, base: str) -> str:
    """A webhook app in ``tenant``, a device and one notification sent to it."""
    q = f"?tenant={tenant}"
    ok(await client.post(f"/v1/apps{q}", json={"name": "crm"}), 201)
    creds = {"url": f"{base}/hook", "signing_secret": "whsec_" + "A" * 43}
    ok(await client.put(f"/v1/apps/crm/credentials/webhook{q}", json=creds))
    answer = await client.post(
        f"/v1/apps/crm/devices{q}", json={"provider": "webhook", "token": f"{base}/hook/1"}
    )
    assert answer.status_code == 201, answer.text
    body = {"app": "crm", "audience": {"everyone": True}, "title": "t"}
    sent = ok(await client.post(f"/v1/notifications{q}", json=body), 202)
    return str(sent["id"])


async def _exists(client: httpx.AsyncClient, tenant: str, notification_id: str) -> bool:
    answer = await client.get(f"/v1/notifications/{notification_id}?tenant={tenant}")
    assert answer.status_code in (200, 404), answer.text
    return answer.status_code == 200


async def test_a_tenant_keeps_its_notifications_its_own_number_of_days(
    client: httpx.AsyncClient,
    services: Services,
    webhook_sim: WebhookSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ok(await client.post("/v1/tenants", json={"name": "acme"}), 201)
    ok(await client.put("/v1/settings?tenant=acme", json={"values": {"retention_days": 2}}))
    acme = await _notification(client, "acme", webhook_sim.base_url)
    kept = await _notification(client, "default", webhook_sim.base_url)
    clock = ManualClock()
    clock.advance(DAY)  # one day: within both windows
    await work_through(services, clock=clock)
    assert await _exists(client, "acme", acme)
    assert await _exists(client, "default", kept)
    clock.advance(1.5 * DAY)  # past acme's two days, well within the instance's 30
    with caplog.at_level(logging.INFO, logger="pushgate.delivery.worker"):
        await work_through(services, clock=clock)
    assert not await _exists(client, "acme", acme)
    assert await _exists(client, "default", kept)
    purged = services.metrics.registry.get_sample_value("pushgate_notifications_purged_total")
    assert purged == 1
    assert any("purged 1 notifications" in r.getMessage() for r in caplog.records)


async def test_the_retention_window_follows_the_setting(
    client: httpx.AsyncClient, services: Services
) -> None:
    retention = TenantRetention(services.scopes, 30, cache_seconds=0)
    ok(await client.post("/v1/tenants", json={"name": "acme"}), 201)
    acme = await services.accounts.tenant_by_name("acme")
    assert acme is not None
    assert await retention.window_ms(acme.id) == 30 * DAY_MS
    ok(
        await client.patch(
            "/v1/settings?tenant=acme", json={"name": "retention_days", "value": 400}
        )
    )
    assert await retention.window_ms(acme.id) == 400 * DAY_MS
    cutoff, own = await retention.cutoffs(1000 * DAY_MS)
    assert (cutoff, own) == (970 * DAY_MS, {acme.id: 600 * DAY_MS})


def test_retries_are_bounded_by_the_deadline_not_a_count() -> None:
    """A receiver down for days is tried until the notification's expiry or retention
    window ends, however many attempts that takes."""
    now, deadline = 10 * DAY_MS, 12 * DAY_MS
    policy = RetryPolicy()
    assert policy.next_attempt_at(200, outcomes.retry("503"), now, deadline) is not None
    assert policy.next_attempt_at(200, outcomes.retry("503"), deadline - 1000, deadline) is None
