"""The soak's deployment in scale mode, and the supervisor that kills and restarts it.

``pushgate serve --no-worker`` and two ``pushgate worker`` processes on a PostgreSQL
cluster and a Redis server of the soak's own, sending to the APNs simulator in a process of
its own. The API keeps one port across restarts, as a supervisor (systemd, Kubernetes)
would restart it behind the same address. Faults are applied here, one at a time
(tests/soak/schedule.py); each is recorded with when it began and when its cause was gone.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import assert_never

import httpx
import redis

from tests.e2e.deployment import ApnsSimulatorProcess
from tests.e2e.serving import Processes, free_port, pushgate_env, wait_until
from tests.private_redis import PrivateRedis
from tests.soak.own_postgres import OwnPostgres
from tests.soak.schedule import (
    Fault,
    FlushRedis,
    KillApi,
    KillRedis,
    KillWorker,
    ProviderOutage,
    RestartPostgres,
)

DATABASE = "pushgate"


@dataclass(frozen=True, slots=True)
class Tuning:
    """The settings the soak runs with (docs/reliability.md "Soak" names them)."""

    workers: int = 2
    worker_concurrency: int = 4
    send_batch_size: int = 500
    # A killed worker's jobs are taken again once their lease runs out, and jobs Redis
    # lost are queued again at the next reconcile: the defaults (60 s, 30 s) would only
    # make each recovery that much longer than the soak's window.
    lease_seconds: float = 5.0
    reconcile_seconds: float = 3.0


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """A fault as applied: epoch seconds when it struck and when its cause was gone (the
    process restarted and ready, the server back, the outage window over)."""

    fault: Fault
    started: float
    ended: float


@dataclass
class SoakStack:
    processes: Processes
    postgres: OwnPostgres
    queue: PrivateRedis
    simulator: ApnsSimulatorProcess
    env: dict[str, str]
    tuning: Tuning
    api_port: int = field(default_factory=free_port)
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    starts: dict[str, int] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start_api(self) -> str:
        """Start the API on its port; the name of its log once it answers /healthz."""
        name = self._next_name("api")
        self.api = self.processes.spawn(
            name,
            ["serve", "--no-worker"],
            {**self.env, "PUSHGATE_BIND": f"127.0.0.1:{self.api_port}"},
        )
        process = self.api

        def is_healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited:\n{self.processes.log(name)}")
            try:
                return httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(is_healthy, 60, f"{name} to answer /healthz")
        return name

    def start_worker(self, which: int) -> None:
        while len(self.workers) <= which:
            self.workers.append(None)
        self.workers[which] = self.processes.worker(self._next_name(f"worker{which}"), self.env)

    def apply(self, fault: Fault) -> FaultRecord:
        started = time.time()
        match fault:
            case KillApi():
                _kill(self.api)
                time.sleep(fault.restart_after)  # the supervisor's restart delay
                self.start_api()
            case KillWorker():
                _kill(self.workers[fault.which])
                time.sleep(fault.restart_after)
                self.start_worker(fault.which)
            case RestartPostgres():
                self.postgres.restart_immediately()
            case FlushRedis():
                client = redis.Redis.from_url(self.queue.url)
                try:
                    client.flushall()
                finally:
                    client.close()
            case KillRedis():
                asyncio.run(self.queue.kill())
                time.sleep(fault.down_for)  # the outage lasts this long
                asyncio.run(self.queue.start())
            case ProviderOutage():
                self._provider_outage(fault)
            case _:
                assert_never(fault)
        return FaultRecord(fault, started, time.time())

    def _provider_outage(self, fault: ProviderOutage) -> None:
        # docs/simulators.md: a fault lasts until ``until`` (epoch seconds) when ``count``
        # is null. APNs's 503 comes without Retry-After, so pushgate waits its own first
        # 30-60 s (src/pushgate/core/retry_table.py); "reset" aborts the TCP connection
        # under every request, answered or not.
        refuse_until = time.time() + fault.refuse_for
        self.simulator.inject(
            status=503, reason="ServiceUnavailable", count=None, until=refuse_until
        )
        time.sleep(fault.refuse_for)
        close_until = time.time() + fault.close_for
        self.simulator.inject(action="reset", count=None, until=close_until)
        time.sleep(fault.close_for)

    def _next_name(self, kind: str) -> str:
        self.starts[kind] = self.starts.get(kind, 0) + 1
        return f"{kind}-{self.starts[kind]}"


def _kill(process: subprocess.Popen[bytes] | None) -> None:
    if process is None:
        raise RuntimeError("no such process to kill")
    process.kill()  # SIGKILL: no shutdown, no flush, as a crash or the OOM killer
    process.wait(timeout=15)


def soak_env(
    data_dir: Path,
    postgres: OwnPostgres,
    queue: PrivateRedis,
    simulator: ApnsSimulatorProcess,
    tuning: Tuning,
) -> dict[str, str]:
    # Every process decrypts the same stored credentials: one secret key for all.
    shared_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return pushgate_env(
        data_dir,
        PUSHGATE_DATABASE_URL=postgres.url(DATABASE),
        PUSHGATE_QUEUE_URL=queue.url,
        PUSHGATE_QUEUE_PREFIX="soak",
        PUSHGATE_SECRET_KEY=shared_key,
        PUSHGATE_ALLOW_PRIVATE_TARGETS="true",
        PUSHGATE_PROVIDER_CA_FILE=str(simulator.ca_file),
        PUSHGATE_WORKER_CONCURRENCY=str(tuning.worker_concurrency),
        PUSHGATE_SEND_BATCH_SIZE=str(tuning.send_batch_size),
        PUSHGATE_WORKER_LEASE_SECONDS=str(tuning.lease_seconds),
        PUSHGATE_QUEUE_RECONCILE_SECONDS=str(tuning.reconcile_seconds),
    )
