"""Quiet hours defer a recipient's delivery to the end of their window, and
``deliver_at_local`` sends to each recipient at a wall-clock time in their own zone: the
delivery waits pending in its send job's due time, in both record modes, on every
database and queue, and leaves when the injected clock reaches it (docs/delivery.md,
"Quiet hours and local time")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from pushgate.core.clock import ManualClock
from pushgate.delivery.jobs import FANOUT, read_fanout
from pushgate.simulators.tls import CertificateAuthority
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services, build_services
from tests.api.expect import error_of, ok
from tests.conftest import empty_postgres, make_settings
from tests.delivery.conftest import (
    QUEUES,
    drop_redis_prefix,
    register,
    work_through,
    worker_by_hand,
)
from tests.services import REDIS_HOST, REDIS_PORT, REDIS_URL, require_service, unique_name

RECORDS = ["all", "failures"]
DAY = 86_400


def at(text: str) -> float:
    """Seconds since the epoch of an instant written in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.fixture(params=QUEUES)
async def services(
    request: pytest.FixtureRequest,
    database_url: str,
    tmp_path: Path,
    sim_authority: CertificateAuthority,
) -> AsyncIterator[Services]:
    """The pipeline on every database × queue, its queue, acceptance and workers on a
    clock the test moves: a winter Thursday, 21:00 UTC."""
    extra: dict[str, object] = {"provider_ca_file": str(sim_authority.ca_path)}
    if request.param == "redis":
        require_service("redis", REDIS_HOST, REDIS_PORT)
        extra.update(queue_url=REDIS_URL, queue_prefix=unique_name("test"))
    if database_url.startswith("postgresql"):
        await empty_postgres(database_url)
    clock = ManualClock(at("2026-01-15T21:00"))
    built = await build_services(make_settings(tmp_path, database_url, **extra), clock=clock)
    try:
        yield built
    finally:
        if request.param == "redis":
            await drop_redis_prefix(str(extra["queue_prefix"]))
        await built.close()


def ms(text: str) -> int:
    return round(at(text) * 1000)


def clock_of(services: Services) -> ManualClock:
    clock = services.clock
    if not isinstance(clock, ManualClock):
        raise TypeError("the services run on the system clock")
    return clock


async def _send(client: httpx.AsyncClient, app: str, records: str, **extra: Any) -> str:
    body = {"app": app, "audience": {"everyone": True}, "title": "t", "records": records}
    answer = await client.post("/v1/notifications", json={**body, **extra})
    assert answer.status_code == 202, answer.text
    notification_id: str = answer.json()["id"]
    return notification_id


async def _status(client: httpx.AsyncClient, notification_id: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(await client.get(f"/v1/notifications/{notification_id}"))
    return body


def _counts(status: dict[str, Any]) -> dict[str, int]:
    return {state: n for state, n in status["deliveries"].items() if n}


def _received(sim: WebhookSimulator) -> list[str]:
    return sorted(r.token for r in sim.all_received())


async def _night_and_day(client: httpx.AsyncClient, app: str, sim: WebhookSimulator) -> None:
    """Quiet hours 22:00-07:00 for the tenant; ann in Berlin (22:00 now, quiet till 06:00
    UTC) through her user, bob in New York (16:00) through his device."""
    quiet = {"quiet_hours.start": "22:00", "quiet_hours.end": "07:00"}
    ok(await client.put("/v1/settings", json={"values": quiet}))
    ok(await client.put("/v1/users/ann", json={"timezone": "Europe/Berlin"}), 201)
    await register(client, app, f"{sim.base_url}/hook/ann", user="ann")
    await register(client, app, f"{sim.base_url}/hook/bob", user="bob", timezone="America/New_York")


@pytest.mark.parametrize("records", RECORDS)
async def test_a_recipient_in_quiet_hours_is_sent_when_they_end(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    records: str,
) -> None:
    clock = clock_of(services)
    await _night_and_day(client, webhook_app, webhook_sim)
    notification_id = await _send(client, webhook_app, records, priority="normal")
    await work_through(services)
    assert _received(webhook_sim) == ["/hook/bob"]
    status = await _status(client, notification_id)
    assert (status["state"], _counts(status)) == ("sending", {"sent": 1, "pending": 1})
    [waiting] = status["pending"]
    assert (waiting["kind"], waiting["count"], waiting["reason"]) == (
        "deferred",
        1,
        "quiet_hours",
    )
    assert waiting["next_attempt_at"].startswith("2026-01-16T06:00:00")
    clock.set_ms(ms("2026-01-16T05:59:59"))
    await work_through(services)
    assert _received(webhook_sim) == ["/hook/bob"]
    clock.set_ms(ms("2026-01-16T06:00:01"))
    await work_through(services)
    assert _received(webhook_sim) == ["/hook/ann", "/hook/bob"]
    status = await _status(client, notification_id)
    assert (status["state"], _counts(status)) == ("completed", {"sent": 2})


@pytest.mark.parametrize("records", RECORDS)
async def test_high_priority_passes_only_when_the_tenant_lets_it(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    records: str,
) -> None:
    await _night_and_day(client, webhook_app, webhook_sim)
    held = await _send(client, webhook_app, records)  # high: every send's default
    await work_through(services)
    assert _received(webhook_sim) == ["/hook/bob"]
    assert _counts(await _status(client, held)) == {"sent": 1, "pending": 1}
    passes = {"name": "quiet_hours.urgent_passes", "value": True}
    ok(await client.patch("/v1/settings", json=passes))
    urgent = await _send(client, webhook_app, records, priority="high")
    await work_through(services)
    assert _received(webhook_sim) == ["/hook/ann", "/hook/bob", "/hook/bob"]
    assert _counts(await _status(client, urgent)) == {"sent": 2}
    normal = await _send(client, webhook_app, records, priority="normal")
    await work_through(services)
    assert _counts(await _status(client, normal)) == {"sent": 1, "pending": 1}


@pytest.mark.parametrize("records", RECORDS)
async def test_a_window_ending_after_the_expiry_expires_the_delivery_at_once(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    records: str,
) -> None:
    await _night_and_day(client, webhook_app, webhook_sim)
    notification_id = await _send(client, webhook_app, records, priority="normal", ttl=3600)
    await work_through(services)
    assert _received(webhook_sim) == ["/hook/bob"]
    status = await _status(client, notification_id)
    assert (status["state"], _counts(status)) == ("completed", {"sent": 1, "expired": 1})
    listed = ok(
        await client.get(
            f"/v1/notifications/{notification_id}/deliveries", params={"state": "expired"}
        )
    )
    assert [item["reason"] for item in listed["items"]] == ["quiet_hours"]


@pytest.mark.parametrize("records", RECORDS)
async def test_local_time_delivery_reaches_each_zone_at_its_own_nine(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    records: str,
) -> None:
    """Tokyo through its device, Berlin through its user, Los Angeles through the tenant's
    default zone (its device and user name none)."""
    clock = clock_of(services)
    clock.set_ms(ms("2026-02-10T12:00"))
    ok(
        await client.patch(
            "/v1/settings", json={"name": "default_timezone", "value": "America/Los_Angeles"}
        )
    )
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/tokyo", timezone="Asia/Tokyo")
    ok(await client.put("/v1/users/eva", json={"timezone": "Europe/Berlin"}), 201)
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/berlin", user="eva")
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/la")
    notification_id = await _send(
        client, webhook_app, records, deliver_at_local="09:00", ttl=2 * DAY
    )
    await work_through(services)
    assert _received(webhook_sim) == []
    steps = [
        ("2026-02-10T17:00:01", ["/hook/la"]),  # 09:00 in Los Angeles (UTC-8)
        ("2026-02-10T23:59:59", ["/hook/la"]),
        ("2026-02-11T00:00:01", ["/hook/la", "/hook/tokyo"]),  # 09:00 in Tokyo (UTC+9)
        ("2026-02-11T08:00:01", ["/hook/berlin", "/hook/la", "/hook/tokyo"]),  # Berlin
    ]
    for when, received in steps:
        clock.set_ms(ms(when))
        await work_through(services)
        assert _received(webhook_sim) == received, when
    status = await _status(client, notification_id)
    assert (status["state"], _counts(status)) == ("completed", {"sent": 3})


@pytest.mark.parametrize("records", RECORDS)
async def test_a_local_time_past_the_ttl_expires_and_a_dated_one_waits_for_its_day(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    records: str,
) -> None:
    clock = clock_of(services)
    clock.set_ms(ms("2026-02-10T12:00"))
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/utc")
    short = await _send(client, webhook_app, records, deliver_at_local="09:00", ttl=3600)
    dated = await _send(
        client, webhook_app, records, deliver_at_local="2026-02-12T09:00", ttl=3 * DAY
    )
    await work_through(services)
    assert _counts(await _status(client, short)) == {"expired": 1}
    clock.set_ms(ms("2026-02-11T09:00:01"))  # the next 09:00, but not the date asked for
    await work_through(services)
    assert _received(webhook_sim) == []
    clock.set_ms(ms("2026-02-12T09:00:01"))
    await work_through(services)
    assert _received(webhook_sim) == ["/hook/utc"]
    assert _counts(await _status(client, dated)) == {"sent": 1}


@pytest.mark.parametrize("records", RECORDS)
async def test_a_page_run_again_sends_neither_early_nor_twice(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    records: str,
) -> None:
    """The fan-out job runs twice (its worker died after the page), the second time an
    hour later, still inside the quiet window: the deferred delivery keeps its time and
    goes out once."""
    clock = clock_of(services)
    await _night_and_day(client, webhook_app, webhook_sim)
    notification_id = await _send(client, webhook_app, records, priority="normal")
    async with worker_by_hand(services) as handle:
        [job] = await services.queue.lease((FANOUT,), 10, 60.0)
        first = await handle.worker.fanout.run(read_fanout(job.payload))
        clock.advance(3600)
        again = await handle.worker.fanout.run(read_fanout(job.payload))
        for batch in first:
            await handle.worker.sender.run(batch, first_run=True)
        for batch in again:
            await handle.worker.sender.run(batch, first_run=False)
        await services.queue.ack([job])
    await work_through(services)
    assert _received(webhook_sim) == ["/hook/bob"]
    clock.set_ms(ms("2026-01-16T06:00:01"))
    await work_through(services)
    assert _received(webhook_sim) == ["/hook/ann", "/hook/bob"]
    assert webhook_sim.counters["duplicates"] == 0
    status = await _status(client, notification_id)
    assert (status["state"], _counts(status)) == ("completed", {"sent": 2})


async def test_local_time_refusals_name_the_field(
    client: httpx.AsyncClient, webhook_app: str
) -> None:
    body = {"app": webhook_app, "audience": {"everyone": True}, "title": "t"}
    both = await client.post(
        "/v1/notifications",
        json={**body, "deliver_at_local": "09:00", "send_at": "2026-01-16T09:00:00+00:00"},
    )
    assert error_of(both, 422, "validation_failed")["details"]["field"] == "deliver_at_local"
    for wrong in ["9:00", "25:00", "2026-01-16 09:00", "09:00+01:00"]:
        answer = await client.post("/v1/notifications", json={**body, "deliver_at_local": wrong})
        assert "deliver_at_local" in error_of(answer, 422, "validation_failed")["message"]
    past = await client.post(
        "/v1/notifications", json={**body, "deliver_at_local": "2026-01-13T09:00"}
    )
    assert "passed" in error_of(past, 422, "validation_failed")["details"]["reason"]
    beyond = await client.post(
        "/v1/notifications", json={**body, "deliver_at_local": "2026-01-30T09:00", "ttl": 3600}
    )
    assert "expires" in error_of(beyond, 422, "validation_failed")["details"]["reason"]


@pytest.mark.parametrize("records", RECORDS)
async def test_a_persons_own_quiet_hours_take_the_place_of_the_tenants(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    records: str,
) -> None:
    """The tenant has no quiet hours; ann (Berlin, 22:00 now) set her own in her
    preferences, and lets urgent sends through."""
    clock = clock_of(services)
    ok(await client.put("/v1/users/ann", json={"timezone": "Europe/Berlin"}), 201)
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/ann", user="ann")
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/bob", user="bob")
    own = {"quiet_hours": {"start": "21:30", "end": "06:30", "urgent_passes": True}}
    ok(await client.put("/v1/users/ann/preferences", json=own))
    normal = await _send(client, webhook_app, records, priority="normal")
    urgent = await _send(client, webhook_app, records, priority="high")
    await work_through(services)
    assert _received(webhook_sim) == ["/hook/ann", "/hook/bob", "/hook/bob"]
    assert _counts(await _status(client, urgent)) == {"sent": 2}
    assert _counts(await _status(client, normal)) == {"sent": 1, "pending": 1}
    clock.set_ms(ms("2026-01-16T05:30:01"))  # 06:30 in Berlin
    await work_through(services)
    assert _received(webhook_sim) == ["/hook/ann", "/hook/ann", "/hook/bob", "/hook/bob"]
    assert _counts(await _status(client, normal)) == {"sent": 2}
