"""Crash safety of the delivery pipeline with real processes (issue 5, "Crash safety").

Every pushgate process and the APNs simulator run as real processes on free loopback
ports, in the test's temporary directory, and are killed when the test ends. Delivery is
at least once (docs/architecture.md §2): a process killed with SIGKILL loses nothing, and the
only duplicates are the batches it had in flight — sent, but not yet written back.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis

from tests.e2e.deployment import (
    ApnsSimulatorProcess,
    admin_client,
    apns_token,
    create_apns_app,
    deliveries,
    import_devices,
    printed_admin_key,
    register_devices,
    send,
    settled,
    start_apns_simulator,
)
from tests.e2e.serving import Processes, pushgate_env, wait_until
from tests.services import (
    POSTGRES_ADMIN_DB,
    POSTGRES_HOST,
    POSTGRES_PORT,
    POSTGRES_USER,
    REDIS_HOST,
    REDIS_PORT,
    REDIS_URL,
    postgres_url,
    require_service,
    unique_name,
)

# 20,000 devices as the issue asks: 20-30 s a kill on a two-core machine (scale mode half
# as long again), so those runs are marked soak and left to `make soak`. `make test` kills
# the same way mid-broadcast at 4,000: still eight send batches of 500, so the kill lands
# with batches in flight and others queued, which is what the tests are about.
SOAK_DEVICES = 20_000
DEVICES = [
    pytest.param(4_000, id="4k"),
    pytest.param(SOAK_DEVICES, id="20k", marks=pytest.mark.soak),
]
WORKER_CONCURRENCY = 4
SEND_BATCH_SIZE = 500
# A worker's jobs are taken again once its lease runs out; the default minute would only
# make the restart wait longer (src/pushgate/delivery/worker.py).
LEASE_SECONDS = 5
# At most the batches a killed worker held: sent, but their outcomes not yet written.
MOST_DUPLICATES = WORKER_CONCURRENCY * SEND_BATCH_SIZE
APP = "shop"


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    with Processes(tmp_path / "logs") as running:
        yield running


@pytest.fixture(scope="module")
def apns_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApnsSimulatorProcess]:
    """One simulator process for the module (it starts in about a second)."""
    folder = tmp_path_factory.mktemp("apns-simulator")
    with Processes(folder / "logs") as running:
        simulator = start_apns_simulator(running, folder / "tls")
        with simulator.control:
            yield simulator


@pytest.fixture
def apns(apns_process: ApnsSimulatorProcess) -> ApnsSimulatorProcess:
    """The simulator with nothing recorded and no fault scripted."""
    apns_process.reset()
    return apns_process


def pipeline_env(data_dir: Path, simulator: ApnsSimulatorProcess, **extra: str) -> dict[str, str]:
    return pushgate_env(
        data_dir,
        PUSHGATE_ALLOW_PRIVATE_TARGETS="true",
        PUSHGATE_PROVIDER_CA_FILE=str(simulator.ca_file),
        PUSHGATE_WORKER_CONCURRENCY=str(WORKER_CONCURRENCY),
        PUSHGATE_SEND_BATCH_SIZE=str(SEND_BATCH_SIZE),
        PUSHGATE_WORKER_LEASE_SECONDS=str(LEASE_SECONDS),
        **extra,
    )


def kill_when_in_flight(
    simulator: ApnsSimulatorProcess, victim: subprocess.Popen[bytes], total: int
) -> int:
    """SIGKILL ``victim`` once a quarter of ``total`` arrived; how many had arrived then."""
    wait_until(lambda: simulator.accepted() >= total // 4, 60, "a quarter to arrive")
    victim.kill()
    victim.wait(timeout=15)
    arrived = simulator.accepted()
    assert arrived < total, "everything arrived before the kill: nothing was tested"
    return arrived


def assert_everyone_received_once_or_more(
    simulator: ApnsSimulatorProcess, tokens: list[str], label: str
) -> int:
    """Every token received the broadcast; returns (and prints) the duplicate count."""
    per_token = simulator.per_token()
    missing = set(tokens) - set(per_token)
    assert not missing, f"{len(missing)} devices received nothing"
    duplicates = sum(per_token.values()) - len(tokens)
    print(f"{label}: {len(tokens)} devices, {duplicates} duplicates")
    assert duplicates <= MOST_DUPLICATES
    return duplicates


@pytest.mark.parametrize("devices", DEVICES)
@pytest.mark.parametrize("records", ["all", "failures"])
def test_embedded_server_killed_mid_broadcast_loses_nothing(
    processes: Processes, apns: ApnsSimulatorProcess, tmp_path: Path, records: str, devices: int
) -> None:
    """Also when the notification keeps rows only for failures: its pending deliveries
    are then in the queued send jobs alone, and each batch's counts move once."""
    env = pipeline_env(tmp_path / "data", apns, PUSHGATE_DELIVERY_RECORDS=records)
    tokens = [apns_token(n) for n in range(devices)]
    base, first = processes.serve("serve-1", env)
    key = printed_admin_key(processes, "serve-1")
    with admin_client(base, key) as api:
        create_apns_app(api, apns, APP)
        import_devices(env, APP, tokens, tmp_path / "devices.csv")
        notification = send(api, APP, {"everyone": True}, title="Sale", body="Today only")
        kill_when_in_flight(apns, first, len(tokens))
    base, _ = processes.serve("serve-2", env)
    with admin_client(base, key) as api:
        final = settled(api, notification, 90)
    assert (final["state"], final["records"]) == ("completed", records)
    assert final["deliveries"]["sent"] == len(tokens)
    assert sum(final["deliveries"].values()) == len(tokens)
    assert_everyone_received_once_or_more(apns, tokens, f"embedded kill -9, records {records}")


@pytest.fixture
def scale_backends() -> Iterator[dict[str, str]]:
    """A PostgreSQL database and a Redis key prefix of this test's own (dropped after)."""
    require_service("postgresql", POSTGRES_HOST, POSTGRES_PORT)
    require_service("redis", REDIS_HOST, REDIS_PORT)
    database = unique_name("pushgate_crash")
    prefix = unique_name("crash")
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{database}"'))
    try:
        yield {
            "PUSHGATE_DATABASE_URL": postgres_url(database),
            "PUSHGATE_QUEUE_URL": REDIS_URL,
            "PUSHGATE_QUEUE_PREFIX": prefix,
        }
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        _drop_redis_prefix(prefix)


async def _postgres_admin(sql: str) -> None:
    connection = await asyncpg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user=POSTGRES_USER, database=POSTGRES_ADMIN_DB
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _drop_redis_prefix(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        # Every key of a prefix shares its hash tag (src/pushgate/queue/redis.py).
        for key in client.scan_iter(match=f"{{{prefix}}}*"):
            client.delete(key)
    finally:
        client.close()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("devices", DEVICES)
@pytest.mark.parametrize("records", ["all", "failures"])
def test_scale_mode_worker_killed_mid_broadcast_loses_nothing(
    processes: Processes,
    apns: ApnsSimulatorProcess,
    scale_backends: dict[str, str],
    tmp_path: Path,
    records: str,
    devices: int,
) -> None:
    # Every process decrypts the same stored credentials: one secret key for all.
    shared_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    env = pipeline_env(
        tmp_path / "data",
        apns,
        PUSHGATE_SECRET_KEY=shared_key,
        PUSHGATE_DELIVERY_RECORDS=records,
        **scale_backends,
    )
    tokens = [apns_token(n) for n in range(devices)]
    base, _ = processes.serve("serve", env, "--no-worker")
    key = printed_admin_key(processes, "serve")
    with admin_client(base, key) as api:
        create_apns_app(api, apns, APP)
        import_devices(env, APP, tokens, tmp_path / "devices.csv")
        doomed = processes.worker("worker-1", env)
        processes.worker("worker-2", env)
        notification = send(api, APP, {"everyone": True}, title="Sale", body="Today only")
        kill_when_in_flight(apns, doomed, len(tokens))
        final = settled(api, notification, 90)
    assert (final["state"], final["records"]) == ("completed", records)
    assert final["deliveries"]["sent"] == len(tokens)
    assert sum(final["deliveries"].values()) == len(tokens)
    label = f"scale mode kill -9 of one worker, records {records}"
    assert_everyone_received_once_or_more(apns, tokens, label)


@pytest.fixture
def embedded(
    processes: Processes, apns: ApnsSimulatorProcess, tmp_path: Path
) -> Iterator[httpx.Client]:
    """``pushgate serve`` (SQLite) with the app ``shop`` sending to the simulator."""
    base, _ = processes.serve("serve", pipeline_env(tmp_path / "data", apns))
    with admin_client(base, printed_admin_key(processes, "serve")) as api:
        create_apns_app(api, apns, APP)
        yield api


OUTAGE_DEVICES = 40


def test_a_provider_outage_delays_but_loses_nothing(
    embedded: httpx.Client, apns: ApnsSimulatorProcess
) -> None:
    tokens = [apns_token(n) for n in range(OUTAGE_DEVICES)]
    register_devices(embedded, APP, tokens)
    outage_ends = time.time() + 3
    # Each refusal names its wait, as a provider coming back may; without one the first
    # retry would come 30-60 s later (the table's own figure, tested in tests/core).
    apns.inject(
        status=503, reason="ServiceUnavailable", retry_after=2, count=None, until=outage_ends
    )
    notification = send(embedded, APP, {"everyone": True}, title="Back soon")
    final = settled(embedded, notification, 60)
    assert final["state"] == "completed"
    assert final["deliveries"]["sent"] == len(tokens)
    # Every device was refused during the outage and got the message once, after it.
    assert apns.faults_answered() >= len(tokens)
    received = apns.received()
    assert sorted(item["token"] for item in received) == tokens
    assert min(item["received_at"] for item in received) >= outage_ends
    assert all(item["attempts"] >= 2 for item in deliveries(embedded, notification))


def test_retry_after_of_a_429_is_honoured(
    embedded: httpx.Client, apns: ApnsSimulatorProcess
) -> None:
    tokens = [apns_token(n) for n in range(OUTAGE_DEVICES)]
    register_devices(embedded, APP, tokens)
    # APNs's own first wait for 429 is a minute (src/pushgate/core/retry_table.py): a
    # Retry-After is the provider's figure and replaces it.
    retry_after = 4
    apns.inject(status=429, reason="TooManyRequests", retry_after=retry_after, count=len(tokens))
    refused_no_earlier_than = time.time()
    notification = send(embedded, APP, {"everyone": True}, title="Slowly")
    final = settled(embedded, notification, 60)
    assert final["state"] == "completed"
    assert apns.faults_answered() == len(tokens)
    received = apns.received()
    assert sorted(item["token"] for item in received) == tokens
    # Each device was refused at or after the send, so its retry waited Retry-After, and
    # not the table's minute.
    earliest = min(item["received_at"] for item in received)
    assert earliest >= refused_no_earlier_than + retry_after
    assert max(item["received_at"] for item in received) < refused_no_earlier_than + 50


def test_restarting_the_embedded_server_keeps_scheduled_and_retrying_work(
    processes: Processes, apns: ApnsSimulatorProcess, tmp_path: Path
) -> None:
    env = pipeline_env(tmp_path / "data", apns)
    scheduled_token, retrying_token = apns_token(1), apns_token(2)
    base, first = processes.serve("serve-1", env)
    key = printed_admin_key(processes, "serve-1")
    with admin_client(base, key) as api:
        create_apns_app(api, apns, APP)
        scheduled_device, retrying_device = register_devices(
            api, APP, [scheduled_token, retrying_token]
        )
        retry_after = 5
        apns.inject(status=503, retry_after=retry_after, count=1, token=retrying_token)
        refused_no_earlier_than = time.time()
        retrying = send(api, APP, {"devices": [retrying_device]}, title="Try again")
        wait_until(lambda: retry_planned(api, retrying), 30, "the retry to be planned")
        send_at = datetime.now(UTC) + timedelta(seconds=5)
        scheduled = send(
            api, APP, {"devices": [scheduled_device]}, title="Later", send_at=send_at.isoformat()
        )
    first.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught: exit by SIGTERM.
    assert first.wait(timeout=30) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in processes.log("serve-1")
    assert apns.accepted() == 0, "something was sent before the restart: nothing was tested"
    base, _ = processes.serve("serve-2", env)
    with admin_client(base, key) as api:
        assert settled(api, scheduled, 60)["deliveries"]["sent"] == 1
        assert settled(api, retrying, 60)["deliveries"]["sent"] == 1
    by_token = {item["token"]: item for item in apns.received()}
    assert sorted(by_token) == [scheduled_token, retrying_token]
    assert by_token[scheduled_token]["received_at"] >= send_at.timestamp()
    assert by_token[retrying_token]["received_at"] >= refused_no_earlier_than + retry_after


def retry_planned(api: httpx.Client, notification_id: str) -> bool:
    found = deliveries(api, notification_id)
    return [(d["state"], d["attempts"]) for d in found] == [("pending", 1)]
