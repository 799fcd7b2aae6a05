"""The API key is checked from the request's headers, before anything reads its body.

FastAPI reads and parses a body before it resolves a route's dependencies, so a key
checked as a dependency lets anyone make the server take in a body first. Here a request
under ``/v1`` (but ``/v1/push/``, where devices answer with a response token) that
announces a body and has no valid key is answered 401 at once, its body never read and
its connection closed (the unread bytes are not worth draining). The
caller found is left in the request's state for the ``caller`` dependency. A request
without a body has nothing to hold, so it is routed first and authenticated by that
dependency as before (an unknown path stays a 404).

Both paths authenticate through ``admitted``, which also takes the request from its key's
and tenant's rate limits (``core/rate_limits.py``): a spent limit is a 429 before the body
is read, too. The limits a request met are left in its state, and every answer under
``/v1`` carries them as RateLimit headers (``api/ratelimit_headers.py``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pushgate.api.errors import domain_response
from pushgate.api.ratelimit_headers import limit_headers
from pushgate.api.scope_headers import header
from pushgate.core.access import Access, Caller
from pushgate.core.rate_limits import RateLimits, Verdict
from pushgate.errors import PushgateError

# Every route under it needs a key (docs/architecture.md §4); the rest (health, metrics,
# API docs, the console's static page) are public.
KEYED_PREFIX = "/v1/"
CALLER_STATE = "pushgate.caller"
LIMITS_STATE = "pushgate.limits"


class KeyGate:
    """Pure ASGI middleware: 401 from the headers alone, before the body is read."""

    def __init__(
        self,
        app: ASGIApp,
        access: Access,
        limits: RateLimits,
        *,
        open_prefixes: tuple[str, ...] = (),
    ) -> None:
        """``open_prefixes``: paths under ``/v1/`` whose routes authenticate otherwise (the
        answers devices post with a response token, api/routes/answers.py)."""
        self.app = app
        self.access = access
        self.limits = limits
        self.open_prefixes = open_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if not path.startswith(KEYED_PREFIX) or path.startswith(self.open_prefixes):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_limits(message: Message) -> None:
            met: tuple[Verdict, ...] = state.get(LIMITS_STATE, ())
            if message["type"] == "http.response.start" and met:
                extra = [(k.lower().encode(), v.encode()) for k, v in limit_headers(met).items()]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        if not announces_body(scope):
            await self.app(scope, receive, send_with_limits)
            return
        try:
            client = scope.get("client")
            origin = client[0] if client else ""  # the audit log's "from where"
            caller = await admitted(
                self.access, self.limits, scope, header(scope, b"authorization"), origin
            )
        except PushgateError as exc:
            answer = domain_response(exc)
            answer.headers["connection"] = "close"
            await answer(scope, receive, send)
            return
        state[CALLER_STATE] = caller
        await self.app(scope, receive, send_with_limits)


async def admitted(
    access: Access, limits: RateLimits, scope: Scope, authorization: str | None, origin: str
) -> Caller:
    """The request's caller, once authenticated and taken from its rate limits (which are
    noted in the request's state for the answer's headers)."""
    caller = await access.authenticate(authorization, origin)
    scope.setdefault("state", {})[LIMITS_STATE] = await limits.admit(caller.key)
    return caller


def note_limits(scope: Scope, met: tuple[Verdict, ...]) -> None:
    """Add limits a request met past authentication (a send's) to its answer's headers."""
    if met:
        state = scope.setdefault("state", {})
        state[LIMITS_STATE] = (*state.get(LIMITS_STATE, ()), *met)


def known_caller(scope: Scope) -> Caller | None:
    """The caller ``KeyGate`` authenticated for this request, if it did."""
    found = scope.get("state", {}).get(CALLER_STATE)
    return found if isinstance(found, Caller) else None


def announces_body(scope: Scope) -> bool:
    """Whether the request says a body follows (RFC 9112 §6.3): a non-zero
    Content-Length, or any Transfer-Encoding."""
    for key, value in scope["headers"]:
        if key == b"transfer-encoding" or (key == b"content-length" and value.strip(b"0")):
            return True
    return False
