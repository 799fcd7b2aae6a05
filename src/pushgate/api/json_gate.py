"""Pure ASGI middleware: every request's JSON body, path and query meet the input rules
before a route reads them; a request that breaks one is answered 422 here.

The body is read whole (the body limit outside this bounds it), judged by
:func:`~pushgate.api.json_rules.check_body`, then handed on to the app unchanged. The path and
query are judged for the NUL character: decoded from ``%00``, PostgreSQL cannot compare it
with text, SQLite can; refused on every backend alike.
"""

from __future__ import annotations

from email.message import Message as HeaderValue
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pushgate.api.errors import error_response
from pushgate.api.json_rules import JsonProblem, NotJson, check_body


class JsonGate:
    """``raw_prefixes``: paths whose routes judge their own body (the answer routes, which
    push an error to the device whose answer they could not read; the interactions route,
    which parses its body once with the rules' own parser)."""

    def __init__(self, app: ASGIApp, raw_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.raw_prefixes = raw_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _url_problem(scope)
        raw = scope["path"].startswith(self.raw_prefixes) if self.raw_prefixes else False
        if problem is None and not raw and is_json(scope):
            body, ended = await read_body(receive)
            if body:
                try:
                    problem = check_body(body)
                except NotJson:
                    # As the routes answer it; read here, not there: the routes' parser
                    # would let UTF-8-encoded surrogates through.
                    answer = error_response(
                        400, "malformed_json", "the request body is not valid JSON"
                    )
                    await answer(scope, receive, send)
                    return
            receive = replay(body, ended, receive)
        if problem is None:
            await self.app(scope, receive, send)
            return
        answer = error_response(
            422,
            "validation_failed",
            problem.message,
            {"field": problem.path or "body", "reason": problem.problem},
        )
        await answer(scope, receive, send)


def _url_problem(scope: Scope) -> JsonProblem | None:
    if "\x00" in scope["path"]:
        return JsonProblem("path", "contains the NUL character (U+0000)")
    query = scope.get("query_string", b"")
    if b"%00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return JsonProblem(name.replace("\x00", ""), "contains the NUL character (U+0000)")
    return None


def is_json(scope: Scope) -> bool:
    """As the routes read bodies: JSON when declared ``application/json`` or ``+json``, or
    when no type is declared."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            header = HeaderValue()
            header["content-type"] = value.decode("latin-1")
            subtype = header.get_content_subtype()
            return header.get_content_maintype() == "application" and (
                subtype == "json" or subtype.endswith("+json")
            )
    return True


async def read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    """The whole body, and the messages that ended the read (a disconnect, say), to hand on."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), []


def replay(body: bytes, ended: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, once, then reads on."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    pending += ended

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
