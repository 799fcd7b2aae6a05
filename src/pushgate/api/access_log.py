"""The access log and the HTTP metrics: one line and one observation per request, under
a request id (docs/operations.md, "Logs" and "Metrics").

The request id is the client's ``X-Request-ID`` when it is a short token (a proxy in front
may have set it, so the two logs join), else a new one; either way it is answered in
``X-Request-ID``. Requests are counted by route template (``/v1/devices/{device_id}``),
never by raw path, so the series stay as few as the routes.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pushgate.core.ids import new_id
from pushgate.delivery.metrics import DeliveryMetrics

log = logging.getLogger("pushgate.access")
REQUEST_ID_HEADER = b"x-request-id"
# What a request id given by the client may be: a token short enough to log as it is.
_GIVEN_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
# The label of a request no route answers: one series for every unknown path.
UNMATCHED = "<unmatched>"
# Methods named in the metrics as they are; any other is ``OTHER`` (a client may send any).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class AccessLog:
    """Pure ASGI middleware, outermost: it sees every answer, the one error shape's 500
    included, and times the whole of it."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: DeliveryMetrics,
        routes: Callable[[], list[BaseRoute]],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500  # what the client gets should the app fail before answering

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0] != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            seconds = time.perf_counter() - started
            route = self._route(scope)
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.metrics.request(method, route, status, seconds)
            _write(scope, request_id, route, status, seconds)

    def _route(self, scope: Scope) -> str:
        """The template of the route that answered; for a request refused before routing
        (no key, a body too large), the one it was for."""
        route = scope.get("route")
        if route is None:
            for candidate in self.routes():
                match, _ = candidate.matches(scope)
                if match is not Match.NONE:
                    route = candidate
                    break
        path = getattr(route, "path", None)
        return path if isinstance(path, str) and path else UNMATCHED


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and _GIVEN_ID.fullmatch(value):
            given: str = value.decode()
            return given
    return new_id()


def _write(scope: Scope, request_id: str, route: str, status: int, seconds: float) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    client = scope.get("client")
    address = client[0] if client else "-"
    path = scope["path"]
    milliseconds = round(seconds * 1000, 1)
    log.info(
        "%s %s %s %d %.1f ms request_id=%s",
        address,
        scope["method"],
        path,
        status,
        milliseconds,
        request_id,
        extra={
            "event": "http.request",
            "request_id": request_id,
            "client": address,
            "method": scope["method"],
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": milliseconds,
        },
    )
