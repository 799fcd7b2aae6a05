"""Which error statuses each keyed operation can answer, derived from what it takes.

Every keyed route is behind the same gates (api/keygate.py, api/limits.py,
api/json_gate.py) and reaches the domain the same way, so what can go wrong follows from
the operation's shape, not from a list typed per route: a body can be malformed or too
large, a parameter can be invalid, something named can be missing, a change can conflict.
``CAUSES`` is that one table; the document lists, of the statuses the routers declare, only
those an operation's shape can cause.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Shape:
    """What an operation takes, as its OpenAPI entry says."""

    method: str
    has_body: bool
    has_parameters: bool

    @classmethod
    def of(cls, method: str, operation: dict[str, Any]) -> Shape:
        return cls(
            method=method,
            has_body="requestBody" in operation,
            has_parameters=bool(operation.get("parameters")),
        )


def _always(_: Shape) -> bool:
    return True


def _takes_body(shape: Shape) -> bool:
    return shape.has_body


def _takes_input(shape: Shape) -> bool:
    return shape.has_body or shape.has_parameters


def _changes_state(shape: Shape) -> bool:
    return shape.method != "get"


CAUSES: dict[int, Callable[[Shape], bool]] = {
    # The body is not JSON (api/json_gate.py); an operation without a body reads none.
    400: _takes_body,
    # No key, an unknown, revoked or expired one (api/keygate.py).
    401: _always,
    # The key's scopes or tenant do not cover the operation.
    403: _always,
    # Whatever the path, a query or the body names (an app, a tenant, a user) may not exist.
    404: _takes_input,
    # Creating, changing or deleting can meet state that forbids it; reading cannot.
    409: _changes_state,
    # The body is over its bound (api/limits.py).
    413: _takes_body,
    # A parameter or a field is invalid.
    422: _takes_input,
    # A rate limit of the key, the tenant or the instance (api/keygate.py).
    429: _always,
}


def keep_answerable_statuses(
    document: dict[str, Any], *, prefix: str, skip: tuple[str, ...]
) -> None:
    """Drop, from each operation under ``prefix`` (but not under ``skip``), the error
    statuses of ``CAUSES`` its shape cannot cause."""
    for path, operations in document["paths"].items():
        if not path.startswith(prefix) or path.startswith(skip):
            continue
        for method, operation in operations.items():
            shape = Shape.of(method, operation)
            responses = operation["responses"]
            for status, caused in CAUSES.items():
                if not caused(shape):
                    responses.pop(str(status), None)
