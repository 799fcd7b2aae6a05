"""What every API answer must look like, and how a request presents a key."""

from __future__ import annotations

from typing import Any

import httpx


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def error_of(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the one error shape (docs/architecture.md §4) and return its ``error`` object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str)
    assert error["code"] == error["code"].lower()
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], dict)
    if code is not None:
        assert error["code"] == code, error
    return error


def field_of(response: httpx.Response) -> str:
    """The field a 422 names: ``details.field``, or the first of ``details.errors``."""
    error = error_of(response, 422)
    details = error["details"]
    if "field" in details:
        return str(details["field"])
    return str(details["errors"][0]["field"])


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None
