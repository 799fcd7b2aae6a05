"""A real pushgate API server on a free 127.0.0.1 port, run in a thread of its own.

The server has its own event loop, services and SQLite database, so both synchronous
clients (``requests``, as schemathesis uses) and async tests can talk to it over TCP.
With ``worker=True`` it is embedded mode, as ``pushgate serve`` runs it: a delivery worker
in the same loop, and a webhook simulator in that loop for devices to be (its
``base_url`` plus any path is a webhook device's token).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from pushgate.api.app import create_app
from pushgate.simulators.server import RunningServer, start
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services, WorkerHandle, build_services, build_worker
from tests.conftest import make_settings

START_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class LiveServer:
    """Where the server listens and the instance-wide admin key it was started with."""

    base_url: str
    admin_key: str
    max_body_bytes: int
    # With ``worker=True``: where webhook devices receive their pushes.
    devices: WebhookSimulator | None = None


class _Runner:
    def __init__(self, data_dir: Path, worker: bool) -> None:
        self.data_dir = data_dir
        self.worker = worker
        self.devices: WebhookSimulator | None = None
        self.ready = threading.Event()
        self.server: uvicorn.Server | None = None
        self.admin_key = ""
        self.max_body_bytes = 0
        self.failure: BaseException | None = None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the fixture, which fails the test
            self.failure = exc
        finally:
            self.ready.set()

    async def _serve(self) -> None:
        database_url = f"sqlite+aiosqlite:///{self.data_dir / 'pushgate.db'}"
        services = await build_services(make_settings(self.data_dir, database_url))
        try:
            made = await services.access.bootstrap_admin_key()
            assert made is not None
            self.admin_key = made.plaintext
            self.max_body_bytes = services.settings.max_body_bytes
            config = uvicorn.Config(
                create_app(services),
                log_level="warning",
                access_log=False,
                lifespan="off",
                ws="none",
                http="h11",
                loop="asyncio",
            )
            self.server = uvicorn.Server(config)
            async with self._embedded(services):
                serving = asyncio.create_task(self.server.serve(sockets=[self.sock]))
                # uvicorn reports readiness only as a flag, so poll it (bounded by the fixture).
                while not self.server.started and not serving.done():  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                self.ready.set()
                await serving
        finally:
            await services.close()

    @asynccontextmanager
    async def _embedded(self, services: Services) -> AsyncIterator[None]:
        """The worker and the devices' simulator while the server runs, when asked for."""
        if not self.worker:
            yield
            return
        self.devices = WebhookSimulator()
        simulator: RunningServer = await start(self.devices)
        handle: WorkerHandle = build_worker(services)
        stop = asyncio.Event()
        working = asyncio.create_task(handle.worker.run(stop))
        try:
            yield
        finally:
            stop.set()
            await working
            await handle.close()
            await simulator.close()


@contextmanager
def live_server(data_dir: Path, *, worker: bool = False) -> Iterator[LiveServer]:
    """Start the server, yield where it is, and stop it (bounded waits both ways)."""
    runner = _Runner(data_dir, worker)
    thread = threading.Thread(target=runner.run, name="pushgate-live-server", daemon=True)
    thread.start()
    try:
        if not runner.ready.wait(START_TIMEOUT_SECONDS) or runner.failure is not None:
            raise RuntimeError(f"the API server did not start: {runner.failure!r}")
        base_url = f"http://127.0.0.1:{runner.port}"
        yield LiveServer(base_url, runner.admin_key, runner.max_body_bytes, runner.devices)
    finally:
        if runner.server is not None:
            runner.server.should_exit = True
        thread.join(START_TIMEOUT_SECONDS)
        runner.sock.close()
