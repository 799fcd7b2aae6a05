"""Notifications that record failures only (``records: failures``): every outcome counted,
a row kept only for a delivery that did not go out, and the pending ones in their send jobs,
each of which settles once however often it runs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from pushgate.core.clock import ManualClock
from pushgate.delivery.jobs import FANOUT, SEND, read_fanout, read_send
from pushgate.queue.base import Job
from pushgate.simulators.base import Fault
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.storage.tables import devices
from pushgate.wiring import Services, build_services
from tests.api.expect import error_of
from tests.conftest import api_client, make_settings
from tests.delivery.conftest import (
    fan_out_by_hand,
    five_devices_two_gone,
    register,
    settled,
    three_devices_and_a_broadcast,
    worker_by_hand,
)

FAILURES = {"records": "failures"}


def _counts(status: dict[str, Any]) -> dict[str, int]:
    return {state: n for state, n in status["deliveries"].items() if n}


async def _status(client: httpx.AsyncClient, notification_id: str) -> dict[str, Any]:
    answer = await client.get(f"/v1/notifications/{notification_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _ended(client: httpx.AsyncClient, notification_id: str) -> tuple[str, dict[str, int]]:
    """The notification's state and its non-zero counts."""
    status = await _status(client, notification_id)
    return status["state"], _counts(status)


def _each_received_once(receiver: WebhookSimulator) -> None:
    """The three devices got the notification, and none twice (the receiver drops a
    repeated webhook-id but counts it)."""
    assert sorted(r.token for r in receiver.all_received()) == ["/hook/0", "/hook/1", "/hook/2"]
    assert receiver.counters["duplicates"] == 0


async def _listed(client: httpx.AsyncClient, notification_id: str, **params: str) -> list[dict]:
    answer = await client.get(f"/v1/notifications/{notification_id}/deliveries", params=params)
    assert answer.status_code == 200, answer.text
    items: list[dict] = answer.json()["items"]
    return items


@pytest.mark.usefixtures("worker")
async def test_only_the_deliveries_that_did_not_go_out_are_kept(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    devices = await five_devices_two_gone(client, webhook_app, webhook_sim)
    answer = await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"users": ["u"]}, "title": "t", **FAILURES},
    )
    assert answer.status_code == 202, answer.text
    final = await settled(client, answer.json()["id"])
    assert (final["state"], final["records"]) == ("completed", "failures")
    assert _counts(final) == {"sent": 3, "invalid": 2}
    assert final["by_provider"]["webhook"]["sent"] == 3
    # Only the two that did not go out have rows, with their reason; the devices are
    # invalidated as always.
    kept = await _listed(client, answer.json()["id"])
    assert [item["state"] for item in kept] == ["invalid", "invalid"]
    assert {item["device_id"] for item in kept} < set(devices)
    assert all(item["reason"] and item["attempts"] == 1 for item in kept)
    assert await _listed(client, answer.json()["id"], outcome="sent") == []
    for item in kept:
        device = (await client.get(f"/v1/devices/{item['device_id']}")).json()
        assert device["state"] == "invalid"
    assert len(webhook_sim.all_received()) == 3


@pytest.mark.usefixtures("worker")
async def test_a_retry_goes_out_in_a_job_that_carries_it(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    for n in range(3):
        await register(client, webhook_app, f"{webhook_sim.base_url}/hook/{n}", user="r")
    webhook_sim.inject(Fault(status=503, retry_after=1, count=2))
    answer = await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"users": ["r"]}, "title": "t", **FAILURES},
    )
    final = await settled(client, answer.json()["id"], seconds=30)
    assert final["state"] == "completed"
    assert _counts(final) == {"sent": 3}
    assert await _listed(client, answer.json()["id"]) == []
    tokens = sorted(r.token for r in webhook_sim.all_received())
    assert tokens == ["/hook/0", "/hook/1", "/hook/2"]


async def test_a_batch_run_twice_is_sent_and_counted_once(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    """A batch's job leased again after its worker died past the send finds its key
    settled and sends nothing; the counts moved once."""
    _, notification_id = await three_devices_and_a_broadcast(
        client, webhook_app, webhook_sim, **FAILURES
    )
    async with worker_by_hand(services) as handle:
        job, batch = await fan_out_by_hand(services, handle)
        assert batch.key is not None
        assert batch.members is not None
        assert len(batch.members) == 3
        assert await _ended(client, notification_id) == ("sending", {"pending": 3})
        await handle.worker.sender.run(batch, first_run=True)
        await handle.worker.sender.run(batch)
        await services.queue.ack([job])
    assert await _ended(client, notification_id) == ("completed", {"sent": 3})
    _each_received_once(webhook_sim)


async def test_a_fan_out_page_run_again_counts_once(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    """A counted page's batches are sent by its own fan-out job, not queued. The job run a
    second time (its worker died while sending them) hands back the same batches under the
    same keys: its pending count moved once, and each batch settles, and is sent, once."""
    _, notification_id = await three_devices_and_a_broadcast(
        client, webhook_app, webhook_sim, **FAILURES
    )
    async with worker_by_hand(services) as handle:
        handle.worker.fanout.batch_size = 1  # three batches
        [job] = await services.queue.lease((FANOUT,), 10, 60.0)
        first = await handle.worker.fanout.run(read_fanout(job.payload))
        again = await handle.worker.fanout.run(read_fanout(job.payload))
        assert await services.queue.lease((SEND,), 100, 60.0) == []  # nothing queued
        assert [b.key for b in first] == [b.key for b in again]
        assert len({b.key for b in first}) == 3
        assert await _ended(client, notification_id) == ("sending", {"pending": 3})
        await handle.worker.sender.run(first[0], first_run=True)
        for batch in again:  # the second run: its first batch was sent already
            await handle.worker.sender.run(batch, first_run=False)
        await services.queue.ack([job])
    assert await _ended(client, notification_id) == ("completed", {"sent": 3})
    _each_received_once(webhook_sim)


async def test_a_page_run_again_queues_the_next_page_once(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    """A second job for the next page would walk the rest of the audience a second time,
    racing the first walk; a page run again finds the next page queued already."""
    _, notification_id = await three_devices_and_a_broadcast(
        client, webhook_app, webhook_sim, **FAILURES
    )
    async with worker_by_hand(services) as handle:
        handle.worker.fanout.page_size = 2  # pages of 2 and 1 devices
        [job] = await services.queue.lease((FANOUT,), 10, 60.0)
        batches = await handle.worker.fanout.run(read_fanout(job.payload))
        again = await handle.worker.fanout.run(read_fanout(job.payload))
        assert [(b.key, b.members) for b in again] == [(b.key, b.members) for b in batches]
        await services.queue.ack([job])
        [following] = await services.queue.lease((FANOUT,), 10, 60.0)
        batches += await handle.worker.fanout.run(read_fanout(following.payload))
        await services.queue.ack([following])
        assert await services.queue.lease((FANOUT, SEND), 10, 60.0) == []
        for batch in batches:
            await handle.worker.sender.run(batch, first_run=True)
    assert await _ended(client, notification_id) == ("completed", {"sent": 3})
    assert len(webhook_sim.all_received()) == 3


async def test_a_page_run_again_holds_the_devices_its_first_run_read(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    """The first run's first batch invalidates its device (410), then the worker dies. A
    fresh read of the page would leave that device out and shift the others into keys
    already settled; the page kept with its key is read again instead. A device deleted
    meanwhile keeps its place and fails, unsent."""
    ids, notification_id = await three_devices_and_a_broadcast(
        client, webhook_app, webhook_sim, **FAILURES
    )
    webhook_sim.inject(Fault(status=410, token="/hook/0", count=1))
    async with worker_by_hand(services) as handle:
        handle.worker.fanout.batch_size = 1  # three batches
        [job] = await services.queue.lease((FANOUT,), 10, 60.0)
        first = await handle.worker.fanout.run(read_fanout(job.payload))
        await handle.worker.sender.run(first[0], first_run=True)  # then the worker died
        assert (await client.get(f"/v1/devices/{ids[0]}")).json()["state"] == "invalid"
        async with services.engine.begin() as connection:
            await connection.execute(sa.delete(devices).where(devices.c.id == ids[2]))
        again = await handle.worker.fanout.run(read_fanout(job.payload))
        assert [(b.key, [m.device_id for m in b.members or ()]) for b in again] == [
            (b.key, [m.device_id for m in b.members or ()]) for b in first
        ]
        for batch in again:
            await handle.worker.sender.run(batch)
        await services.queue.ack([job])
    assert await _ended(client, notification_id) == (
        "completed",
        {"sent": 1, "invalid": 1, "failed": 1},
    )
    [failed] = await _listed(client, notification_id, outcome="failed")
    assert (failed["device_id"], failed["reason"]) == (ids[2], "device deleted")
    assert [r.token for r in webhook_sim.all_received()] == ["/hook/1"]


async def test_a_batch_run_again_queues_the_retry_its_first_run_kept(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    """A batch whose worker died after it settled, before its retry was queued, finds the
    retry kept with its settlement and queues it: the same job, under the same key."""
    _, notification_id = await three_devices_and_a_broadcast(
        client, webhook_app, webhook_sim, **FAILURES
    )
    webhook_sim.inject(Fault(status=503, retry_after=1, token="/hook/1", count=1))
    async with worker_by_hand(services) as handle:
        job, batch = await fan_out_by_hand(services, handle)
        await handle.worker.sender.run(batch, first_run=True)
        await handle.worker.sender.run(batch)  # run again: re-queues the kept retry
        await services.queue.ack([job])
        retries: list[Job] = []
        for _ in range(100):  # until both are due (backoff with jitter, at least 1 s)
            retries += await services.queue.lease((SEND,), 10, 60.0)
            if len(retries) >= 2:
                break
            await asyncio.sleep(0.1)
        assert len(retries) == 2
        assert {read_send(r.payload) for r in retries} == {read_send(retries[0].payload)}
        for retry in retries:
            await handle.worker.sender.run(read_send(retry.payload))
        await services.queue.ack(retries)
    assert await _ended(client, notification_id) == ("completed", {"sent": 3})
    _each_received_once(webhook_sim)


async def test_cancel_counts_what_waits_in_jobs_as_canceled(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    _, notification_id = await three_devices_and_a_broadcast(
        client, webhook_app, webhook_sim, **FAILURES
    )
    async with worker_by_hand(services) as handle:
        job, batch = await fan_out_by_hand(services, handle)
        canceled = await client.delete(f"/v1/notifications/{notification_id}")
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["state"] == "canceled"
        assert _counts(canceled.json()) == {"canceled": 3}
        await handle.worker.sender.run(batch, first_run=True)  # finds it canceled
        await services.queue.ack([job])
    assert await _ended(client, notification_id) == ("canceled", {"canceled": 3})
    assert webhook_sim.all_received() == []


async def test_a_cancel_while_a_batch_is_out_keeps_the_cancel(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    """As with rows, a delivery canceled while its batch was with the provider stays
    canceled: the batch, settling after the cancel, moves no count."""
    _, notification_id = await three_devices_and_a_broadcast(
        client, webhook_app, webhook_sim, **FAILURES
    )
    webhook_sim.inject(Fault(latency_ms=600, count=3))
    async with worker_by_hand(services) as handle:
        job, batch = await fan_out_by_hand(services, handle)
        sending = asyncio.create_task(handle.worker.sender.run(batch, first_run=True))
        await asyncio.sleep(0.2)
        canceled = await client.delete(f"/v1/notifications/{notification_id}")
        assert _counts(canceled.json()) == {"canceled": 3}
        await asyncio.wait_for(sending, 10)
        await services.queue.ack([job])
    assert await _ended(client, notification_id) == ("canceled", {"canceled": 3})
    assert await _listed(client, notification_id) == []
    assert len(webhook_sim.all_received()) == 3


async def test_expiry_counts_what_waits_in_jobs_as_expired(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    _, notification_id = await three_devices_and_a_broadcast(
        client, webhook_app, webhook_sim, ttl=1, **FAILURES
    )
    clock = ManualClock()
    async with worker_by_hand(services, clock) as handle:
        job, batch = await fan_out_by_hand(services, handle)
        clock.advance(1.0)  # the TTL's one second: expired now, not a millisecond later
        await handle.worker.sender.run(batch, first_run=True)
        await services.queue.ack([job])
    assert await _ended(client, notification_id) == ("expired", {"expired": 3})
    assert webhook_sim.all_received() == []


async def test_what_is_kept_is_chosen_per_notification_or_by_setting(
    client: httpx.AsyncClient, webhook_app: str, tmp_path: Path
) -> None:
    body = {"app": webhook_app, "audience": {"everyone": True}, "title": "t"}
    plain = await client.post("/v1/notifications", json=body)
    assert (await _status(client, plain.json()["id"]))["records"] == "all"
    wrong = await client.post("/v1/notifications", json={**body, "records": "some"})
    assert "records" in error_of(wrong, 422, "validation_failed")["message"]

    url = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    settings = make_settings(tmp_path / "other", url, delivery_records="failures")
    other = await build_services(settings)
    try:
        made = await other.access.bootstrap_admin_key()
        assert made is not None
        async with api_client(other, made.plaintext) as http:
            assert (await http.post("/v1/apps", json={"name": "crm"})).status_code == 201
            by_default = await http.post("/v1/notifications", json={**body, "app": "crm"})
            assert (await _status(http, by_default.json()["id"]))["records"] == "failures"
            chosen = await http.post(
                "/v1/notifications", json={**body, "app": "crm", "records": "all"}
            )
            assert (await _status(http, chosen.json()["id"]))["records"] == "all"
    finally:
        await other.close()
