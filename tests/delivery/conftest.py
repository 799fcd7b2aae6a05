"""A running pipeline: API client, a worker in this process, and provider simulators served
over TLS, as the providers are; the pipeline trusts the simulators' CA the way an operator
configures it (``provider_ca_file``, beside the system store)."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis.asyncio as redis

from pushgate.core.clock import Clock
from pushgate.delivery.jobs import FANOUT, SendJob, read_fanout
from pushgate.queue.base import Job
from pushgate.simulators.base import Fault, Simulator
from pushgate.simulators.fcm import FcmSimulator
from pushgate.simulators.hms import HmsSimulator
from pushgate.simulators.server import start
from pushgate.simulators.tls import CertificateAuthority
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.simulators.webpush import WebPushSimulator
from pushgate.simulators.wns import WnsSimulator
from pushgate.wiring import Services, WorkerHandle, build_services, build_worker
from tests.conftest import empty_postgres, make_settings
from tests.services import REDIS_HOST, REDIS_PORT, REDIS_URL, require_service, unique_name

SimulatorT = TypeVar("SimulatorT", bound=Simulator)
QUEUES = ["sql", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(params=QUEUES)
async def services(
    request: pytest.FixtureRequest,
    database_url: str,
    tmp_path: Path,
    sim_authority: CertificateAuthority,
) -> AsyncIterator[Services]:
    """The pipeline on every database × queue backend (the Redis keys under a fresh prefix)."""
    extra: dict[str, object] = {
        "paused_recheck_seconds": 0.3,
        "provider_ca_file": str(sim_authority.ca_path),
    }
    if request.param == "redis":
        require_service("redis", REDIS_HOST, REDIS_PORT)
        extra.update(queue_url=REDIS_URL, queue_prefix=unique_name("test"))
    if database_url.startswith("postgresql"):
        await empty_postgres(database_url)
    built = await build_services(make_settings(tmp_path, database_url, **extra))
    try:
        yield built
    finally:
        if request.param == "redis":
            await drop_redis_prefix(str(extra["queue_prefix"]))
        await built.close()


async def drop_redis_prefix(prefix: str) -> None:
    client = redis.from_url(REDIS_URL)
    try:
        async for key in client.scan_iter(match=f"{{{prefix}}}*"):
            await client.delete(key)
    finally:
        await client.aclose()


@asynccontextmanager
async def served_over_tls(
    simulator: SimulatorT, authority: CertificateAuthority
) -> AsyncIterator[SimulatorT]:
    """``simulator`` on a free loopback port over https, its certificate from ``authority``."""
    running = await start(simulator, ssl_context=authority.server_context())
    try:
        yield simulator
    finally:
        await running.close()


@pytest.fixture
async def webhook_sim(sim_authority: CertificateAuthority) -> AsyncIterator[WebhookSimulator]:
    async with served_over_tls(WebhookSimulator(), sim_authority) as simulator:
        yield simulator


@pytest.fixture
async def webpush_sim(sim_authority: CertificateAuthority) -> AsyncIterator[WebPushSimulator]:
    async with served_over_tls(WebPushSimulator(), sim_authority) as simulator:
        yield simulator


@pytest.fixture
async def wns_sim(sim_authority: CertificateAuthority) -> AsyncIterator[WnsSimulator]:
    async with served_over_tls(WnsSimulator(), sim_authority) as simulator:
        yield simulator


@pytest.fixture
async def hms_sim(sim_authority: CertificateAuthority) -> AsyncIterator[HmsSimulator]:
    """The HMS simulator: its OAuth token endpoint and its send endpoint both https."""
    async with served_over_tls(HmsSimulator(), sim_authority) as simulator:
        yield simulator


@pytest.fixture
async def fcm_sim(sim_authority: CertificateAuthority) -> AsyncIterator[FcmSimulator]:
    """The FCM simulator: its OAuth token endpoint and its send endpoint both https."""
    async with served_over_tls(FcmSimulator(), sim_authority) as simulator:
        yield simulator


@pytest.fixture
async def worker(services: Services) -> AsyncIterator[None]:
    handle = build_worker(services)
    stop = asyncio.Event()
    task = asyncio.create_task(handle.worker.run(stop))
    yield
    stop.set()
    await asyncio.wait_for(task, 30)
    await handle.close()


@pytest.fixture
def signing_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
async def webhook_app(
    client: httpx.AsyncClient, webhook_sim: WebhookSimulator, signing_secret: str
) -> str:
    """An app whose webhook credentials point at the receiver simulator."""
    webhook_sim.register_credentials({"secret": signing_secret})
    assert (await client.post("/v1/apps", json={"name": "crm"})).status_code == 201
    answer = await client.put(
        "/v1/apps/crm/credentials/webhook",
        json={"url": f"{webhook_sim.base_url}/hook", "signing_secret": signing_secret},
    )
    assert answer.status_code == 200, answer.text
    return "crm"


async def register(client: httpx.AsyncClient, app: str, token: str, **extra: Any) -> str:
    answer = await client.post(
        f"/v1/apps/{app}/devices", json={"provider": "webhook", "token": token, **extra}
    )
    assert answer.status_code in (200, 201), answer.text
    device_id: str = answer.json()["id"]
    return device_id


async def settled(
    client: httpx.AsyncClient, notification_id: str, seconds: float = 20.0
) -> dict[str, Any]:
    """Poll the notification until it reaches a final state (bounded in time)."""
    deadline = time.monotonic() + seconds
    while True:
        body: dict[str, Any] = (await client.get(f"/v1/notifications/{notification_id}")).json()
        if body["state"] in ("completed", "expired", "canceled") or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.05)


async def five_devices_two_gone(
    client: httpx.AsyncClient, app: str, receiver: WebhookSimulator
) -> list[str]:
    """Five webhook devices of the user ``u`` (posting to /hook/0 … 4); the next two
    deliveries the receiver gets answer 410 (the endpoint is gone). Their ids."""
    devices = [
        await register(client, app, f"{receiver.base_url}/hook/{n}", user="u") for n in range(5)
    ]
    receiver.inject(Fault(status=410, count=2))
    return devices


async def three_devices_and_a_broadcast(
    client: httpx.AsyncClient, app: str, receiver: WebhookSimulator, **extra: Any
) -> tuple[list[str], str]:
    """Three webhook devices (posting to /hook/0, 1, 2) and a notification to all of them,
    accepted but not yet fanned out: (the device ids, the notification id). ``extra`` goes
    into the request."""
    ids = [await register(client, app, f"{receiver.base_url}/hook/{n}") for n in range(3)]
    answer = await client.post(
        "/v1/notifications",
        json={"app": app, "audience": {"everyone": True}, "body": "hi", **extra},
    )
    assert answer.status_code == 202, answer.text
    notification_id: str = answer.json()["id"]
    return ids, notification_id


async def work_through(
    services: Services, seconds: float = 30.0, *, clock: Clock | None = None
) -> None:
    """Run a worker in burst mode: every job due now (and any they queue) is done when
    this returns; jobs delayed into the future stay queued. Bounded in time."""
    handle = build_worker(services, clock=clock)
    try:
        await asyncio.wait_for(handle.worker.run(asyncio.Event(), burst=True), seconds)
    finally:
        await handle.close()


@asynccontextmanager
async def worker_by_hand(
    services: Services, clock: Clock | None = None
) -> AsyncIterator[WorkerHandle]:
    """A worker whose steps the test takes itself (not running its loop)."""
    handle = build_worker(services, clock=clock)
    try:
        yield handle
    finally:
        await handle.close()


async def fan_out_by_hand(services: Services, handle: WorkerHandle) -> tuple[Job, SendJob]:
    """The worker's first step by hand: lease the fan-out job and run it; the three
    devices fit one batch, handed back to be sent at once."""
    [job] = await services.queue.lease((FANOUT,), 10, 60.0)
    [batch] = await handle.worker.fanout.run(read_fanout(job.payload))
    return job, batch
