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
from collections.abc import Awaitable, Callable, Sequence

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
    TargetRefused,
    TransportError,
)
from pushgate.transport.header_encoder import SharedHeaders
from pushgate.transport.protocol import CLOSED, OPEN, Http2Protocol
from pushgate.transport.stream import (
    DROPPED,
    WAITING,
    Field,
    Request,
    Response,
    ResponseBatch,
    Stream,
)

# Resolves a host once and answers the IP addresses a connection may use, in order; raises
# TargetRefused when the host must not be reached (the address guard of the caller).
AddressCheck = Callable[[str, int], Awaitable[Sequence[str]]]

# Given-up entries the waiting queue may hold beyond twice its live ones before it is
# rebuilt.
_WAITING_SLACK = 64


class Http2Connection:
    """One HTTP/2 connection to one origin, carrying many concurrent requests.

    Open it with :meth:`open`. :meth:`request` and :meth:`request_many` may be called from
    many tasks at once; requests beyond the server's stream limit wait in order (within
    their timeout) for a free slot. Once the server sends GOAWAY, or stream ids run low,
    :attr:`is_available` turns False; requests in flight still complete and the
    connection then closes itself.
    """

    def __init__(self, protocol: Http2Protocol) -> None:
        self._protocol = protocol
        self._config = protocol.config
        # Requests waiting for a stream slot, first come first served; entries given up
        # while waiting stay (as DROPPED) until they reach the front.
        self._waiting: deque[Stream] = deque()
        self._waiting_count = 0
        self._keepalive: asyncio.TimerHandle | None = None
        self._deadlines = Deadlines(protocol.loop)
        self._ping_deadline: asyncio.TimerHandle | None = None
        protocol.on_capacity = self._start_waiting
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
        address_check: AddressCheck | None = None,
    ) -> Http2Connection:
        """Connect (TLS with ALPN h2, or cleartext h2c with prior knowledge, RFC 9113 §3.3).

        Returns once the server's SETTINGS arrived, so its stream limit applies from the
        first request. ``host`` is resolved afresh on every call. With ``address_check``,
        the host is resolved by it, once, and the socket goes to an address it answered
        (never to a second lookup that could answer otherwise); TLS still verifies the
        certificate against ``host`` (SNI and ``:authority`` stay the name).
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
                targets = [host] if address_check is None else await address_check(host, port)
                await _connect_first(
                    loop,
                    build,
                    targets,
                    port,
                    ssl_context,
                    (server_hostname or host) if ssl_context else None,
                )
                await created[-1].settings_received
        except TimeoutError as exc:
            _abort(created)
            raise ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except TargetRefused:
            raise
        except (OSError, TransportError) as exc:
            _abort(created)
            raise ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        connection = cls(created[-1])
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
        return len(self._protocol.streams) + self._waiting_count

    @property
    def free_slots(self) -> int:
        """How many requests would start at once: stream slots free and not promised to
        requests already waiting for one."""
        protocol = self._protocol
        if self._waiting_count or protocol.write_paused or protocol.state is not OPEN:
            return 0
        free = min(protocol.peer_max_streams - len(protocol.streams), protocol.stream_ids_left)
        return max(0, free)

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
        [answer] = await self.request_many(method, [(path, headers, body, shared)], timeout)
        if isinstance(answer, TransportError):
            raise answer
        return answer

    async def request_many(
        self,
        method: bytes,
        requests: Sequence[Request],
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline that also covers the slot wait
    ) -> list[Response | TransportError]:
        """Send every request at once; one answer per request, in order.

        A request that failed has its :class:`TransportError` as its answer; nothing is
        raised for it. ``timeout`` bounds every exchange as in :meth:`request`.
        """
        if not requests:
            return []
        loop = self._protocol.loop
        deadline = loop.time() + (self._config.request_timeout if timeout is None else timeout)
        batch = ResponseBatch(loop, method, len(requests))
        batch.expect(len(requests))
        streams = self.submit(batch, requests, range(len(requests)), deadline)
        try:
            await batch.done
        except asyncio.CancelledError:
            self.abandon(streams)
            raise
        results: list[Response | TransportError] = batch.results
        return results

    def submit(
        self,
        batch: ResponseBatch,
        requests: Sequence[Request],
        indices: Sequence[int],
        deadline: float,
    ) -> list[Stream]:
        """Start ``requests[i]`` for each ``i`` of ``indices`` now, as far as free stream
        slots allow, and queue the rest for the next free slots; their answers go to
        ``batch``, each by ``deadline`` (loop time). Returns the streams, for
        :meth:`abandon`."""
        protocol = self._protocol
        streams = [Stream(batch, index, requests[index]) for index in indices]
        if protocol.state is not OPEN:
            self._drop_all(streams)
            return streams
        free = self.free_slots
        if free >= len(streams):
            protocol.start_streams(streams)
        else:
            if free:
                protocol.start_streams(streams[:free])
            rest = streams[free:]
            if protocol.state is OPEN:
                self._waiting.extend(rest)
                self._waiting_count += len(rest)
            else:  # the stream ids ran out: these go elsewhere
                self._drop_all(rest)
        self._deadlines.add(deadline, batch.done, self._expire, streams, self.open_streams)
        return streams

    def abandon(self, streams: list[Stream]) -> None:
        """Give up ``streams`` (their caller was cancelled): drop those still waiting and
        reset those in flight with CANCEL (RFC 9113 §8.7)."""
        self._forget_waiting(streams, None)
        protocol = self._protocol
        for stream in streams:
            if stream.id > 0 and protocol.streams.get(stream.id) is stream:
                protocol.reset_stream(stream, fr.CANCEL, None)

    def _start_waiting(self) -> None:
        """Start waiting requests on the free stream slots, first come first served."""
        waiting = self._waiting
        if not self._waiting_count:
            waiting.clear()
            return
        protocol = self._protocol
        if protocol.state is not OPEN:
            self._waiting = deque()
            self._waiting_count = 0
            self._drop_all([stream for stream in waiting if stream.id == WAITING])
            return
        if protocol.write_paused:
            return
        free = min(protocol.peer_max_streams - len(protocol.streams), protocol.stream_ids_left)
        ready = []
        while free > 0 and waiting:
            stream = waiting.popleft()
            if stream.id == WAITING:
                ready.append(stream)
                free -= 1
        if ready:
            self._waiting_count -= len(ready)
            protocol.start_streams(ready)
            if protocol.state is not OPEN:
                self._start_waiting()  # the stream ids ran out: fail the rest as unsent

    def _drop_all(self, streams: list[Stream]) -> None:
        """Fail requests that never got a stream: not sent, safe to resend elsewhere."""
        protocol = self._protocol
        for stream in streams:
            stream.id = DROPPED
            stream.batch.settle(stream.index, protocol.unsent_error())

    def _forget_waiting(
        self, streams: list[Stream], error: Callable[[], TransportError] | None
    ) -> None:
        """Take the waiting ones of ``streams`` out of the queue, failing each with a new
        ``error()`` (None: their caller has gone)."""
        for stream in streams:
            if stream.id == WAITING:
                stream.id = DROPPED
                self._waiting_count -= 1
                if error is not None:
                    stream.batch.settle(stream.index, error())
        if len(self._waiting) > 2 * self._waiting_count + _WAITING_SLACK:
            self._waiting = deque(stream for stream in self._waiting if stream.id == WAITING)

    def _expire(self, streams: list[Stream]) -> None:
        """The deadline of ``streams`` passed: those still waiting were never sent; those
        in flight are reset (the server may have processed them)."""
        # Waiting ones first, so that the resets below start none of them.
        self._forget_waiting(streams, _slot_timeout)
        protocol = self._protocol
        for stream in streams:
            if stream.id > 0 and protocol.streams.get(stream.id) is stream:
                error = RequestTimeout(f"no response on stream {stream.id} within the timeout")
                protocol.reset_stream(stream, fr.CANCEL, error)

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


def _slot_timeout() -> TransportError:
    return StreamSlotTimeout("no free stream slot within the timeout")


async def _connect_first(
    loop: asyncio.AbstractEventLoop,
    build: Callable[[], Http2Protocol],
    targets: Sequence[str],
    port: int,
    ssl_context: ssl.SSLContext | None,
    server_hostname: str | None,
) -> None:
    """Open a connection to the first of ``targets`` that answers (each a name or an IP)."""
    if not targets:
        raise ConnectError("the host resolves to no address")
    for position, target in enumerate(targets):
        try:
            await loop.create_connection(
                build, target, port, ssl=ssl_context, server_hostname=server_hostname
            )
            return
        except OSError:
            if position == len(targets) - 1:
                raise


def _abort(created: list[Http2Protocol]) -> None:
    for protocol in created:
        if protocol.transport is not None:
            protocol.transport.abort()
