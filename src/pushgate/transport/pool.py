"""A pool of long-lived HTTP/2 connections to one origin."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence

from pushgate.transport.config import Http2Config
from pushgate.transport.connection import Http2Connection
from pushgate.transport.errors import ConnectionUnavailable, NotProcessedError
from pushgate.transport.header_encoder import SharedHeaders
from pushgate.transport.stream import Field, Response


class Http2Pool:
    """``size`` HTTP/2 connections to one origin, sharing the requests between them.

    Each request goes to the available connection with the fewest open streams. A
    connection that died, received GOAWAY or ran out of stream ids is replaced by a new
    one (with a fresh DNS lookup) in the background. A request that failed with a
    :class:`NotProcessedError` (refused by GOAWAY or REFUSED_STREAM, or never sent) is
    resent on another connection up to ``resend_attempts`` times within its timeout.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        size: int = 1,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        authority: str | None = None,
        config: Http2Config | None = None,
        resend_attempts: int = 2,
    ) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one connection")
        self.host = host
        self.port = port
        self.size = size
        self._ssl_context = ssl_context
        self._server_hostname = server_hostname
        self._authority = authority
        self._config = config or Http2Config()
        self._resend_attempts = resend_attempts
        self._connections: list[Http2Connection] = []
        self._retiring: list[Http2Connection] = []
        self._connecting: set[asyncio.Task[Http2Connection]] = set()
        self._closed = False

    @property
    def connections(self) -> list[Http2Connection]:
        """The connections taking requests now."""
        return [connection for connection in self._connections if connection.is_available]

    async def request(
        self,
        method: bytes,
        path: bytes,
        headers: Sequence[Field] = (),
        body: bytes = b"",
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline that also covers the slot wait
        *,
        shared: SharedHeaders | None = None,
    ) -> Response:
        """Send one request on the least busy connection; see :meth:`Http2Connection.request`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._config.request_timeout if timeout is None else timeout)
        resends = self._resend_attempts
        while True:
            connection = self._pick() or await self._connect_now()
            try:
                return await connection.request(
                    method, path, headers, body, deadline - loop.time(), shared=shared
                )
            except NotProcessedError:
                if resends <= 0 or self._closed or loop.time() >= deadline:
                    raise
                resends -= 1

    def _pick(self) -> Http2Connection | None:
        if self._closed:
            raise ConnectionUnavailable("the pool is closed")
        best: Http2Connection | None = None
        best_load = 0
        available = 0
        for connection in self._connections:
            if connection.is_available:
                available += 1
                load = connection.open_streams
                if best is None or load < best_load:
                    best, best_load = connection, load
        if available < len(self._connections):
            self._retire_unavailable()
        for _ in range(self.size - available - len(self._connecting)):
            self._start_connect()
        return best

    def _retire_unavailable(self) -> None:
        self._retiring = [c for c in self._retiring if not c.is_closed]
        self._retiring.extend(c for c in self._connections if not c.is_available)
        self._connections = [c for c in self._connections if c.is_available]

    def _start_connect(self) -> asyncio.Task[Http2Connection]:
        task = asyncio.get_running_loop().create_task(
            Http2Connection.open(
                self.host,
                self.port,
                ssl_context=self._ssl_context,
                server_hostname=self._server_hostname,
                authority=self._authority,
                config=self._config,
            )
        )
        self._connecting.add(task)
        task.add_done_callback(self._connected)
        return task

    def _connected(self, task: asyncio.Task[Http2Connection]) -> None:
        self._connecting.discard(task)
        if task.cancelled() or task.exception() is not None:
            return  # a request waiting on this task sees the error; a later one retries
        connection = task.result()
        if self._closed:
            connection.abort()
        else:
            self._connections.append(connection)

    async def _connect_now(self) -> Http2Connection:
        """Wait for a connection when none is available (a failed connect raises here)."""
        task = next(iter(self._connecting), None) or self._start_connect()
        connection = await asyncio.shield(task)
        if not connection.is_available:
            raise ConnectionUnavailable("the new connection closed at once")
        return connection

    async def close(self) -> None:
        """Close every connection, letting requests in flight finish first."""
        self._closed = True
        for task in self._connecting:
            task.cancel()
        await asyncio.gather(*self._connecting, return_exceptions=True)
        connections = self._connections + self._retiring
        self._connections, self._retiring = [], []
        await asyncio.gather(*(connection.close() for connection in connections))
