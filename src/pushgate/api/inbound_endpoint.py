"""``POST /v1/inbound/{source}`` served as plain ASGI (docs/events.md, "Inbound sources").

A ``datanotifier`` source must answer every request in its contract,
``{"Success", "Code", "Message"}``, whatever went wrong, even a body too large or too slow;
the body bounds and JSON rules in front of the routes answer in pushgate's own shape. So this
path is answered here, outside them, with the same bounds (the body limit, the body timeout,
the shared budget) and the same JSON input rules, each refusal in the source's own way:
the contract for ``datanotifier``, pushgate's error shape for ``standard-webhooks``.

The source is known from the path before the body is read, so the way to answer is too. A
request for no known source answers the contract when it says it is a DataNotifier
(its User-Agent), else pushgate's 404.

The FastAPI route in ``api/routes/inbound.py`` documents the endpoint in ``/openapi.json``
and answers every other method (405).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from pushgate.api.errors import error_response
from pushgate.api.json_rules import NotJson, parse_body
from pushgate.api.limits import BodyBudget, drain
from pushgate.core.inbound import Inbound
from pushgate.core.inbound_refusals import InboundRefused, Refusal
from pushgate.core.record_events import Recorded
from pushgate.delivery.metrics import DeliveryMetrics

PREFIX = "/v1/inbound/"
_PATH = re.compile(r"^/v1/inbound/([^/]{1,64})$")
_JSON = [(b"content-type", b"application/json")]
OK = {"Success": True, "Code": 0, "Message": "OK"}


class InboundEndpoint:
    """Pure ASGI: answers ``POST /v1/inbound/{source}`` itself, hands the rest to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        inbound: Inbound,
        metrics: DeliveryMetrics,
        *,
        max_bytes: int,
        body_seconds: float,
        budget: BodyBudget,
        route: BaseRoute | None = None,
    ) -> None:
        self.app = app
        self.inbound = inbound
        self.metrics = metrics
        self.max_bytes = max_bytes
        self.body_seconds = body_seconds
        self.budget = budget
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            found = _PATH.match(scope["path"])
            if found is not None:
                if self.route is not None:
                    scope["route"] = self.route
                await self._serve(found.group(1), scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _serve(self, source_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        contract = _says_datanotifier(headers)
        try:
            source = await self.inbound.find(source_id)
            contract = source.spec.kind == "datanotifier"
            admitted = await self.inbound.admit(source, headers)
            raw = await self._body(headers, receive)
            key = self.inbound.verify(admitted, headers, raw)
            await self.inbound.count(admitted)
            try:
                body, problem = parse_body(raw)
            except NotJson as exc:
                raise InboundRefused(Refusal.MALFORMED_JSON, f"not JSON: {exc}") from exc
            if problem is not None:
                where = problem.path or "body"
                raise InboundRefused(Refusal.MALFORMED_JSON, f"{where}: {problem.problem}")
            recorded = await self.inbound.accept(admitted, body, key)
        except InboundRefused as exc:
            self.metrics.inbound(
                source_id if exc.reason != Refusal.UNKNOWN_SOURCE else "-", exc.reason.value
            )
            await _refusal(exc, contract, scope, receive, send)
            return
        self.metrics.inbound(source_id, "stored" if recorded.created else "repeat")
        await _accepted(recorded, contract, send)

    async def _body(self, headers: Mapping[str, str], receive: Receive) -> bytes:
        """The whole body within the bounds every route's body meets (api/limits.py)."""
        declared = headers.get("content-length", "")
        size = int(declared) if declared.isdigit() else 0
        if size > self.max_bytes:
            await drain(receive)
            raise _too_large(self.max_bytes)
        if not self.budget.take(size):
            raise InboundRefused(
                Refusal.UNAVAILABLE, "the server holds all the bodies it may", retry_after=1
            )
        held = size
        chunks: list[bytes] = []
        seen = 0
        try:
            async with asyncio.timeout(self.body_seconds):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        raise InboundRefused(Refusal.TOO_SLOW, "the body ended early")
                    chunk = message.get("body", b"")
                    seen += len(chunk)
                    if seen > self.max_bytes:
                        raise _too_large(self.max_bytes)
                    if seen > held:
                        if not self.budget.take(seen - held):
                            raise InboundRefused(
                                Refusal.UNAVAILABLE,
                                "the server holds all the bodies it may",
                                retry_after=1,
                            )
                        held = seen
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise InboundRefused(
                Refusal.TOO_SLOW, f"the body did not arrive within {self.body_seconds:g} s"
            ) from None
        finally:
            self.budget.give_back(held)


def _too_large(max_bytes: int) -> InboundRefused:
    return InboundRefused(Refusal.TOO_LARGE, f"the body exceeds {max_bytes} bytes")


async def _accepted(recorded: Recorded, contract: bool, send: Send) -> None:
    if contract:
        await _send_json(send, 200, OK)
        return
    status = 202 if recorded.created else 200
    body = {
        "id": recorded.event.id,
        "created": recorded.created,
        "state": recorded.event.state.value,
    }
    await _send_json(send, status, body)


async def _refusal(
    exc: InboundRefused, contract: bool, scope: Scope, receive: Receive, send: Send
) -> None:
    answer = exc.answer
    extra: list[tuple[bytes, bytes]] = []
    if exc.retry_after is not None:
        extra.append((b"retry-after", str(max(1, exc.retry_after)).encode()))
    if exc.reason in (Refusal.TOO_LARGE, Refusal.TOO_SLOW):
        extra.append((b"connection", b"close"))  # the rest of the body is not read
    if contract:
        body = {"Success": False, "Code": answer.code, "Message": exc.message}
        await _send_json(send, answer.status, body, extra)
        return
    response = error_response(answer.status, exc.reason.value, exc.message)
    response.raw_headers.extend(extra)
    await response(scope, receive, send)


async def _send_json(
    send: Send,
    status: int,
    body: dict[str, Any],
    extra: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    content = orjson.dumps(body)
    headers = [(b"content-length", str(len(content)).encode()), *_JSON, *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name, the first of each."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        found.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return found


def _says_datanotifier(headers: Mapping[str, str]) -> bool:
    return headers.get("user-agent", "").split("/", 1)[0].split(" ", 1)[0] == "DataNotifier"
