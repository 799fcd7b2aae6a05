"""One request/response exchange on an HTTP/2 connection, the response it yields, and the
batch that collects the answers of many such exchanges."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pushgate.transport.errors import TransportError
    from pushgate.transport.header_encoder import SharedHeaders

Field = tuple[bytes, bytes]
#: One request of a batch: ``(path, headers, body, shared)``. ``headers`` are the
#: per-request fields as lowercase byte pairs; ``shared`` the fields many requests repeat
#: (HPACK-indexed once per connection), or None. A plain tuple: one is built per message.
Request = tuple[bytes, Sequence[Field], bytes, "SharedHeaders | None"]

#: :attr:`Stream.id` of a request waiting for a free stream slot.
WAITING = 0
#: :attr:`Stream.id` of a request that was answered or given up while it waited.
DROPPED = -1


@dataclass(slots=True)
class Response:
    """A complete HTTP/2 response: status, header fields (trailers appended) and body."""

    status: int
    headers: list[Field] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str | bytes) -> bytes | None:
        """The first value of header ``name`` (lowercase), or None."""
        wanted = name.encode("ascii") if isinstance(name, str) else name
        for key, value in self.headers:
            if key == wanted:
                return value
        return None


class ResponseBatch:
    """The answers of many requests sent with one method, by position.

    Each request ends as a :class:`Response` or a :class:`TransportError` in
    :attr:`results`; :attr:`done` resolves once every request of the current round has
    its answer. A round is the first sending, or a resend of those not processed.
    """

    __slots__ = ("done", "loop", "method", "remaining", "results")

    def __init__(self, loop: asyncio.AbstractEventLoop, method: bytes, size: int) -> None:
        self.loop = loop
        self.method = method
        self.results: list[Any] = [None] * size
        self.remaining = 0
        self.done: asyncio.Future[None] = loop.create_future()

    def expect(self, count: int) -> None:
        """Start a round of ``count`` requests."""
        self.remaining = count
        if self.done.done():
            self.done = self.loop.create_future()

    def settle(self, index: int, result: Response | TransportError) -> None:
        """Record the answer of request ``index``; the last one of the round wakes the caller."""
        self.results[index] = result
        self.remaining -= 1
        if not self.remaining and not self.done.done():
            self.done.set_result(None)


class Stream:
    """Client-side state of one request from the moment it is submitted (RFC 9113 §5.1).

    ``id`` is :data:`WAITING` until the request gets a stream, then the stream id; a
    request given up before it got one is :data:`DROPPED`. The answer goes to position
    ``index`` of ``batch``.
    """

    __slots__ = (
        "batch",
        "body",
        "body_size",
        "headers",
        "id",
        "index",
        "pending",
        "recv_unacked",
        "request",
        "send_window",
        "status",
    )

    #: Set with the final status (trailers are appended later).
    headers: list[Field]

    def __init__(self, batch: ResponseBatch, index: int, request: Request) -> None:
        self.batch = batch
        self.index = index
        self.request = request
        self.id = WAITING
        self.send_window = 0
        #: Request body not yet sent (flow control, RFC 9113 §6.9); None once END_STREAM left.
        self.pending: memoryview | None = None
        self.status = 0
        self.body: list[bytes] | None = None
        self.body_size = 0
        self.recv_unacked = 0
