"""What an FCM HTTP v1 answer means (docs/providers.md §2.5), as an :class:`Outcome`.

Errors are Google API errors; the ``FcmError`` detail's ``errorCode`` decides. Without
one, the generic status (``UNAUTHENTICATED``, ``PERMISSION_DENIED``…) and then the HTTP
status class decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from pushgate.core import outcomes
from pushgate.core.outcomes import Outcome, RetryClass
from pushgate.providers.retry_after import parse_retry_after
from pushgate.providers.upstream_text import clean_detail
from pushgate.transport import Response

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
UNAUTHENTICATED = "UNAUTHENTICATED"
# The phrase FCM uses when the registration token itself is malformed.
_BAD_TOKEN_PHRASE = "registration token"  # noqa: S105 - error text, not a secret

_DEAD_TOKENS = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH"})
_TRANSIENT = frozenset({"QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"})


@dataclass(frozen=True, slots=True)
class GoogleError:
    """The parts of a Google API error body that decide the outcome."""

    status: str = ""
    message: str = ""
    error_code: str | None = None
    violated_fields: list[str] = field(default_factory=list)


def outcome_of(response: Response, now: float) -> Outcome:
    """The outcome of one ``messages:send`` response; ``now`` dates a Retry-After."""
    status = response.status
    if status == 200:
        return outcomes.sent(_message_name(response.body), status)
    error = parse_error(response.body)
    code = error.error_code
    reason = code or error.status or f"HTTP {status}"
    if code in _DEAD_TOKENS or (code == "INVALID_ARGUMENT" and _is_token_invalid(error)):
        detail = f"{reason}: {error.message}" if code == "INVALID_ARGUMENT" else reason
        return outcomes.invalid_token(detail, status=status)
    if code == "THIRD_PARTY_AUTH_ERROR" or (code is None and status in (401, 403)):
        return outcomes.auth_failed(reason, status)
    if code in _TRANSIENT or status == 429 or status >= 500:
        after = parse_retry_after(response.header(b"retry-after"), now)
        # §2.5: a quota answer waits a minute at least; UNAVAILABLE and INTERNAL from 1 s.
        quota = code == "QUOTA_EXCEEDED" or (code is None and status == 429)
        pace = RetryClass.FCM_QUOTA_EXCEEDED if quota else RetryClass.FCM_UNAVAILABLE
        return outcomes.retry(reason, after, status, pace)
    if code == "INVALID_ARGUMENT":
        return outcomes.rejected(f"{reason}: {error.message}", status)
    if code is None and status == 404:
        return outcomes.auth_failed(f"{reason}: no such project", status)
    return outcomes.rejected(reason, status)


def parse_error(body: bytes) -> GoogleError:
    """The Google error of a body (``{"error": {...}}``); empty when unreadable."""
    try:
        document = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return GoogleError()
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return GoogleError()
    error_code: str | None = None
    fields: list[str] = []
    for detail in error.get("details") or ():
        if not isinstance(detail, dict):
            continue
        if detail.get("@type") == FCM_ERROR_TYPE and detail.get("errorCode"):
            error_code = str(detail["errorCode"])
        elif detail.get("@type") == BAD_REQUEST_TYPE:
            fields.extend(_violated_fields(detail))
    # Kept text is cleaned and bounded: it becomes a reason shown to the tenant, and a host
    # behind a base URL override may answer anything (providers/upstream_text.py).
    return GoogleError(
        clean_detail(str(error.get("status", "")), 64),
        clean_detail(str(error.get("message", ""))),
        clean_detail(error_code, 64) if error_code is not None else None,
        fields,
    )


def _violated_fields(detail: dict[str, Any]) -> list[str]:
    violations = detail.get("fieldViolations") or ()
    return [str(v.get("field")) for v in violations if isinstance(v, dict) and v.get("field")]


def _is_token_invalid(error: GoogleError) -> bool:
    """INVALID_ARGUMENT about the token itself: drop the token, not just the message."""
    if "message.token" in error.violated_fields:
        return True
    return not error.violated_fields and _BAD_TOKEN_PHRASE in error.message.lower()


def _message_name(body: bytes) -> str | None:
    if not body:
        return None  # orjson raises for an empty body, and raising costs ~1 µs
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    name = document.get("name") if isinstance(document, dict) else None
    return name if isinstance(name, str) else None
