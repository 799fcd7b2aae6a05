"""The one table from domain errors to HTTP, and the one error body shape.

Every error leaves as ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pushgate import errors
from pushgate.api.ratelimit_headers import refusal_headers
from pushgate.api.schemas import ErrorOut
from pushgate.core.rate_limits import RateLimited
from pushgate.outage import describe, is_outage, unavailable

log = logging.getLogger(__name__)

STATUS: dict[type[errors.PushgateError], int] = {
    errors.InvalidInput: 422,
    errors.PayloadRefused: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.PayloadTooLarge: 413,
    RateLimited: 429,
    errors.Unavailable: 503,
    errors.UnreadableBody: 400,
    # The handler is the host system behind pushgate: its failure is a gateway's
    # (RFC 9110 §15.6.3), not the device's request being wrong.
    errors.HandlerFailed: 502,
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


_MEANINGS = {
    400: "The body is not valid JSON.",
    401: "No API key, or an unknown or revoked one.",
    403: "The key's scopes do not allow this.",
    404: "Not found (or not in the caller's tenant).",
    409: "Conflicts with existing state.",
    413: "The request body is too large.",
    422: "A field is invalid; `details.field` names it.",
    429: "A rate limit is spent; `details.limit` names it, `Retry-After` says when to retry.",
    502: "The action's handler failed; its code and message are in `details`.",
    503: "Not ready.",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each with the one error shape."""
    return {status: {"model": ErrorOut, "description": _MEANINGS[status]} for status in statuses}


REGISTRY_ERRORS = documented(400, 401, 403, 404, 409, 413, 422, 429)


def status_of(exc: errors.PushgateError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def domain_response(exc: errors.PushgateError) -> JSONResponse:
    """The answer to a domain error, with the headers its status calls for."""
    response = error_response(status_of(exc), exc.code, exc.message, exc.details)
    if isinstance(exc, RateLimited):
        response.headers.update(refusal_headers(exc))
    return response


def body_validation_response(exc: ValidationError) -> JSONResponse:
    """The answer to a request body its model refused, as FastAPI answers the same
    refusal: the errors placed under ``body``, named from the body down."""
    problems = [{**item, "loc": ("body", *item["loc"])} for item in exc.errors()]
    return error_response(*_validation_details(RequestValidationError(problems)))


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


class Unexpected:
    """Pure ASGI middleware: an exception no handler answers becomes a 500 in the one error
    shape, logged here. Left to reach the server, it would answer 500 too, but then close
    the connection, so the client's next keep-alive request would meet a reset."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:
            if started:
                raise  # part of an answer is out: only closing the connection can end it
            if is_outage(exc):
                # The database (or the queue) is down: a moment's unavailability the
                # client may retry, not a fault of ours (docs/architecture.md §9).
                log.warning("%s %s: %s", scope["method"], scope["path"], describe(exc))
                outage = unavailable(_dependency(exc), exc)
                answer = error_response(503, outage.code, outage.message, outage.details)
            else:
                log.exception("unexpected error answering %s %s", scope["method"], scope["path"])
                answer = error_response(500, "internal_error", "internal error")
            await answer(scope, receive, send)


def _dependency(exc: BaseException) -> str:
    return "queue" if type(exc).__module__.startswith("redis") else "database"


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""
    app.add_middleware(Unexpected)

    @app.exception_handler(errors.PushgateError)
    async def _domain(_: Request, exc: errors.PushgateError) -> JSONResponse:
        return domain_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(*_validation_details(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        response = error_response(exc.status_code, code, str(exc.detail))
        # Keep the exception's headers: a 405 must list the allowed methods (RFC 9110 §15.5.6).
        response.headers.update(exc.headers or {})
        return response
