"""A small HTTP/1.1 keep-alive load generator: hand-built requests, many connections.

General clients (httpx, requests) spend more CPU per request than the server under test,
so they would measure themselves. This one writes prepared bytes and parses only the
status line and Content-Length.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    requests: int
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def build_request(host: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def run_load(
    host: str,
    port: int,
    total: int,
    connections: int,
    make_request: Callable[[int], bytes],
) -> LoadResult:
    """Send ``total`` requests over ``connections`` keep-alive connections."""
    counter = iter(range(total))
    result = LoadResult(total, 0.0)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for number in counter:
                writer.write(make_request(number))
                result.statuses[await _read_response(reader)] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result
