"""What the demo runs: the provider simulators in this process and ``pushgate serve`` beside
it, on loopback ports, with an admin key made for the demo."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from pushgate.config import Settings
from pushgate.core.access import Caller
from pushgate.core.ids import now_ms
from pushgate.core.inputs import KeyInput
from pushgate.core.models import ApiKey, Scope
from pushgate.simulators.runner import SIMULATOR_NAMES, SimulatorGroup, start_simulators
from pushgate.wiring import build_services

HOST = "127.0.0.1"
START_SECONDS = 60.0
STOP_SECONDS = 15.0
LOG_TAIL_LINES = 30


class DemoFailed(Exception):
    """The demo cannot go on; the message says why and what to do."""


@dataclass
class Server:
    """A ``pushgate serve`` process started by the demo."""

    process: asyncio.subprocess.Process
    base_url: str
    log_path: Path

    def log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-LOG_TAIL_LINES:])

    async def stop(self) -> None:
        if self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_SECONDS)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def server_port(requested: int) -> int:
    """``requested``, once it is known to be free; 0 picks a free port."""
    with socket.socket() as probe:
        try:
            probe.bind((HOST, requested))
        except OSError as exc:
            raise DemoFailed(
                f"port {requested} on {HOST} is taken ({exc.strerror}); "
                "choose another with --port, or --port 0 for a free one"
            ) from exc
        port: int = probe.getsockname()[1]
        return port


async def start_all_simulators(data_dir: Path) -> SimulatorGroup:
    """Every simulator on a free port over TLS, as the real providers are; their CA is
    written under ``data_dir`` and the server trusts it (:func:`server_environment`)."""
    try:
        return await start_simulators(
            dict.fromkeys(SIMULATOR_NAMES, 0), host=HOST, tls_dir=data_dir / "simulator-tls"
        )
    except Exception as exc:
        raise DemoFailed(f"the simulators did not start: {exc}") from exc


async def create_admin_key(data_dir: Path) -> str:
    """An instance-wide admin key for the demo (so ``serve`` makes no bootstrap key)."""
    # Like the administration commands, the demo works on the instance's own database and
    # so acts as its operator.
    operator = Caller(ApiKey("demo", None, "demo", "demo", "", frozenset({Scope.ADMIN}), now_ms()))
    services = await build_services(Settings(data_dir=data_dir))
    try:
        body = KeyInput(name="demo", scopes=[Scope.ADMIN], instance_wide=True)
        return (await services.access.create_key(operator, body)).plaintext
    finally:
        await services.close()


def server_environment(data_dir: Path, port: int, ca_path: Path | None) -> dict[str, str]:
    """This environment without the operator's own PUSHGATE_* settings (the demo must
    never write to a real instance's database), pointed at the demo's data."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHGATE_")}
    env.update(
        PUSHGATE_DATA_DIR=str(data_dir),
        PUSHGATE_BIND=f"{HOST}:{port}",
        # The simulators listen on loopback, which pushgate refuses unless allowed
        # (docs/architecture.md §6).
        PUSHGATE_ALLOW_PRIVATE_TARGETS="true",
    )
    if ca_path is not None:
        # Trusted beside the system store, so the simulators' https endpoints verify.
        env["PUSHGATE_PROVIDER_CA_FILE"] = str(ca_path)
    return env


async def start_server(data_dir: Path, port: int, ca_path: Path | None) -> Server:
    """Start ``pushgate serve`` (API and worker) and return once it answers ``/healthz``."""
    log_path = data_dir / "server.log"
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pushgate",
            "serve",
            env=server_environment(data_dir, port, ca_path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    server = Server(process, f"http://{HOST}:{port}", log_path)
    try:
        await _wait_until_healthy(server)
    except BaseException:
        with contextlib.suppress(Exception):
            await server.stop()
        raise
    return server


async def _wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_SECONDS
    async with httpx.AsyncClient(base_url=server.base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.returncode is not None:
                break
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise DemoFailed(f"pushgate serve did not start (log: {server.log_path}):\n{server.log_tail()}")
