"""A Redis server of a test's own, on a free loopback port, which the test may stop, kill,
flush and start again (never the shared one): no persistence, so a restart loses all."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
import redis.exceptions

from tests.services import require_program


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class PrivateRedis:
    def __init__(self, program: str) -> None:
        self.program = program
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: ASYNC220 (starts at once; no wait)
            [
                self.program,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                client = aioredis.Redis.from_url(self.url)
                try:
                    await client.ping()
                    return
                finally:
                    await client.aclose()
            except (OSError, redis.exceptions.ConnectionError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.02)

    async def kill(self) -> None:
        """Gone at once, as a crash is (SIGKILL), its data with it."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.wait, 10)
        self.process = None

    async def flush(self) -> None:
        client = aioredis.Redis.from_url(self.url)
        try:
            await client.flushdb()
        finally:
            await client.aclose()


@asynccontextmanager
async def private_redis() -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis(require_program("redis-server", "redis-server"))
    await server.start()
    try:
        yield server
    finally:
        await server.kill()
