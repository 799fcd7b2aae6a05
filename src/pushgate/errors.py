"""The one error tree of pushgate.

Every error a caller can see has a stable snake_case ``code``. HTTP statuses are not
decided here: ``api/errors.py`` maps each class to a status in one table.
"""

from __future__ import annotations

from typing import Any


class PushgateError(Exception):
    """Base of every error pushgate reports to its callers."""

    code = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class ConfigError(PushgateError):
    """A setting is unknown or malformed; raised at start, naming the key."""

    code = "config_invalid"


class InvalidInput(PushgateError):
    """Input that parsed but breaks a rule (a field is named in ``details``)."""

    code = "validation_failed"


class PayloadRefused(InvalidInput):
    """A provider the app sends with would refuse the message as given (a reserved key, a
    malformed override); ``details`` names the provider and the field."""

    code = "payload_refused"


class NotFound(PushgateError):
    """The object does not exist, or is not visible to the caller's tenant."""

    code = "not_found"


class Conflict(PushgateError):
    """The request collides with existing state (a duplicate name, say)."""

    code = "conflict"


class IdempotencyKeyReused(Conflict):
    """An idempotency key came back with a request other than the one it was first sent with."""

    code = "idempotency_key_reused"


class Unauthenticated(PushgateError):
    """No credentials, or credentials that do not identify anyone."""

    code = "unauthenticated"


class Forbidden(PushgateError):
    """The caller is known but may not do this."""

    code = "forbidden"


class PayloadTooLarge(PushgateError):
    """A request body or a field exceeds its bound."""

    code = "payload_too_large"


class Unavailable(PushgateError):
    """A dependency (database, queue) cannot be reached right now."""

    code = "unavailable"


class UnreadableBody(PushgateError):
    """A request body that is not JSON, not an object, or has a field of the wrong type
    (the answer endpoint's, docs/actions.md "Answering a notification")."""

    code = "malformed_json"


class ResponseTokenInvalid(Unauthenticated):
    """A response token that is missing, malformed or not signed by this instance."""

    code = "response_token_invalid"


class ResponseTokenExpired(Unauthenticated):
    """A response token past its expiry: the push is too old to be answered."""

    code = "response_token_expired"


class InteractionTokenInvalid(Unauthenticated):
    """An interaction token that is malformed or not signed by this instance for the
    delivery and notification it is presented with."""

    code = "interaction_token_invalid"


class AppMismatch(Forbidden):
    """The token's notification belongs to another app than the route names."""

    code = "app_mismatch"


class DeviceMismatch(Forbidden):
    """The body names another device than the one the token was minted for."""

    code = "device_mismatch"


class ActionNotOffered(Conflict):
    """The action is the app's, but the answered notification did not offer it."""

    code = "action_not_offered"


class AlreadyAnswered(Conflict):
    """The delivery took another answer already, and only one of its kind counts."""

    code = "already_answered"


class HandlerFailed(PushgateError):
    """The action's handler failed for good; its code and message are in ``details``."""

    code = "handler_failed"
