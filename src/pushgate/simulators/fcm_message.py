"""FCM HTTP v1 request rules and Google's error bodies (docs/providers.md §2.3–§2.5).

Checks raise :class:`FcmRejected`; :meth:`FcmRejected.body` renders the Google API error
shape with ``FcmError`` and ``google.rpc.BadRequest`` details.
"""

from __future__ import annotations

import re
from typing import Any

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
QUOTA_FAILURE_TYPE = "type.googleapis.com/google.rpc.QuotaFailure"
PAYLOAD_LIMIT = 4096
TOPIC_PAYLOAD_LIMIT = 2048  # per the ErrorCode page (§2.4)
MAX_TTL_SECONDS = 2_419_200  # four weeks (§2.3)

# errorCode → (HTTP status, google.rpc status, message) (§2.5).
ERRORS: dict[str, tuple[int, str, str]] = {
    "INVALID_ARGUMENT": (400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found."),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch"),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for sending messages."),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered."),
    "THIRD_PARTY_AUTH_ERROR": (401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service"),
}
UNAUTHENTICATED_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)

_REQUEST_FIELDS = frozenset({"message", "validate_only"})
_MESSAGE_FIELDS = frozenset(
    {"name", "data", "notification", "android", "webpush", "apns", "fcm_options"}
    | {"token", "topic", "condition"}
)
_TARGETS = ("token", "topic", "condition")
_RESERVED_KEYS = frozenset({"from", "message_type", "gcm"})
_RESERVED_PREFIXES = ("google.", "gcm.notification.")
_TOKEN = re.compile(r"[A-Za-z0-9_:\-.]{1,4096}")
_TOPIC = re.compile(r"[a-zA-Z0-9\-_.~%]{1,900}")
_TTL = re.compile(r"(\d+)(\.\d{1,9})?s")


class FcmRejected(Exception):
    """An error answer. ``error_code`` is the FcmError code, or None for generic Google
    errors (UNAUTHENTICATED, PERMISSION_DENIED) that carry no FcmError detail."""

    def __init__(
        self,
        status: int,
        google_status: str,
        message: str,
        error_code: str | None = None,
        violations: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.google_status = google_status
        self.message = message
        self.error_code = error_code
        self.violations = violations or []
        self.headers: list[tuple[str, str]] = []

    @classmethod
    def of(cls, error_code: str, message: str | None = None) -> FcmRejected:
        status, google_status, default_message = ERRORS[error_code]
        return cls(status, google_status, message or default_message, error_code)

    @classmethod
    def invalid(cls, description: str, field: str | None = None) -> FcmRejected:
        violation = (
            {"description": description}
            if field is None
            else {
                "field": field,
                "description": description,
            }
        )
        return cls(400, "INVALID_ARGUMENT", description, "INVALID_ARGUMENT", [violation])

    def body(self) -> dict[str, Any]:
        details: list[dict[str, Any]] = []
        if self.error_code is not None:
            details.append({"@type": FCM_ERROR_TYPE, "errorCode": self.error_code})
        if self.violations:
            details.append({"@type": BAD_REQUEST_TYPE, "fieldViolations": self.violations})
        error: dict[str, Any] = {
            "code": self.status,
            "message": self.message,
            "status": self.google_status,
        }
        if details:
            error["details"] = details
        return {"error": error}


def parse_request(document: Any) -> tuple[dict[str, Any], bool]:
    """The ``message`` and ``validate_only`` of a send request, shape-checked."""
    if not isinstance(document, dict):
        raise FcmRejected.invalid("Invalid JSON payload received. Expected an object.")
    for name in document:
        if name not in _REQUEST_FIELDS:
            raise FcmRejected.invalid(
                f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
            )
    validate_only = document.get("validate_only", False)
    if not isinstance(validate_only, bool):
        raise FcmRejected.invalid(
            f"Invalid value at 'validate_only' (TYPE_BOOL), {validate_only!r}", "validate_only"
        )
    message = document.get("message")
    if not isinstance(message, dict):
        raise FcmRejected.invalid("Request contains an invalid argument.", "message")
    return message, validate_only


def check_message(message: dict[str, Any]) -> tuple[str, str]:
    """Validate a message; returns its target kind and value (§2.3, §2.4)."""
    for name in message:
        if name not in _MESSAGE_FIELDS:
            raise FcmRejected.invalid(
                f"Invalid JSON payload received. Unknown name \"{name}\" at 'message': "
                "Cannot find field."
            )
    kind, target = _target(message)
    size = _check_data(message.get("data"), "message.data")
    android = message.get("android")
    if android is not None:
        size += _check_android(android)
    size += _notification_size(message.get("notification"))
    limit = PAYLOAD_LIMIT if kind == "token" else TOPIC_PAYLOAD_LIMIT
    if size > limit:
        raise FcmRejected.of("INVALID_ARGUMENT", "Message is too big")
    return kind, target


def _target(message: dict[str, Any]) -> tuple[str, str]:
    present = [name for name in _TARGETS if name in message]
    if not present:
        raise FcmRejected.of("INVALID_ARGUMENT", "Recipient of the message is not set.")
    if len(present) > 1:
        raise FcmRejected.invalid(
            "Invalid value at 'message' (oneof), oneof field 'target' is already set. "
            f"Cannot set '{present[1]}'",
            "message",
        )
    kind = present[0]
    value = message[kind]
    if kind == "token" and (not isinstance(value, str) or not _TOKEN.fullmatch(value)):
        raise FcmRejected.of(
            "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"
        )
    if kind == "topic" and (not isinstance(value, str) or not _TOPIC.fullmatch(value)):
        raise FcmRejected.invalid("Invalid topic name", "message.topic")
    if kind == "condition" and (not isinstance(value, str) or value.count(" in topics") > 5):
        raise FcmRejected.invalid("Invalid condition expression", "message.condition")
    return kind, value


def _check_data(data: Any, field: str) -> int:
    """``data`` is a map of string to string without reserved keys; returns its size."""
    if data is None:
        return 0
    if not isinstance(data, dict):
        raise FcmRejected.invalid(f"Invalid value at '{field}' (type.googleapis.com/Map)", field)
    size = 0
    for index, (key, value) in enumerate(data.items()):
        if not isinstance(value, str):
            where = f"{field}[{index}].value"
            raise FcmRejected.invalid(
                f"Invalid value at '{where}' (TYPE_STRING), {_json_text(value)}", where
            )
        if key in _RESERVED_KEYS or key.startswith(_RESERVED_PREFIXES):
            raise FcmRejected.invalid(f"Invalid data payload key: {key}", field)
        size += len(key.encode()) + len(value.encode())
    return size


def _check_android(android: Any) -> int:
    if not isinstance(android, dict):
        raise FcmRejected.invalid("Invalid value at 'message.android'", "message.android")
    ttl = android.get("ttl")
    if ttl is not None:
        match = _TTL.fullmatch(ttl) if isinstance(ttl, str) else None
        if match is None or int(match.group(1)) > MAX_TTL_SECONDS:
            field = "message.android.ttl"
            raise FcmRejected.invalid(
                f"Invalid value at '{field}' (type.googleapis.com/google.protobuf.Duration), "
                f"{_json_text(ttl)}",
                field,
            )
    priority = android.get("priority")
    if priority is not None and priority not in ("NORMAL", "HIGH"):
        field = "message.android.priority"
        raise FcmRejected.invalid(
            f"Invalid value at '{field}' (type.googleapis.com/"
            f"google.firebase.fcm.v1.AndroidMessagePriority), {_json_text(priority)}",
            field,
        )
    return _check_data(android.get("data"), "message.android.data")


def _notification_size(notification: Any) -> int:
    if not isinstance(notification, dict):
        return 0
    return sum(len(str(value).encode()) for value in notification.values())


def _json_text(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)
