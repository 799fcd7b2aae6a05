"""What a provider's answer means, as a value (docs/architecture.md §5).

Every status and reason string a provider can answer maps to exactly one of these; the
delivery rules (retry, prune, pause) act on the kind alone.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class OutcomeKind(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - an outcome name, not a secret
    REJECTED = "rejected"
    AUTH_FAILED = "auth_failed"


class RetryClass(StrEnum):
    """Which row of the retry table (``core/retry_table.py``) times a ``retry`` outcome:
    the provider and the kind of answer, since each provider asks for its own pace."""

    DEFAULT = "default"
    APNS_TOO_MANY_REQUESTS = "apns_too_many_requests"
    APNS_TOKEN_UPDATES = "apns_token_updates"  # noqa: S105 - a row name, not a secret
    APNS_UNAVAILABLE = "apns_unavailable"
    FCM_QUOTA_EXCEEDED = "fcm_quota_exceeded"
    FCM_UNAVAILABLE = "fcm_unavailable"
    WEBPUSH_TOO_MANY_REQUESTS = "webpush_too_many_requests"
    WNS_THROTTLED = "wns_throttled"
    HMS_FLOW_CONTROL = "hms_flow_control"


class Outcome(NamedTuple):
    """One delivery's result.

    ``retry_after`` is seconds from now (None: use the backoff policy); ``invalid_since``
    is when the provider says the token died (epoch ms; None: now); ``retry_class`` picks
    the retry table's row for a ``retry``. A tuple, not a frozen dataclass: one is made per
    delivery, and this builds in a third of the time.
    """

    kind: OutcomeKind
    reason: str = ""
    provider_message_id: str | None = None
    retry_after: float | None = None
    invalid_since: int | None = None
    status: int | None = None
    retry_class: RetryClass = RetryClass.DEFAULT


def sent(provider_message_id: str | None, status: int | None = None) -> Outcome:
    return Outcome(OutcomeKind.SENT, "", provider_message_id, None, None, status)


def retry(
    reason: str,
    after: float | None = None,
    status: int | None = None,
    retry_class: RetryClass = RetryClass.DEFAULT,
) -> Outcome:
    return Outcome(
        OutcomeKind.RETRY, reason, retry_after=after, status=status, retry_class=retry_class
    )


def invalid_token(reason: str, since: int | None = None, status: int | None = None) -> Outcome:
    return Outcome(OutcomeKind.INVALID_TOKEN, reason, invalid_since=since, status=status)


def rejected(reason: str, status: int | None = None) -> Outcome:
    return Outcome(OutcomeKind.REJECTED, reason, status=status)


def auth_failed(reason: str, status: int | None = None) -> Outcome:
    return Outcome(OutcomeKind.AUTH_FAILED, reason, status=status)
