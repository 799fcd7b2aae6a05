"""Hostile and slow clients against a real ``pushgate serve`` process, over raw sockets.

The server runs with second-long deadlines so every case ends quickly; each test bounds
its own connections and time (docs/reliability.md, "Hostile clients").
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from pushgate.config import Settings
from pushgate.core.access import Caller
from pushgate.core.inputs import KeyInput
from pushgate.core.models import ApiKey, Scope
from pushgate.wiring import build_services
from tests.e2e.serving import start_server, stop_server

HEADER_SECONDS = 1
BODY_SECONDS = 1
KEEP_ALIVE_SECONDS = 1
MAX_CONNECTIONS = 250
BUDGET_BYTES = 200_000
# What a client waits beyond a deadline before calling the server late (a shared machine).
SLACK_SECONDS = 2.5

OPERATOR = Caller(ApiKey("op", None, "operator", "op", "", frozenset({Scope.ADMIN}), 0))


@dataclass(frozen=True)
class Server:
    port: int
    pid: int
    key: str


async def _admin_key(data_dir: Path) -> str:
    services = await build_services(Settings(data_dir=data_dir))
    try:
        body = KeyInput(name="test", scopes=[Scope.ADMIN], instance_wide=True)
        return (await services.access.create_key(OPERATOR, body)).plaintext
    finally:
        await services.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("hostile")
    key = asyncio.run(_admin_key(data_dir))
    base, process = start_server(
        data_dir,
        PUSHGATE_LOG_LEVEL="warning",
        PUSHGATE_HEADER_TIMEOUT_SECONDS=str(HEADER_SECONDS),
        PUSHGATE_BODY_TIMEOUT_SECONDS=str(BODY_SECONDS),
        PUSHGATE_KEEP_ALIVE_SECONDS=str(KEEP_ALIVE_SECONDS),
        PUSHGATE_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
        PUSHGATE_MAX_BODIES_IN_FLIGHT_BYTES=str(BUDGET_BYTES),
        PUSHGATE_MAX_HEADER_BYTES="16384",
    )
    try:
        yield Server(int(base.rpartition(":")[2]), process.pid, key)
    finally:
        stop_server(process)


def _connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def _head(method: str, path: str, *lines: str) -> bytes:
    return "\r\n".join(
        [f"{method} {path} HTTP/1.1", "Host: pushgate.test", *lines, "", ""]
    ).encode()


def _until_closed(sock: socket.socket, seconds: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took; fails when
    the connection is still open after ``seconds``."""
    started = time.monotonic()
    received = b""
    while True:
        left = started + seconds - time.monotonic()
        if left <= 0:
            raise AssertionError(f"still open after {seconds} s; got {received[:200]!r}")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return received, time.monotonic() - started
        received += chunk


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _error_code(answer: bytes) -> str:
    code: str = orjson.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"]
    return code


def test_an_unauthenticated_body_is_refused_before_it_is_read(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(
            _head(
                "POST",
                "/v1/notifications",
                "Content-Type: application/json",
                "Content-Length: 1000000",
            )
        )
        answer, took = _until_closed(sock, SLACK_SECONDS)
    assert _status(answer) == 401
    assert b"connection: close" in answer.lower()
    assert took < SLACK_SECONDS


def test_a_stalled_body_is_408_and_closed(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(
            _head(
                "POST",
                "/v1/apps",
                f"Authorization: Bearer {server.key}",
                "Content-Type: application/json",
                "Content-Length: 100",
            )
            + b'{"name": "sta'  # shorter than announced, and then nothing more
        )
        answer, took = _until_closed(sock, BODY_SECONDS + SLACK_SECONDS)
    assert (_status(answer), _error_code(answer)) == (408, "request_timeout")
    assert took >= BODY_SECONDS * 0.9


def test_headers_that_never_end_are_closed(server: Server) -> None:
    with _connect(server) as trickling, _connect(server) as silent:
        trickling.sendall(b"GET /healthz HTTP/1.1\r\nHost: pushgate.test\r\nX-Slow: 1")
        answer, took = _until_closed(trickling, HEADER_SECONDS + SLACK_SECONDS)
        assert (_status(answer), _error_code(answer)) == (408, "request_timeout")
        assert took >= HEADER_SECONDS * 0.9
        # A connection that never sends a byte is closed as well, without an answer.
        assert _until_closed(silent, HEADER_SECONDS + SLACK_SECONDS)[0] == b""


def test_oversized_headers_are_431(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(_head("GET", "/healthz", *(f"X-Filler-{n}: {'a' * 1000}" for n in range(20))))
        answer, _ = _until_closed(sock, SLACK_SECONDS)
    assert (_status(answer), _error_code(answer)) == (431, "headers_too_large")


def test_an_idle_keep_alive_connection_is_closed(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(_head("GET", "/healthz"))
        answer, took = _until_closed(sock, KEEP_ALIVE_SECONDS + SLACK_SECONDS)
    assert _status(answer) == 200
    assert b"connection: close" not in answer.lower()  # kept alive, then closed when idle
    assert took >= KEEP_ALIVE_SECONDS * 0.9


def test_bodies_in_flight_share_a_budget(server: Server) -> None:
    auth = f"Authorization: Bearer {server.key}"
    with _connect(server) as holder:
        # Holds 150 kB of the 200 kB budget while its body stalls.
        holder.sendall(_head("POST", "/v1/apps", auth, "Content-Length: 150000") + b"{")
        time.sleep(0.2)  # the holder's request reaches the app; ends in BODY_SECONDS anyway
        with _connect(server) as refused:
            refused.sendall(_head("POST", "/v1/apps", auth, "Content-Length: 100000"))
            answer, _ = _until_closed(refused, SLACK_SECONDS)
        assert (_status(answer), _error_code(answer)) == (503, "busy")
        assert b"retry-after: 1" in answer.lower()
        assert _status(_until_closed(holder, BODY_SECONDS + SLACK_SECONDS)[0]) == 408
    # The budget is given back: the same body is read (and judged) now.
    body = orjson.dumps({"name": "x" * 99_980})
    with _connect(server) as sock:
        head = _head("POST", "/v1/apps", auth, "Connection: close", f"Content-Length: {len(body)}")
        sock.sendall(head + body)
        assert _status(_until_closed(sock, SLACK_SECONDS)[0]) == 422


def test_connections_past_the_cap_are_refused(server: Server) -> None:
    opened = [_connect(server) for _ in range(MAX_CONNECTIONS)]
    try:
        with _connect(server) as extra:
            answer, took = _until_closed(extra, SLACK_SECONDS)
        assert (_status(answer), _error_code(answer)) == (503, "busy")
        assert took < HEADER_SECONDS  # refused at once, not by the header deadline
    finally:
        for sock in opened:
            sock.close()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _trickle(port: int, until: float, closed_after: list[float]) -> None:
    """One slowloris client: headers a byte every 0.2 s, reconnecting when closed."""
    while time.monotonic() < until:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        opened = time.monotonic()
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        try:
            while time.monotonic() < until:
                try:
                    if not await asyncio.wait_for(reader.read(4096), 0.2):
                        closed_after.append(time.monotonic() - opened)
                        break
                except TimeoutError:
                    writer.write(b"a")
                    continue
                await reader.read()  # the 408 came; the close follows it
                closed_after.append(time.monotonic() - opened)
                break
        except ConnectionError:
            closed_after.append(time.monotonic() - opened)
        finally:
            writer.close()


async def _probe(port: int, until: float, latencies: list[float]) -> None:
    while time.monotonic() < until:
        started = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_head("GET", "/healthz", "Connection: close"))
        answer = await asyncio.wait_for(reader.read(), 5)
        latencies.append(time.monotonic() - started)
        writer.close()
        assert _status(answer) == 200
        await asyncio.sleep(0.1)  # the probe's own pace


def test_a_slowloris_leaves_health_checks_fast_and_memory_flat(server: Server) -> None:
    clients, seconds = 200, 6.0
    before = _rss_kib(server.pid)
    closed_after: list[float] = []
    latencies: list[float] = []

    async def attack() -> int:
        until = time.monotonic() + seconds
        peak = before
        tasks = [
            asyncio.create_task(_trickle(server.port, until, closed_after)) for _ in range(clients)
        ]
        tasks.append(asyncio.create_task(_probe(server.port, until, latencies)))
        while time.monotonic() < until:
            peak = max(peak, _rss_kib(server.pid))
            await asyncio.sleep(0.2)  # the sampling pace
        async with asyncio.timeout(seconds):
            await asyncio.gather(*tasks)
        return peak

    peak = asyncio.run(attack())
    growth_mib = (peak - before) / 1024
    print(
        f"slowloris {clients} clients {seconds:.0f} s: health p50 "
        f"{statistics.median(latencies) * 1000:.1f} ms max {max(latencies) * 1000:.1f} ms, "
        f"RSS {before / 1024:.1f} -> peak {peak / 1024:.1f} MiB, "
        f"{len(closed_after)} closes, longest held {max(closed_after):.2f} s"
    )
    assert len(closed_after) >= clients  # every trickling connection was cut off at least once
    assert max(closed_after) < HEADER_SECONDS + SLACK_SECONDS
    assert statistics.median(latencies) < 0.25
    assert max(latencies) < 2.0
    assert growth_mib < 30
