"""The API key is checked from the request's headers, before anything reads its body.

FastAPI reads and parses a body before it resolves a route's dependencies, so a key
checked as a dependency lets anyone make the server take in a body first. Here a request
under ``/v1`` that announces a body and has no valid key is answered 401 at once, its body
never read and its connection closed (the unread bytes are not worth draining). The
caller found is left in the request's state for the ``caller`` dependency. A request
without a body has nothing to hold, so it is routed first and authenticated by that
dependency as before (an unknown path stays a 404).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from pushgate.api.errors import error_response, status_of
from pushgate.core.access import Access, Caller
from pushgate.errors import PushgateError

# Every route under it needs a key (docs/architecture.md §4); the rest (health, metrics,
# API docs, the console's static page) are public.
KEYED_PREFIX = "/v1/"
CALLER_STATE = "pushgate.caller"


class KeyGate:
    """Pure ASGI middleware: 401 from the headers alone, before the body is read."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope["path"].startswith(KEYED_PREFIX)
            or not announces_body(scope)
        ):
            await self.app(scope, receive, send)
            return
        try:
            client = scope.get("client")
            origin = client[0] if client else ""  # the audit log's "from where"
            caller = await self.access.authenticate(_header(scope, b"authorization"), origin)
        except PushgateError as exc:
            answer = error_response(status_of(exc), exc.code, exc.message, exc.details)
            answer.headers["connection"] = "close"
            await answer(scope, receive, send)
            return
        scope.setdefault("state", {})[CALLER_STATE] = caller
        await self.app(scope, receive, send)


def known_caller(scope: Scope) -> Caller | None:
    """The caller ``KeyGate`` authenticated for this request, if it did."""
    found = scope.get("state", {}).get(CALLER_STATE)
    return found if isinstance(found, Caller) else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def announces_body(scope: Scope) -> bool:
    """Whether the request says a body follows (RFC 9112 §6.3): a non-zero
    Content-Length, or any Transfer-Encoding."""
    for key, value in scope["headers"]:
        if key == b"transfer-encoding" or (key == b"content-length" and value.strip(b"0")):
            return True
    return False
