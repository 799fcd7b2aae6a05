"""What an APNs answer means (docs/providers.md §1.6), as an :class:`Outcome`.

Every reason of the §1.6 table is listed; an unknown reason falls back on its status
class (5xx and 429 retry, other 4xx are permanent).
"""

from __future__ import annotations

import orjson

from pushgate.core import outcomes
from pushgate.core.outcomes import Outcome, RetryClass
from pushgate.providers.retry_after import parse_retry_after
from pushgate.providers.upstream_text import clean_detail
from pushgate.transport import Response

EXPIRED_PROVIDER_TOKEN = "ExpiredProviderToken"  # noqa: S105 - a reason, not a secret

# Request bugs: fix the request, don't resend it as is (§1.6, 400/404/405).
_REQUEST_ERRORS = frozenset(
    {
        "BadCollapseId",
        "BadExpirationDate",
        "BadMessageId",
        "BadPriority",
        "BadTopic",
        "DuplicateHeaders",
        "InvalidPushType",
        "MissingDeviceToken",
        "MissingTopic",
        "PayloadEmpty",
        "TopicDisallowed",
        "BadPath",
        "MethodNotAllowed",
        "PayloadTooLarge",
        "Forbidden",  # 403 Forbidden: never retry
    }
)
# The token is dead or not this app's: never retry, prune the device (§1.6, 400/410).
_DEAD_TOKENS = frozenset(
    {"BadDeviceToken", "DeviceTokenNotForTopic", "ExpiredToken", "Unregistered"}
)
# The credential is wrong for this environment or app: pause and tell the operator (403).
_CONFIG_ERRORS = frozenset(
    {
        "BadCertificate",
        "BadCertificateEnvironment",
        "InvalidProviderToken",
        "MissingProviderToken",
        "BadEnvironmentKeyIdInToken",
        # Only reached when a freshly minted token is rejected as expired too: the clock
        # is wrong, and waiting will not fix it.
        EXPIRED_PROVIDER_TOKEN,
    }
)
# Worth resending later, on this or a new connection (§1.6, §1.7), each at the pace of its
# row of the retry table; those resent on a new connection at once wait the default.
_TRANSIENT = {
    "IdleTimeout": RetryClass.DEFAULT,
    "UnrelatedKeyIdInToken": RetryClass.DEFAULT,
    "Shutdown": RetryClass.DEFAULT,
    "TooManyProviderTokenUpdates": RetryClass.APNS_TOKEN_UPDATES,
    "TooManyRequests": RetryClass.APNS_TOO_MANY_REQUESTS,
    "InternalServerError": RetryClass.APNS_UNAVAILABLE,
    "ServiceUnavailable": RetryClass.APNS_UNAVAILABLE,
}


def outcome_of(response: Response, apns_id: str, now: float) -> Outcome:
    """The outcome of one APNs response; ``now`` (epoch seconds) dates a Retry-After."""
    status = response.status
    if status == 200:
        sent_id = response.header(b"apns-id")
        return outcomes.sent(sent_id.decode() if sent_id else apns_id, status)
    reason, timestamp = _error_body(response.body)
    reason = reason or f"HTTP {status}"
    if reason in _DEAD_TOKENS or status == 410:
        return outcomes.invalid_token(reason, since=timestamp, status=status)
    if reason in _CONFIG_ERRORS:
        return outcomes.auth_failed(reason, status)
    if reason in _TRANSIENT or status == 429 or status >= 500:
        after = parse_retry_after(response.header(b"retry-after"), now)
        return outcomes.retry(reason, after, status, _retry_class(reason, status))
    if reason in _REQUEST_ERRORS:
        return outcomes.rejected(reason, status)
    if status == 403:
        return outcomes.auth_failed(reason, status)
    return outcomes.rejected(reason, status)


def _retry_class(reason: str, status: int) -> RetryClass:
    """The retry table's row for a transient answer; an unknown reason by its status."""
    known = _TRANSIENT.get(reason)
    if known is not None:
        return known
    return RetryClass.APNS_TOO_MANY_REQUESTS if status == 429 else RetryClass.APNS_UNAVAILABLE


def _error_body(body: bytes) -> tuple[str | None, int | None]:
    """``reason`` and the 410 ``timestamp`` (ms since epoch, number or string) of a body."""
    try:
        document = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(document, dict):
        return None, None
    reason = document.get("reason")
    # Apple's reasons are short identifiers (§1.6); a host behind a base URL override may
    # answer anything, so what is kept is cleaned and bounded (providers/upstream_text.py).
    reason = clean_detail(str(reason)) if reason else None
    return reason or None, _milliseconds(document.get("timestamp"))


def _milliseconds(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
