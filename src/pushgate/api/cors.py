"""Cross-origin access for what a web page and its service worker call (docs/clients.md).

A site's page registers its browser (``POST /v1/apps/{app}/devices`` after reading
``GET /v1/apps/{app}/webpush/vapid-public-key``), its service worker reports interactions
(``POST /v1/interactions``) and answers actions (``POST /v1/push/{app}/action/{id}``), and
the page imports the SDK (``/sdk/``): all from the site's origin, not pushgate's. The
Fetch standard's CORS protocol (https://fetch.spec.whatwg.org/#http-cors-protocol) lets
them: a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered here, and
the answers carry ``Access-Control-Allow-Origin``.

Any origin is allowed, and never with credentials: pushgate reads no cookie, so a foreign
page gains nothing a script outside a browser does not have; what authenticates is a key
or token the caller holds and sends itself. Every other path is left as it was: no CORS
header, so browsers keep other origins' scripts from reading the rest of the API.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pushgate.api.scope_headers import header

# The paths a browser client calls, with the methods it calls them with.
CROSS_ORIGIN_PATHS = (
    (re.compile(r"/sdk/[^/]+"), b"GET"),
    (re.compile(r"/v1/apps/[^/]+/webpush/vapid-public-key"), b"GET"),
    (re.compile(r"/v1/apps/[^/]+/devices"), b"POST"),
    (re.compile(r"/v1/interactions"), b"POST"),
    (re.compile(r"(/api/now)?/v1/push/[^/]+/action/[^/]+"), b"POST"),
    (re.compile(r"(/api/now)?/v1/push/responses/[^/]+"), b"GET"),
)
# Authorization (an API key, a response token) is never covered by a "*" (Fetch, "CORS
# non-wildcard request-header name"): named as it is.
ALLOWED_HEADERS = b"authorization, content-type, pushgate-user-token"
# What a script may read of an answer beyond the CORS-safelisted headers.
EXPOSED_HEADERS = b"retry-after, location, etag"
PREFLIGHT_MAX_AGE = b"86400"


def allowed_method(path: str) -> bytes | None:
    for pattern, method in CROSS_ORIGIN_PATHS:
        if pattern.fullmatch(path):
            return method
    return None


class CrossOrigin:
    """Pure ASGI: answers preflights of the browser clients' paths, marks their answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = allowed_method(scope["path"]) if scope["type"] == "http" else None
        if method is None or not header(scope, b"origin"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and header(scope, b"access-control-request-method"):
            await _preflight(method, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"access-control-allow-origin", b"*"),
                    (b"access-control-expose-headers", EXPOSED_HEADERS),
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, marked)


async def _preflight(method: bytes, send: Send) -> None:
    headers = [
        (b"access-control-allow-origin", b"*"),
        (b"access-control-allow-methods", method),
        (b"access-control-allow-headers", ALLOWED_HEADERS),
        (b"access-control-max-age", PREFLIGHT_MAX_AGE),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
