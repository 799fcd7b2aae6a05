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


class Outcome(NamedTuple):
    """One delivery's result.

    ``retry_after`` is seconds from now (None: use the backoff policy); ``invalid_since``
    is when the provider says the token died (epoch ms; None: now). A tuple, not a frozen
    dataclass: one is made per delivery, and this builds in a third of the time.
    """

    kind: OutcomeKind
    reason: str = ""
    provider_message_id: str | None = None
    retry_after: float | None = None
    invalid_since: int | None = None
    status: int | None = None


def sent(provider_message_id: str | None, status: int | None = None) -> Outcome:
    return Outcome(OutcomeKind.SENT, "", provider_message_id, None, None, status)


def retry(reason: str, after: float | None = None, status: int | None = None) -> Outcome:
    return Outcome(OutcomeKind.RETRY, reason, retry_after=after, status=status)


def invalid_token(reason: str, since: int | None = None, status: int | None = None) -> Outcome:
    return Outcome(OutcomeKind.INVALID_TOKEN, reason, invalid_since=since, status=status)


def rejected(reason: str, status: int | None = None) -> Outcome:
    return Outcome(OutcomeKind.REJECTED, reason, status=status)


def auth_failed(reason: str, status: int | None = None) -> Outcome:
    return Outcome(OutcomeKind.AUTH_FAILED, reason, status=status)
