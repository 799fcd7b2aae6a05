"""Why an inbound request is refused, and how each kind of source says so
(docs/events.md, "Inbound sources").

One table: per reason, the ``Code`` a scheduling system's push notifier reads in the
``{"Success": false, "Code", "Message"}`` contract, the HTTP status both kinds answer
with, and the error code of pushgate's own shape that ``standard-webhooks`` sources get.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Refusal(StrEnum):
    UNKNOWN_SOURCE = "unknown_source"
    PAUSED = "source_paused"
    RATE_LIMITED = "rate_limited"
    NOT_DATANOTIFIER = "not_datanotifier"
    JWT_MISSING = "jwt_missing"
    JWT_INVALID = "jwt_invalid"
    JWT_EXPIRED = "jwt_expired"
    TOO_LARGE = "payload_too_large"
    TOO_SLOW = "request_timeout"
    MALFORMED_JSON = "malformed_json"
    UNKNOWN_TYPE = "unknown_notification_type"
    UNMAPPABLE = "unmappable_body"
    KEY_REUSED = "idempotency_key_reused"
    UNAVAILABLE = "unavailable"
    BAD_SIGNATURE = "signature_invalid"
    STALE_TIMESTAMP = "timestamp_out_of_tolerance"


@dataclass(frozen=True, slots=True)
class Answer:
    #: The contract's ``Code`` (0 is success and never a refusal's).
    code: int
    status: int


ANSWERS: dict[Refusal, Answer] = {
    Refusal.UNKNOWN_SOURCE: Answer(1, 404),
    # Paused and rate limited are the server's "not now": the sender retries later.
    Refusal.PAUSED: Answer(2, 503),
    Refusal.RATE_LIMITED: Answer(3, 429),
    Refusal.NOT_DATANOTIFIER: Answer(4, 400),
    Refusal.JWT_MISSING: Answer(5, 401),
    Refusal.JWT_INVALID: Answer(6, 401),
    Refusal.JWT_EXPIRED: Answer(7, 401),
    Refusal.TOO_LARGE: Answer(8, 413),
    Refusal.TOO_SLOW: Answer(9, 408),
    Refusal.MALFORMED_JSON: Answer(10, 400),
    Refusal.UNKNOWN_TYPE: Answer(11, 422),
    Refusal.UNMAPPABLE: Answer(12, 422),
    Refusal.KEY_REUSED: Answer(13, 409),
    Refusal.UNAVAILABLE: Answer(14, 503),
    Refusal.BAD_SIGNATURE: Answer(15, 401),
    Refusal.STALE_TIMESTAMP: Answer(16, 401),
}


class InboundRefused(Exception):
    """A request refused for ``reason``; ``message`` says what was wrong (never a secret)."""

    def __init__(self, reason: Refusal, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after

    @property
    def answer(self) -> Answer:
        return ANSWERS[self.reason]
