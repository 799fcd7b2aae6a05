"""What every simulator shares: the request/response values, recorded messages, dead
tokens, scripted faults and counters, and the generic part of the ``/_sim/`` control API.

A simulator subclasses :class:`Simulator`, implements :meth:`Simulator.handle_provider`
for its provider paths and :meth:`Simulator.register_credentials` for its own credential
kind; the server calls :meth:`Simulator.handle` for every request.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson

from pushgate.simulators.responder import ANSWER_URL_HEADER, AnswerRequest, Responder


@dataclass(slots=True)
class SimRequest:
    """One HTTP request as a simulator sees it; header names are lower case."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    http_version: str = "1.1"
    connection: ConnectionInfo | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass(slots=True)
class ConnectionInfo:
    """Per-connection state a provider cares about (APNs binds a connection to a key)."""

    peer_certificate: dict[str, Any] | None = None
    state: dict[str, Any] = field(default_factory=dict)
    # DER of a verified TLS client certificate (APNs certificate auth reads extensions).
    peer_certificate_der: bytes | None = None
    # What an HTTP/2 connection advertises as SETTINGS_MAX_CONCURRENT_STREAMS; a change
    # made while handling a request is sent to the client in a new SETTINGS frame.
    max_concurrent_streams: int | None = None


@dataclass(slots=True)
class SimResponse:
    """One HTTP response. ``action`` lets a fault drop the connection instead."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    action: str | None = None  # None | "reset" (close without answering) | "goaway"
    goaway_reason: str | None = None

    @classmethod
    def json(
        cls, status: int, payload: Any, headers: list[tuple[str, str]] | None = None
    ) -> SimResponse:
        return cls(
            status,
            [("content-type", "application/json"), *(headers or [])],
            orjson.dumps(payload),
        )


@dataclass(slots=True)
class Fault:
    """A scripted misbehaviour: for the next ``count`` requests or until ``until`` (epoch s).

    ``token`` narrows it to one device token / subscription; ``status`` and ``reason``
    shape the provider's own error answer; ``action`` is ``reset`` or ``goaway``.
    """

    status: int | None = None
    reason: str | None = None
    retry_after: int | None = None
    latency_ms: int = 0
    action: str | None = None
    count: int | None = 1
    until: float | None = None
    token: str | None = None

    def is_active(self, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        return self.count is None or self.count > 0


@dataclass(slots=True)
class Received:
    """One accepted message, as the device would get it (decrypted where encrypted)."""

    token: str
    headers: dict[str, str]
    body: Any
    received_at: float
    message_id: str


class Simulator(ABC):
    """Base class: shared state plus the generic ``/_sim/`` routes."""

    name = "base"

    def __init__(self) -> None:
        self.received: dict[str, list[Received]] = defaultdict(list)
        self.dead_tokens: dict[str, float] = {}  # token -> invalid since (epoch seconds)
        self.faults: list[Fault] = []
        self.counters: Counter[str] = Counter()
        self.base_url = ""
        # The device's side of an actionable push: answering it (``/_sim/<name>/respond``).
        self.responder = Responder(self.name)

    # -- Python API -------------------------------------------------------------------
    def reset(self) -> None:
        self.received.clear()
        self.dead_tokens.clear()
        self.faults.clear()
        self.counters.clear()

    def mark_dead(self, token: str, since: float | None = None) -> None:
        self.dead_tokens[token] = time.time() if since is None else since

    def is_dead(self, token: str) -> float | None:
        """The time since which ``token`` is invalid, or None while it is live."""
        since = self.dead_tokens.get(token)
        return since if since is not None and since <= time.time() else None

    def inject(self, fault: Fault) -> None:
        self.faults.append(fault)

    def take_fault(self, token: str | None) -> Fault | None:
        """The first active fault that applies to this request, consuming one use."""
        now = time.time()
        self.faults = [f for f in self.faults if f.is_active(now)]
        for fault in self.faults:
            if fault.token is not None and fault.token != token:
                continue
            if fault.count is not None:
                fault.count -= 1
            return fault
        return None

    def record(self, token: str, headers: dict[str, str], body: Any, message_id: str) -> None:
        self.received[token].append(Received(token, headers, body, time.time(), message_id))
        self.counters["accepted"] += 1

    def all_received(self) -> list[Received]:
        return [item for items in self.received.values() for item in items]

    # -- HTTP -------------------------------------------------------------------------
    async def handle(self, request: SimRequest) -> SimResponse:
        self.counters["requests"] += 1
        if request.path.startswith("/_sim/"):
            return await self.handle_control(request)
        return await self.handle_provider(request)

    @abstractmethod
    async def handle_provider(self, request: SimRequest) -> SimResponse:
        """Answer a request on the provider's own paths, as the real service would."""

    def connection_opened(self, info: ConnectionInfo) -> None:  # noqa: B027 - optional hook
        """Called once per HTTP/2 connection before its first SETTINGS frame is sent."""

    def register_credentials(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Register a credential of this provider's kind; returns what the caller needs.

        Every provider simulator overrides this; one that takes no credentials refuses
        (the control route answers 400)."""
        raise ValueError(f"the {self.name} simulator takes no credentials")

    async def apply_latency(self, fault: Fault | None) -> None:
        if fault is not None and fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)

    async def handle_control(self, request: SimRequest) -> SimResponse:
        """Generic control routes; subclasses may extend by overriding and calling super."""
        route = (request.method, request.path.split("?", 1)[0])
        try:
            payload = request.json() if request.body else {}
        except orjson.JSONDecodeError:
            return SimResponse.json(400, {"error": "body is not JSON"})
        if route == ("POST", f"/_sim/{self.name}/credentials"):
            try:
                return SimResponse.json(201, self.register_credentials(payload))
            except (KeyError, ValueError, TypeError) as exc:
                return SimResponse.json(400, {"error": f"bad credential: {exc}"})
        if route == ("POST", f"/_sim/{self.name}/dead"):
            self.mark_dead(str(payload["token"]), payload.get("since"))
            return SimResponse.json(200, {"ok": True})
        if route == ("POST", f"/_sim/{self.name}/faults"):
            fields = set(Fault.__dataclass_fields__)
            self.inject(Fault(**{k: v for k, v in payload.items() if k in fields}))
            return SimResponse.json(201, {"ok": True})
        if route == ("GET", f"/_sim/{self.name}/received"):
            return SimResponse.json(
                200, {"received": [_received_json(r) for r in self.all_received()]}
            )
        if route == ("POST", f"/_sim/{self.name}/respond"):
            return await self.respond(payload)
        if route == ("GET", f"/_sim/{self.name}/counters"):
            return SimResponse.json(200, dict(self.counters))
        if route == ("POST", f"/_sim/{self.name}/reset"):
            self.reset()
            return SimResponse.json(200, {"ok": True})
        return SimResponse.json(404, {"error": f"no control route {route[0]} {route[1]}"})

    async def respond(self, payload: Any) -> SimResponse:
        """Answer a received push as its device would (docs/simulators.md)."""
        try:
            request = AnswerRequest.parse(payload)
        except ValueError as exc:
            return SimResponse.json(400, {"error": str(exc)})
        pushes = [item.body for item in self.received.get(request.token, [])]
        answer = await self.responder.answer(pushes, request)
        self.counters["answers"] += 1
        headers = [("content-type", answer.content_type)]
        if answer.url is not None:
            headers.append((ANSWER_URL_HEADER, answer.url))
        return SimResponse(answer.status, headers, answer.body)


def _received_json(item: Received) -> dict[str, Any]:
    return {
        "token": item.token,
        "headers": item.headers,
        "body": item.body,
        "received_at": item.received_at,
        "message_id": item.message_id,
    }
