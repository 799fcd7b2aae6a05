"""A client HTTP/2 connection: open it, send requests on many concurrent streams, close it.

:class:`Http2Connection` adds to the wire protocol (:mod:`.protocol`) everything that
waits: the connect timeout, a per-request deadline that covers the wait for a free stream
slot (the server's SETTINGS_MAX_CONCURRENT_STREAMS, RFC 9113 §5.1.2), keepalive PINGs when
the connection is idle, and a graceful close.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections import deque
from collections.abc import Sequence

from pushgate.transport import frames as fr
from pushgate.transport.config import Http2Config
from pushgate.transport.deadlines import Deadlines
from pushgate.transport.errors import (
    ConnectError,
    ConnectionLost,
    ConnectionUnavailable,
    ConnectTimeout,
    RequestTimeout,
    StreamSlotTimeout,
    TransportError,
)
from pushgate.transport.header_encoder import SharedHeaders
from pushgate.transport.protocol import CLOSED, OPEN, Http2Protocol
from pushgate.transport.stream import Field, Response, Stream


class Http2Connection:
    """One HTTP/2 connection to one origin, carrying many concurrent requests.

    Open it with :meth:`open`. :meth:`request` may be called from many tasks at once; a
    request beyond the server's stream limit waits (within its timeout) for a free slot.
    Once the server sends GOAWAY, or stream ids run low, :attr:`is_available` turns False;
    requests in flight still complete and the connection then closes itself.
    """

    def __init__(self, protocol: Http2Protocol) -> None:
        self._protocol = protocol
        self._config = protocol.config
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self._reserved = 0  # slots promised to woken waiters that have not started yet
        self._keepalive: asyncio.TimerHandle | None = None
        self._deadlines = Deadlines(protocol.loop)
        self._ping_deadline: asyncio.TimerHandle | None = None
        protocol.on_capacity = self._wake_slot_waiters
        protocol.on_ping_ack = self._ping_answered

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        authority: str | None = None,
        config: Http2Config | None = None,
    ) -> Http2Connection:
        """Connect (TLS with ALPN h2, or cleartext h2c with prior knowledge, RFC 9113 §3.3).

        Returns once the server's SETTINGS arrived, so its stream limit applies from the
        first request. ``host`` is resolved afresh on every call.
        """
        config = config or Http2Config()
        scheme = "https" if ssl_context is not None else "http"
        if authority is None:
            authority = host if port == (443 if ssl_context else 80) else f"{host}:{port}"
        created: list[Http2Protocol] = []

        def build() -> Http2Protocol:
            created.append(Http2Protocol(config, authority, scheme))
            return created[-1]

        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(config.connect_timeout):
                await loop.create_connection(
                    build,
                    host,
                    port,
                    ssl=ssl_context,
                    server_hostname=(server_hostname or host) if ssl_context else None,
                )
                await created[0].settings_received
        except TimeoutError as exc:
            _abort(created)
            raise ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except (OSError, TransportError) as exc:
            _abort(created)
            raise ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        connection = cls(created[0])
        connection._schedule_keepalive()
        return connection

    @property
    def is_available(self) -> bool:
        """True while new requests may be sent on this connection."""
        return self._protocol.state is OPEN

    @property
    def is_closed(self) -> bool:
        return self._protocol.state is CLOSED

    @property
    def open_streams(self) -> int:
        """Requests in flight plus requests waiting for a stream slot."""
        return len(self._protocol.streams) + len(self._slot_waiters) + self._reserved

    @property
    def max_concurrent_streams(self) -> int:
        """The server's current SETTINGS_MAX_CONCURRENT_STREAMS."""
        return self._protocol.peer_max_streams

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
        """Send one request and return its complete response.

        ``shared`` carries the fields every request repeats (HPACK-indexed once);
        ``headers`` the per-request ones, as lowercase byte pairs. ``timeout`` (default
        ``request_timeout``) bounds the whole exchange, including a wait for a free slot.
        """
        protocol = self._protocol
        if protocol.state is not OPEN:
            raise protocol.unsent_error()
        loop = protocol.loop
        deadline = loop.time() + (self._config.request_timeout if timeout is None else timeout)
        if (
            self._slot_waiters
            or len(protocol.streams) + self._reserved >= protocol.peer_max_streams
            or protocol.write_paused
        ):
            await self._wait_for_slot(deadline)
        stream = protocol.start_stream(method, path, headers, body, shared)
        self._deadlines.add(deadline, stream.future, self._expire, stream, self.open_streams)
        try:
            return await stream.future
        except asyncio.CancelledError:
            protocol.reset_stream(stream, fr.CANCEL, None)
            raise

    async def _wait_for_slot(self, deadline: float) -> None:
        protocol = self._protocol
        waiter: asyncio.Future[None] = protocol.loop.create_future()
        self._slot_waiters.append(waiter)
        self._deadlines.add(deadline, waiter, _expire_waiter, waiter, self.open_streams)
        try:
            await waiter
        except BaseException:
            if waiter in self._slot_waiters:
                self._slot_waiters.remove(waiter)
            elif waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Woken, then cancelled before it could start: pass the slot on.
                self._reserved -= 1
                self._wake_slot_waiters()
            raise
        self._reserved -= 1
        if protocol.state is not OPEN:
            raise protocol.unsent_error()

    def _wake_slot_waiters(self) -> None:
        """Hand free stream slots to waiting requests, first come first served."""
        protocol = self._protocol
        waiters = self._slot_waiters
        if protocol.state is not OPEN:
            while waiters:
                waiter = waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(protocol.unsent_error())
            return
        free = protocol.peer_max_streams - len(protocol.streams) - self._reserved
        while free > 0 and waiters and not protocol.write_paused:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._reserved += 1
                free -= 1

    def _expire(self, stream: Stream) -> None:
        if not stream.future.done():
            error = RequestTimeout(f"no response on stream {stream.id} within the timeout")
            self._protocol.reset_stream(stream, fr.CANCEL, error)

    # -- keepalive (RFC 9113 §6.7) ---------------------------------------------------

    def _schedule_keepalive(self) -> None:
        if self._config.ping_interval is not None and self._protocol.state is not CLOSED:
            loop = self._protocol.loop
            self._keepalive = loop.call_later(self._config.ping_interval, self._keepalive_tick)

    def _keepalive_tick(self) -> None:
        """PING when nothing arrived for a whole interval; a silent server is dead."""
        protocol = self._protocol
        if protocol.received_since_tick:
            protocol.received_since_tick = False
        elif protocol.ping_payload is None and protocol.state is not CLOSED:
            protocol.ping_payload = os.urandom(8)
            protocol.queue(fr.ping_frame(protocol.ping_payload))
            self._ping_deadline = protocol.loop.call_later(
                self._config.ping_timeout, self._ping_unanswered
            )
        self._schedule_keepalive()

    def _ping_answered(self) -> None:
        if self._ping_deadline is not None:
            self._ping_deadline.cancel()
            self._ping_deadline = None

    def _ping_unanswered(self) -> None:
        protocol = self._protocol
        protocol.close_error = ConnectionLost(
            f"keepalive PING not answered within {self._config.ping_timeout}s"
        )
        if protocol.transport is not None:
            protocol.transport.abort()

    # -- closing ----------------------------------------------------------------------

    async def close(self) -> None:
        """Stop taking requests, let those in flight finish (up to ``close_timeout``), close."""
        protocol = self._protocol
        protocol.drain(ConnectionUnavailable("the connection is closing"))
        try:
            async with asyncio.timeout(self._config.close_timeout):
                await asyncio.shield(protocol.closed)
        except TimeoutError:
            self.abort()
            await protocol.closed
        self._stop_timers()

    def abort(self) -> None:
        """Close at once; requests in flight fail with :class:`ConnectionLost`."""
        self._stop_timers()
        if self._protocol.transport is not None:
            self._protocol.transport.abort()

    def _stop_timers(self) -> None:
        self._deadlines.stop()
        for handle in (self._keepalive, self._ping_deadline):
            if handle is not None:
                handle.cancel()

    def __repr__(self) -> str:
        protocol = self._protocol
        return (
            f"<Http2Connection {protocol.pseudo.fields[1][1].decode()} {protocol.state}"
            f" streams={len(protocol.streams)} next_id={protocol.next_stream_id}>"
        )


def _expire_waiter(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(StreamSlotTimeout("no free stream slot within the timeout"))


def _abort(created: list[Http2Protocol]) -> None:
    if created and created[0].transport is not None:
        created[0].transport.abort()
