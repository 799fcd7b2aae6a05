"""Reading a request's headers from its ASGI scope, as the pure-ASGI layers do."""

from __future__ import annotations

from starlette.types import Scope


def header(scope: Scope, name: bytes) -> str | None:
    """The first header called ``name`` (lower case, as ASGI gives names), as Starlette
    reads it (latin-1); None when absent."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None
