"""Reading ``Retry-After`` (RFC 9110 §10.2.3): delay seconds or an HTTP date."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

# A provider asking for more than a day is treated as asking for a day; the retry policy
# caps it again by the message's TTL.
MAX_RETRY_AFTER = 86_400.0


def parse_retry_after(value: bytes | None, now: float) -> float | None:
    """Seconds to wait from ``now`` (epoch seconds), or None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None  # RFC 9110 §5.6.7: an HTTP date is always GMT; a bare one is malformed
    return min(max(moment.timestamp() - now, 0.0), MAX_RETRY_AFTER)
