"""The one table from domain errors to HTTP, and the one error body shape.

Every error leaves as ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import ORJSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pushgate import errors

STATUS: dict[type[errors.PushgateError], int] = {
    errors.InvalidInput: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.PayloadTooLarge: 413,
    errors.Unavailable: 503,
    errors.ConfigError: 500,
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def status_of(exc: errors.PushgateError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> ORJSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return ORJSONResponse(body, status_code=status, headers=headers)


def _validation_details(exc: RequestValidationError) -> tuple[int, str, str, dict[str, Any]]:
    problems = []
    for item in exc.errors():
        if item.get("type") == "json_invalid":
            return 400, "malformed_json", "the request body is not valid JSON", {}
        # Never echo the input back: it may hold a secret.
        location = [str(part) for part in item.get("loc", ())]
        problems.append({"field": ".".join(location[1:]) or location[0], "problem": item["msg"]})
    first = problems[0] if problems else {"field": "?", "problem": "invalid"}
    message = f"{first['field']}: {first['problem']}"
    return 422, "validation_failed", message, {"errors": problems[:50]}


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    @app.exception_handler(errors.PushgateError)
    async def _domain(_: Request, exc: errors.PushgateError) -> ORJSONResponse:
        return error_response(status_of(exc), exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> ORJSONResponse:
        return error_response(*_validation_details(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> ORJSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))
