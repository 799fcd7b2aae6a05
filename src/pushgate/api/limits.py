"""Bounded request bodies: in size, in time, and in the bytes all requests hold at once.

- larger than ``max_body_bytes``: 413, from Content-Length before reading, or once the
  streamed bytes pass it;
- not all in within ``body_seconds`` of the headers: 408 and the connection closed
  (RFC 9110 §15.5.9), which also ends a body shorter than its Content-Length;
- past the shared ``BodyBudget``: 503 with Retry-After (RFC 9110 §15.6.4) before the body
  is read. It is the server that is full, not the client that asks too often, so not 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from typing import assert_never

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pushgate.api.errors import error_response

# Bounds on reading and discarding the rest of a refused body (see ``drain``).
DRAIN_MAX_BYTES = 16 * 1024 * 1024
DRAIN_MAX_SECONDS = 5.0
BUSY_RETRY_AFTER_SECONDS = 1


class Refusal(enum.Enum):
    TOO_LARGE = "too_large"
    TOO_SLOW = "too_slow"
    BUSY = "busy"


class BodyRefused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


class BodyBudget:
    """Bytes of request bodies held across all requests of this process.

    The event loop runs one request's step at a time, so plain counting is race-free."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.held = 0

    def take(self, size: int) -> bool:
        if self.held + size > self.max_bytes:
            return False
        self.held += size
        return True

    def give_back(self, size: int) -> None:
        self.held -= size


class BodyLimit:
    """Pure ASGI middleware: checks Content-Length up front and counts streamed bytes."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        budget: BodyBudget,
        body_seconds: float,
        smaller: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.budget = budget
        self.body_seconds = body_seconds
        # (path prefix, bytes): routes that take less than ``max_bytes``, the first match.
        self.smaller = smaller

    def max_for(self, path: str) -> int:
        for prefix, limit in self.smaller:
            if path.startswith(prefix):
                return min(limit, self.max_bytes)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        max_bytes = self.max_for(scope["path"])
        if declared is not None and declared > max_bytes:
            if declared <= DRAIN_MAX_BYTES:
                await drain(receive)
            await self._refuse(Refusal.TOO_LARGE, scope, receive, send, max_bytes)
            return
        reading = _Reading(self, receive, send, declared or 0, max_bytes)
        if not self.budget.take(reading.reserved):
            await self._refuse(Refusal.BUSY, scope, receive, send, max_bytes)
            return
        try:
            await self.app(scope, reading.receive, reading.send)
        except Exception:
            # Whatever the app made of the interrupted read, the answer is the refusal.
            if reading.refused is None:
                raise
        finally:
            self.budget.give_back(reading.reserved)
        if reading.refused is not None and not reading.started:
            if reading.refused is Refusal.TOO_LARGE and not reading.finished:
                await drain(receive)
            await self._refuse(reading.refused, scope, receive, send, max_bytes)

    async def _refuse(
        self, refusal: Refusal, scope: Scope, receive: Receive, send: Send, max_bytes: int
    ) -> None:
        headers = {"Connection": "close"}
        match refusal:
            case Refusal.TOO_LARGE:
                answer = error_response(
                    413,
                    "payload_too_large",
                    f"request body exceeds {max_bytes} bytes",
                    {"max_bytes": max_bytes},
                )
            case Refusal.TOO_SLOW:
                answer = error_response(
                    408,
                    "request_timeout",
                    f"the request body did not arrive within {self.body_seconds:g} s",
                    {"timeout_seconds": self.body_seconds},
                )
            case Refusal.BUSY:
                answer = error_response(
                    503, "busy", "the server holds as many request bodies as it may; retry"
                )
                headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
            case _:
                assert_never(refusal)
        answer.headers.update(headers)
        await answer(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


async def drain(receive: Receive) -> None:
    """Read and discard the rest of a refused body, within bounds.

    A client still sending its body when the server answers and closes gets a connection
    reset and never reads the 413; RFC 9112 §9.6 asks servers to close in stages for this
    reason. Draining is bounded in bytes and time, so it costs bandwidth only.
    """
    received = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_MAX_SECONDS):
            while received <= DRAIN_MAX_BYTES:
                message = await receive()
                if message["type"] != "http.request":
                    return
                received += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return


class _Reading:
    """One request's body as the app reads it: counted against the size bound and the
    budget, and bounded in time. A refusal raises out of ``receive`` and silences the
    app's own answer, which ``BodyLimit`` replaces."""

    def __init__(
        self, limit: BodyLimit, receive: Receive, send: Send, reserved: int, max_bytes: int
    ) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self._receive = receive
        self._send = send
        self.reserved = reserved  # bytes taken from the budget, given back at the end
        self.seen = 0
        self.refused: Refusal | None = None
        self.finished = False
        self.started = False
        self.deadline = asyncio.get_running_loop().time() + limit.body_seconds

    async def receive(self) -> Message:
        if self.finished:
            return await self._receive()  # past the body: waits for the disconnect only
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self._receive()
        except TimeoutError:
            raise self._refuse(Refusal.TOO_SLOW) from None
        if message["type"] != "http.request":
            return message
        self.seen += len(message.get("body", b""))
        self.finished = not message.get("more_body", False)
        if self.seen > self.max_bytes:
            raise self._refuse(Refusal.TOO_LARGE)
        if self.seen > self.reserved:
            # A chunked body (no Content-Length) takes from the budget as it comes.
            if not self.limit.budget.take(self.seen - self.reserved):
                raise self._refuse(Refusal.BUSY)
            self.reserved = self.seen
        return message

    async def send(self, message: Message) -> None:
        if self.refused is not None:
            return
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)

    def _refuse(self, refusal: Refusal) -> BodyRefused:
        self.refused = refusal
        return BodyRefused(refusal)
