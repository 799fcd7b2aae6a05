"""Bounds on client connections that uvicorn leaves open: how many, and how long and how
large a request's headers may be.

uvicorn (0.30 and later) times out only idle keep-alive connections, and that timer stops at
the first byte received: a client that opens a connection and sends nothing, or sends its
headers a byte at a time, holds the connection for ever. Its ``limit_concurrency`` answers
503 only once a request's headers are in, so it does not stop such clients either. This
subclass of uvicorn's httptools protocol adds:

- a header deadline, from the connection's start, the end of the previous answer, or the
  first byte of a request, to the end of its headers; 408 (RFC 9110 §15.5.9) and closed
  after it, or closed silently when nothing of a request had come;
- a bound on the bytes of a request line and headers: 431 (RFC 6585 §5) and closed (bytes
  that follow an answer count toward the next request's headers, so a body the app left
  unread on a kept-alive connection counts too: an over-count that errs toward closing);
- a bound on open connections: one past it is answered 503 and closed at once.

Bodies are bounded in the app (``api/limits.py``), which sees the request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_seconds: float
    max_header_bytes: int
    max_connections: int


def _canned(status: bytes, code: str, message: str, extra: bytes = b"") -> bytes:
    """A whole response in the one error shape, written before the app has a request."""
    body = f'{{"error":{{"code":"{code}","message":"{message}","details":{{}}}}}}'.encode()
    return (
        b"HTTP/1.1 " + status + b"\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"connection: close\r\n" + extra + b"\r\n" + body
    )


HEADERS_TOO_SLOW = _canned(
    b"408 Request Timeout", "request_timeout", "the request headers took too long"
)
HEADERS_TOO_LARGE = _canned(
    b"431 Request Header Fields Too Large", "headers_too_large", "the request headers are too large"
)
TOO_MANY_CONNECTIONS = _canned(
    b"503 Service Unavailable", "busy", "too many connections; retry", b"retry-after: 1\r\n"
)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds above; see ``guarded_protocol``."""

    limits: ClassVar[ConnectionLimits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._in_headers = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._end(TOO_MANY_CONNECTIONS)
            return
        self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_headers:
            # Checked before parsing, so a request whose headers come whole in one read is
            # bounded too; a header block ends at the first empty line (RFC 9112 §2.1).
            end = data.find(b"\r\n\r\n")
            self._header_bytes += len(data) if end < 0 else end + 4
            if self._header_bytes > self.limits.max_header_bytes:
                self._end(HEADERS_TOO_LARGE)
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()  # the request's headers have the whole deadline from their first byte

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._await_request()

    def _await_request(self) -> None:
        """Between requests: the next one's headers must be in before the deadline (bytes
        that begin no request, such as stray CRLFs, do not reset it)."""
        self._in_headers = True
        self._header_bytes = 0
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.limits.header_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        self._end(HEADERS_TOO_SLOW if self._header_bytes else None)

    def _end(self, answer: bytes | None) -> None:
        self._disarm()
        self._in_headers = False
        if answer is not None:
            self.transport.write(answer)
        self.transport.close()


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedHttpProtocol]:
    """The protocol class to hand uvicorn (``Config(http=...)``), bound to ``limits``."""
    return type("BoundGuardedHttpProtocol", (GuardedHttpProtocol,), {"limits": limits})
