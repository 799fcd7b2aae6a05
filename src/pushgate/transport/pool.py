"""A pool of long-lived HTTP/2 connections to one origin."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence

from pushgate.transport.config import Http2Config
from pushgate.transport.connection import AddressCheck, Http2Connection
from pushgate.transport.errors import ConnectionUnavailable, NotProcessedError, TransportError
from pushgate.transport.header_encoder import SharedHeaders
from pushgate.transport.stream import Field, Request, Response, ResponseBatch, Stream


class Http2Pool:
    """``size`` HTTP/2 connections to one origin, sharing the requests between them.

    Requests go to the free stream slots of the least busy connections first, and wait
    for a slot where that evens out the open streams (:func:`shares_for`). A
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
        address_check: AddressCheck | None = None,
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
        self._address_check = address_check
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
        """Send every request at once, spread over the connections; one answer per request,
        in order.

        Each connection takes its share (:func:`shares_for`), starts as many as its free
        slots allow in one write, and queues the rest for its next free slots.
        A request that failed has its :class:`TransportError` as its answer; nothing is
        raised for it. Those not processed are resent as in :meth:`request`. ``timeout``
        (default ``request_timeout``) bounds every exchange, resends and slot waits
        included.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._config.request_timeout if timeout is None else timeout)
        batch = ResponseBatch(loop, method, len(requests))
        results: list[Response | TransportError] = batch.results
        todo: Sequence[int] = range(len(requests))
        resends = self._resend_attempts
        while todo:
            batch.expect(len(todo))
            try:
                connections = self._available() or [await self._connect_now()]
            except TransportError as error:
                for index in todo:
                    batch.settle(index, error)
                connections = []
            parts = _share_out(connections, batch, requests, todo, deadline)
            try:
                await batch.done
            except asyncio.CancelledError:
                for connection, streams in parts:
                    connection.abandon(streams)
                raise
            if resends <= 0 or self._closed or loop.time() >= deadline:
                break
            todo = [index for index in todo if isinstance(results[index], NotProcessedError)]
            resends -= 1
        return results

    def _available(self) -> list[Http2Connection]:
        """The connections taking requests; starts connecting any that are missing."""
        if self._closed:
            raise ConnectionUnavailable("the pool is closed")
        available = [connection for connection in self._connections if connection.is_available]
        if len(available) < len(self._connections):
            self._retire_unavailable()
        for _ in range(self.size - len(available) - len(self._connecting)):
            self._start_connect()
        return available

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
                address_check=self._address_check,
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


def _share_out(
    connections: list[Http2Connection],
    batch: ResponseBatch,
    requests: Sequence[Request],
    todo: Sequence[int],
    deadline: float,
) -> list[tuple[Http2Connection, list[Stream]]]:
    """Hand the requests ``todo`` to the connections (see :func:`shares_for`)."""
    if len(connections) <= 1:
        return [(c, c.submit(batch, requests, todo, deadline)) for c in connections]
    loads = [connection.open_streams for connection in connections]
    free = [connection.free_slots for connection in connections]
    parts = []
    first = 0
    for connection, share in zip(connections, shares_for(loads, free, len(todo)), strict=True):
        if share:
            indices = todo[first : first + share]
            parts.append((connection, connection.submit(batch, requests, indices, deadline)))
            first += share
    return parts


def shares_for(loads: Sequence[int], free: Sequence[int], count: int) -> list[int]:
    """How many of ``count`` new requests each connection takes.

    Free stream slots first, the least loaded connection's first: a batch leaves in as
    few writes as it can (each write and TLS record has its cost), and the next batch
    goes to the connection this one left least loaded. What finds no free slot waits
    where it evens out the open streams (``loads``).
    """
    shares = [0] * len(loads)
    remaining = count
    for position in sorted(range(len(loads)), key=loads.__getitem__):
        taken = min(remaining, max(0, free[position]))
        shares[position] = taken
        remaining -= taken
        if not remaining:
            return shares
    waiting = even_shares(
        [load + share for load, share in zip(loads, shares, strict=True)], remaining
    )
    return [share + more for share, more in zip(shares, waiting, strict=True)]


def even_shares(loads: Sequence[int], count: int) -> list[int]:
    """How many of ``count`` new requests each connection takes, so that the loads (open
    streams) end as even as possible: the least loaded are filled up to a common level.
    """
    order = sorted(range(len(loads)), key=loads.__getitem__)
    # The k least loaded take part when the k-th one is below the level they reach.
    taking = len(loads)
    while taking > 1:
        total = count + sum(loads[i] for i in order[:taking])
        if loads[order[taking - 1]] * taking <= total:
            break
        taking -= 1
    total = count + sum(loads[i] for i in order[:taking])
    level, extra = divmod(total, taking)
    shares = [0] * len(loads)
    for rank, position in enumerate(order[:taking]):
        shares[position] = level + (rank < extra) - loads[position]
    return shares
