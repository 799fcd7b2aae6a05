"""Operational events the pipeline records on its own, and the operational webhook that
receives them signed, retried after a failure, dropped after a day (docs/operations.md,
"Operational events")."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from pushgate.core.clock import ManualClock
from pushgate.core.operational_events import EventKind
from pushgate.delivery.jobs import FANOUT, JOB_KINDS
from pushgate.delivery.worker import MAX_JOB_ATTEMPTS
from pushgate.queue.base import NewJob
from pushgate.wiring import Services
from tests.delivery.conftest import register, work_through


@dataclass
class Receiver:
    """An HTTP/1.1 endpoint answering each POST with the next of ``statuses`` (then 204)."""

    statuses: list[int]
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")[1:]
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines if x)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.received.append((headers, body))
        status = self.statuses.pop(0) if self.statuses else 204
        writer.write(
            f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    made = Receiver([500])
    server = await asyncio.start_server(made.handle, "127.0.0.1", 0)
    made.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/ops"
    yield made
    server.close()
    await server.wait_closed()


async def _events(client: httpx.AsyncClient, query: str = "") -> list[dict[str, object]]:
    answer = await client.get(f"/v1/operational-events{query}")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


async def _failed_notification(client: httpx.AsyncClient) -> str:
    """A notification whose every delivery fails: the app has no webhook credentials."""
    assert (await client.post("/v1/apps", json={"name": "bare"})).status_code == 201
    await register(client, "bare", "https://device.example.com/a")
    sent = await client.post(
        "/v1/notifications", json={"app": "bare", "audience": {"everyone": True}, "title": "t"}
    )
    assert sent.status_code == 202, sent.text
    notification_id: str = sent.json()["id"]
    return notification_id


async def test_a_job_set_aside_is_an_operational_event(
    client: httpx.AsyncClient, services: Services
) -> None:
    await services.queue.enqueue([NewJob(FANOUT, b"not json")])
    for _ in range(MAX_JOB_ATTEMPTS - 1):  # its earlier failed runs
        [job] = await services.queue.lease(FANOUT, 1, 30)
        assert await services.queue.retry_later(job, 0, "failed before")
    await work_through(services)
    [dead] = await services.queue.dead_letters(FANOUT)
    [event] = await _events(client, "?kind=job.dead_lettered")
    assert event["subject"] == {"type": "job", "id": dead.id}
    assert event["tenant_id"] is None  # nothing of a tenant's could be read from it
    details = event["details"]
    assert isinstance(details, dict)
    assert (details["job_kind"], details["attempts"]) == (FANOUT, MAX_JOB_ATTEMPTS)


async def test_a_notification_that_reached_nobody_is_an_operational_event(
    client: httpx.AsyncClient, services: Services
) -> None:
    notification_id = await _failed_notification(client)
    await work_through(services)
    [event] = await _events(client, "?kind=notification.failed&tenant=default&app=bare")
    assert event["subject"] == {"type": "notification", "id": notification_id}
    assert event["details"] == {"counts": {"failed": 1}}


async def test_the_operational_webhook_gets_the_event_signed_and_again_after_a_500(
    client: httpx.AsyncClient, services: Services, receiver: Receiver
) -> None:
    set_hook = await client.patch(
        "/v1/tenants/default", json={"operational_webhook": {"url": receiver.url}}
    )
    assert set_hook.status_code == 200, set_hook.text
    secret = set_hook.json()["operational_webhook"]["secret"]
    notification_id = await _failed_notification(client)
    # An hour behind: the retry's time (30 s on) is due at once for the queue.
    await work_through(services, clock=ManualClock(time.time() - 3600))

    assert len(receiver.received) == 2  # the 500, then the 204
    [event] = await _events(client)
    for headers, body in receiver.received:
        assert headers["webhook-id"] == event["id"]
        verified = Webhook(secret).verify(body, headers)
        assert verified["type"] == "notification.failed"
    sent = json.loads(receiver.received[1][1])
    assert sent == {
        "type": "notification.failed",
        "id": event["id"],
        "at": sent["at"],
        "tenant": "default",
        "subject": {"type": "notification", "id": notification_id},
        "data": {"counts": {"failed": 1}},
    }
    assert sent["at"].endswith("Z")
    depth = await services.queue.depth(JOB_KINDS)
    assert sum(d.ready + d.delayed + d.leased + d.dead for d in depth.values()) == 0


async def test_an_event_older_than_a_day_is_dropped_without_an_event_of_its_own(
    client: httpx.AsyncClient, services: Services, receiver: Receiver
) -> None:
    tenant = await services.accounts.tenant_by_name("default")
    assert tenant is not None
    answer = await client.patch(
        "/v1/tenants/default", json={"operational_webhook": {"url": receiver.url}}
    )
    assert answer.status_code == 200, answer.text
    old = services.operational_events_at(ManualClock(time.time() - 26 * 3600))
    await old.record(old.new(EventKind.NOTIFICATION_FAILED, "n", tenant_id=tenant.id))
    await work_through(services, clock=ManualClock(time.time() - 3600))

    assert len(receiver.received) == 1  # refused once, then given up
    assert len(await _events(client)) == 1
    depth = await services.queue.depth(JOB_KINDS)
    assert sum(d.ready + d.delayed + d.leased + d.dead for d in depth.values()) == 0
