"""Outages of Redis and PostgreSQL in scale mode (docs/architecture.md §9): the API keeps
accepting (the outbox holds the jobs) or answers 503, workers back off and carry on, and
jobs Redis lost are queued again. Redis is a server of the test's own, killed, restarted
and flushed at will; PostgreSQL is the test's own database, reached through a proxy the
test cuts."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import sqlalchemy as sa

from pushgate.delivery.jobs import FANOUT, first_fanout_id
from pushgate.queue.outbox import OutboxQueue
from pushgate.simulators.base import Fault
from pushgate.simulators.tls import CertificateAuthority
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.storage.tables import notifications, outbox
from pushgate.wiring import Services, build_services, build_worker
from tests.conftest import empty_postgres, make_settings
from tests.delivery.conftest import register, settled
from tests.postgres_refusal import refuse_as_starting_up
from tests.private_redis import PrivateRedis, private_redis
from tests.tcp_proxy import TcpProxy, tcp_proxy

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

BATCH = 10
CONCURRENCY = 4


@pytest.fixture
async def redis_server() -> AsyncIterator[PrivateRedis]:
    async with private_redis() as server:
        yield server


@pytest.fixture
async def database_proxy(postgres_database: str) -> AsyncIterator[TcpProxy]:
    parts = urlsplit(postgres_database)
    async with tcp_proxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        yield proxy


@pytest.fixture
async def services(
    request: pytest.FixtureRequest,
    postgres_database: str,
    database_proxy: TcpProxy,
    redis_server: PrivateRedis,
    tmp_path: Path,
    sim_authority: CertificateAuthority,
) -> AsyncIterator[Services]:
    """Scale mode: PostgreSQL (through the proxy) and the test's own Redis; or, when a
    test asks for ``sql``, the queue in that same PostgreSQL database."""
    await empty_postgres(postgres_database)
    parts = urlsplit(postgres_database)
    through_proxy = parts._replace(netloc=f"{parts.username}@127.0.0.1:{database_proxy.port}")
    settings = make_settings(
        tmp_path,
        urlunsplit(through_proxy),
        queue_url=getattr(request, "param", redis_server.url),
        queue_prefix=f"test-{secrets.token_hex(4)}",
        queue_reconcile_seconds=0.3,
        provider_ca_file=str(sim_authority.ca_path),
        send_batch_size=BATCH,
        worker_concurrency=CONCURRENCY,
    )
    built = await build_services(settings)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
async def running_worker(services: Services) -> AsyncIterator[asyncio.Task[None]]:
    """A worker running its loop; the test checks the very task lives on."""
    handle = build_worker(services)
    stop = asyncio.Event()
    task = asyncio.create_task(handle.worker.run(stop))
    yield task
    stop.set()
    await asyncio.wait_for(task, 30)
    await handle.close()


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 15.0) -> None:
    """Poll ``check`` until it holds, failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


async def send(client: httpx.AsyncClient, app: str, **extra: object) -> httpx.Response:
    body = {"app": app, "audience": {"everyone": True}, "body": "hi", **extra}
    return await client.post("/v1/notifications", json=body)


async def outbox_rows(services: Services) -> list[sa.Row[object]]:
    async with services.engine.connect() as connection:
        return list((await connection.execute(sa.select(outbox))).all())


def outbox_of(services: Services) -> OutboxQueue:
    queue = services.queue
    assert isinstance(queue, OutboxQueue)
    return queue


async def test_a_send_while_redis_is_down_is_accepted_and_goes_out_when_it_returns(
    services: Services,
    client: httpx.AsyncClient,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    redis_server: PrivateRedis,
    running_worker: asyncio.Task[None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/0")
    await redis_server.kill()

    answer = await send(client, webhook_app)
    assert answer.status_code == 202, answer.text
    notification_id = answer.json()["id"]
    # Stored with its job, which waits in the outbox for Redis.
    [row] = await outbox_rows(services)
    assert (row.id, row.relayed_at) == (first_fanout_id(notification_id), None)
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    checks = ready.json()["error"]["details"]
    assert checks["database"] == "ok"
    assert checks["queue"].startswith("queue unreachable")

    await until(lambda: _logged(caplog, "unreachable since"))
    assert not running_worker.done()

    await redis_server.start()  # empty: Redis lost everything, the outbox did not
    await until(lambda: _received(webhook_sim, 1))
    assert (await settled(client, notification_id))["state"] == "completed"
    assert (await client.get("/readyz")).json()["checks"] == {"database": "ok", "queue": "ok"}
    assert not running_worker.done()
    assert await outbox_rows(services) == []  # finished jobs leave the outbox
    # Each loop says once that the queue went away and once that it came back.
    down = [r for r in caplog.records if "unreachable since" in r.getMessage()]
    back = [r for r in caplog.records if "reachable again after" in r.getMessage()]
    assert 1 <= len(down) == len({r.getMessage().split(" since")[0] for r in down})
    assert len(back) <= len(down)


async def test_a_worker_keeps_running_through_redis_cuts_and_delivers_after(
    services: Services,
    client: httpx.AsyncClient,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    redis_server: PrivateRedis,
    running_worker: asyncio.Task[None],
) -> None:
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/0")
    for cut in range(2):
        await redis_server.kill()
        await until(lambda: _is_ready(client, want=False))
        assert not running_worker.done()
        await redis_server.start()
        answer = await send(client, webhook_app)
        assert answer.status_code == 202, answer.text
        await until(lambda n=cut + 1: _received(webhook_sim, n))
    assert not running_worker.done()


async def test_a_flushed_redis_is_filled_again_and_the_broadcast_completes(
    services: Services,
    client: httpx.AsyncClient,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    redis_server: PrivateRedis,
    running_worker: asyncio.Task[None],
) -> None:
    devices = 120
    for n in range(devices):
        await register(client, webhook_app, f"{webhook_sim.base_url}/hook/{n}")
    webhook_sim.inject(Fault(latency_ms=15, count=None))  # slow enough to flush mid-way
    answer = await send(client, webhook_app)
    assert answer.status_code == 202, answer.text
    notification_id = answer.json()["id"]
    await until(lambda: _received(webhook_sim, 15))
    await redis_server.flush()
    before = len(webhook_sim.all_received())
    assert before < devices, "the broadcast ended before the flush"

    await until(lambda: _distinct(webhook_sim, devices), seconds=20)
    body = await settled(client, notification_id)
    assert body["state"] == "completed"
    assert body["deliveries"]["sent"] == devices
    duplicates = len(webhook_sim.all_received()) - devices
    print(f"FLUSHDB after {before} of {devices}: {duplicates} duplicate(s)")
    # Only batches in flight when Redis lost them may go twice.
    assert duplicates <= BATCH * CONCURRENCY


async def test_an_idempotent_repeat_queues_again_what_redis_lost(
    services: Services,
    client: httpx.AsyncClient,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    redis_server: PrivateRedis,
) -> None:
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/0")
    queue = outbox_of(services)
    headers = {"Idempotency-Key": "order-7"}
    first = await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"everyone": True}, "body": "hi"},
        headers=headers,
    )
    assert first.status_code == 202, first.text
    job = (first_fanout_id(first.json()["id"]), FANOUT)
    assert await queue.redis.missing([job]) == []
    await redis_server.flush()  # no worker has run: the notification is stranded
    assert await queue.redis.missing([job]) == [job[0]]

    again = await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"everyone": True}, "body": "hi"},
        headers=headers,
    )
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False
    assert await queue.redis.missing([job]) == []
    # A third repeat queues nothing more: Redis holds the job.
    await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"everyone": True}, "body": "hi"},
        headers=headers,
    )
    depth = (await queue.depth([FANOUT]))[FANOUT]
    assert depth.ready + depth.delayed == 1


async def test_the_api_answers_503_while_the_database_is_down_and_recovers(
    services: Services,
    client: httpx.AsyncClient,
    webhook_app: str,
    database_proxy: TcpProxy,
) -> None:
    await database_proxy.cut()
    answer = await send(client, webhook_app)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "unavailable"
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"]["details"]["database"].startswith("database unreachable")
    assert ready.json()["error"]["details"]["queue"] == "ok"

    await database_proxy.restore()
    answer = await send(client, webhook_app)
    assert answer.status_code == 202, answer.text


async def test_the_api_answers_503_while_the_database_restarts(
    services: Services,
    client: httpx.AsyncClient,
    webhook_app: str,
    database_proxy: TcpProxy,
) -> None:
    """A restarted PostgreSQL refuses connections with 57P03 until its recovery ends
    (found by the soak, docs/reliability.md "Soak"): still an outage, never a 500."""
    await database_proxy.answer_with(refuse_as_starting_up)
    answer = await send(client, webhook_app)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "unavailable"
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"]["details"]["database"].startswith("database unreachable")

    await database_proxy.restore()
    answer = await send(client, webhook_app)
    assert answer.status_code == 202, answer.text


@pytest.mark.parametrize("services", ["sql"], indirect=True)
async def test_a_worker_keeps_running_through_a_database_outage(
    services: Services,
    client: httpx.AsyncClient,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    database_proxy: TcpProxy,
    running_worker: asyncio.Task[None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/0")
    answer = await send(client, webhook_app)
    await until(lambda: _received(webhook_sim, 1))
    await database_proxy.cut()
    await until(lambda: _logged(caplog, "(worker) unreachable since"))
    assert not running_worker.done()
    await database_proxy.restore()
    answer = await send(client, webhook_app)
    assert answer.status_code == 202, answer.text
    await until(lambda: _received(webhook_sim, 2))
    assert not running_worker.done()


async def test_no_notification_is_stored_without_its_job(
    services: Services, client: httpx.AsyncClient, webhook_app: str, postgres_database: str
) -> None:
    """The outbox row and the notification share one transaction: when the outbox refuses
    the row, the notification is not stored either."""
    await _refuse_inserts(postgres_database, "outbox")
    try:
        answer = await send(client, webhook_app)
        assert answer.status_code >= 400, answer.text
    finally:
        await _allow_inserts(postgres_database, "outbox")
    async with services.engine.connect() as connection:
        stored = (await connection.execute(sa.select(sa.func.count(notifications.c.id)))).scalar()
    assert stored == 0


async def _refuse_inserts(url: str, table: str) -> None:
    """A trigger of the test's own database that fails every insert into ``table``."""
    from pushgate.storage.engine import create_engine

    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "CREATE OR REPLACE FUNCTION refuse_insert() RETURNS trigger"
                    " LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$"
                )
            )
            await connection.execute(
                sa.text(
                    f"CREATE TRIGGER refuse_insert BEFORE INSERT ON {table}"
                    " FOR EACH ROW EXECUTE FUNCTION refuse_insert()"
                )
            )
    finally:
        await engine.dispose()


async def _allow_inserts(url: str, table: str) -> None:
    from pushgate.storage.engine import create_engine

    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text(f"DROP TRIGGER IF EXISTS refuse_insert ON {table}"))
    finally:
        await engine.dispose()


async def _received(simulator: WebhookSimulator, count: int) -> bool:
    return len(simulator.all_received()) >= count


async def _distinct(simulator: WebhookSimulator, count: int) -> bool:
    return len(simulator.received) >= count


async def _is_ready(client: httpx.AsyncClient, *, want: bool) -> bool:
    return ((await client.get("/readyz")).status_code == 200) is want


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)
