"""One request/response exchange on an HTTP/2 connection, and the response it yields."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

Field = tuple[bytes, bytes]


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


class Stream:
    """Client-side state of one stream (RFC 9113 §5.1)."""

    __slots__ = (
        "body",
        "body_size",
        "future",
        "headers",
        "id",
        "pending",
        "recv_unacked",
        "send_window",
        "status",
        "timer",
    )

    def __init__(self, stream_id: int, future: asyncio.Future[Response], send_window: int) -> None:
        self.id = stream_id
        self.future = future
        self.send_window = send_window
        #: Request body not yet sent (flow control, RFC 9113 §6.9); None once END_STREAM left.
        self.pending: memoryview | None = None
        self.status = 0
        self.headers: list[Field] = []
        self.body: list[bytes] = []
        self.body_size = 0
        self.recv_unacked = 0
        self.timer: asyncio.TimerHandle | None = None
