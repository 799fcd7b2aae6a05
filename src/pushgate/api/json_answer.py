"""A JSON answer sent as it is: what Starlette's ``JSONResponse`` sends, without
serialising through the standard library (the endpoints served ahead of FastAPI)."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

_JSON_HEADERS = [(b"content-type", b"application/json")]


class JsonAnswer:
    """``content``: the body, already JSON."""

    __slots__ = ("content", "status")

    def __init__(self, status: int, content: bytes) -> None:
        self.status = status
        self.content = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-length", str(len(self.content)).encode()), *_JSON_HEADERS]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.content})
