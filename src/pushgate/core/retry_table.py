"""How long to wait before trying a delivery again, per provider and kind of answer.

One row per :class:`~pushgate.core.outcomes.RetryClass`: the first wait, the longest
wait, whether the provider's ``Retry-After`` (or WNS's ``X-WNS-CONTINUE-AFTER``) is
followed, and the shortest wait the provider documents. Without a ``Retry-After`` the waits
double from the first up to the longest, with "equal jitter" (half fixed, half random) so
that an outage does not end in a synchronized stampede. With one, the provider has named its
own figure: pushgate waits exactly that long (never less than the row's documented minimum,
``floor_seconds``), because our first waits are only our choice where the provider names
none, and the row's comment says so (docs/providers.md §7).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from types import MappingProxyType

from pushgate.core.outcomes import RetryClass


@dataclass(frozen=True, slots=True)
class Backoff:
    """One row: waits double from ``initial_seconds`` up to ``cap_seconds``; a followed
    ``Retry-After`` replaces them, but never goes below ``floor_seconds``."""

    initial_seconds: float
    cap_seconds: float
    honours_retry_after: bool = True
    # Retry-After is given in whole seconds (RFC 9110 §10.2.3); a zero or fractional one
    # still waits a second, so that a provider answering "0" cannot make a busy loop.
    floor_seconds: float = 1.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): between the
        attempt's step and twice it, the step doubling from ``initial_seconds``; at most
        ``cap_seconds`` (then between half of it and all of it)."""
        ceiling = min(self.cap_seconds, self.initial_seconds * 2.0 ** max(1, attempt))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


RETRY_TABLE: MappingProxyType[RetryClass, Backoff] = MappingProxyType(
    {
        # Timeouts, lost connections, 429/5xx answers no row below names, and a webhook
        # receiver's 429/502/503/504 (a schedule near Svix's 5 s, 5 min…, docs/providers.md
        # §6.3-6.4). Apple suggests backing off towards ~15 minutes on 5xx (§1.6).
        RetryClass.DEFAULT: Backoff(1.0, 900.0),
        # 429 TooManyRequests: too many in a row to one device; "retry after a delay"
        # (docs/providers.md §1.6) (the delay: our choice).
        RetryClass.APNS_TOO_MANY_REQUESTS: Backoff(60.0, 900.0),
        # 429 TooManyProviderTokenUpdates: a new token within 20 minutes of the last
        # (docs/providers.md §1.5); wait until one may be sent, up to that window.
        RetryClass.APNS_TOKEN_UPDATES: Backoff(60.0, 1200.0),
        # 500 InternalServerError, 503 ServiceUnavailable: retry with backoff, Apple
        # suggesting ~15 minutes (docs/providers.md §1.6) (the first wait: our choice).
        RetryClass.APNS_UNAVAILABLE: Backoff(30.0, 900.0),
        # 429 QUOTA_EXCEEDED: exponential backoff from at least one minute for the
        # project's quota, a Retry-After followed but never below that minute
        # (docs/providers.md §2.5).
        RetryClass.FCM_QUOTA_EXCEEDED: Backoff(60.0, 900.0, floor_seconds=60.0),
        # 503 UNAVAILABLE, 500 INTERNAL: Retry-After, else 1 s, 2 s, 4 s… with jitter
        # (docs/providers.md §2.5).
        RetryClass.FCM_UNAVAILABLE: Backoff(1.0, 900.0),
        # 429: wait Retry-After, then retry (docs/providers.md §3.1) (without one: our choice).
        RetryClass.WEBPUSH_TOO_MANY_REQUESTS: Backoff(30.0, 900.0),
        # 406 sender throttled, or 200 with X-WNS-Status: channelthrottled: slow down,
        # honour X-WNS-CONTINUE-AFTER (docs/providers.md §4.4) (without one: our choice).
        RetryClass.WNS_THROTTLED: Backoff(60.0, 3600.0),
        # 503 flow control: spread sending, retry later (docs/providers.md §5.3); the wait
        # is our choice.
        RetryClass.HMS_FLOW_CONTROL: Backoff(30.0, 900.0),
    }
)
