"""Why deliveries are tried again, as a short label, and the warning an operator reads
when they keep being tried again (docs/operations.md, "Logs").

A retry's own reason is the provider's text (``HTTP 503: upstream busy``), unbounded; the
label keeps what decides the pace: the retry table's row when the provider asked for a
pace of its own, else the HTTP status, else ``no_answer`` (the connection failed or
timed out). Metrics count by the label, and the warning is rate-limited by it.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from pushgate.core.clock import Clock
from pushgate.core.notifications import Notification
from pushgate.core.outcomes import Outcome, RetryClass

log = logging.getLogger(__name__)
# At most one warning per app, provider and reason label in this time.
WARNING_INTERVAL_MS = 60_000
NO_ANSWER = "no_answer"


def retry_label(outcome: Outcome) -> str:
    """The bounded label of a ``retry`` outcome's reason."""
    if outcome.retry_class is not RetryClass.DEFAULT:
        return outcome.retry_class.value
    if outcome.status is not None and 100 <= outcome.status <= 599:
        return f"http_{outcome.status}"
    return NO_ANSWER


@dataclass
class _Held:
    """Retries seen under one key since its last warning."""

    last_ms: int
    deliveries: int = 0


class RetryWarnings:
    """Warns that deliveries are being retried: the first time for an app, provider and
    reason label, then at most once per ``interval_ms`` on ``clock``, telling how many
    retries were held back since the last line."""

    def __init__(self, clock: Clock, interval_ms: int = WARNING_INTERVAL_MS) -> None:
        self.clock = clock
        self.interval_ms = interval_ms
        self._held: dict[tuple[str, str, str], _Held] = {}

    def retried(
        self,
        notification: Notification,
        provider: str,
        retried: Counter[tuple[str, str]],
        next_attempt_at: int,
    ) -> None:
        """``retried`` counts the batch's retries by (label, reason text)."""
        now = self.clock.now_ms()
        for (label, reason), count in retried.items():
            key = (notification.app_id, provider, label)
            held = self._held.get(key)
            if held is not None and now - held.last_ms < self.interval_ms:
                held.deliveries += count
                continue
            before = held.deliveries if held is not None else 0
            self._held[key] = _Held(now)
            _warn(notification, provider, label, reason, count, before, next_attempt_at)
        if len(self._held) > 10_000:  # apps come and go: forget what is long quiet
            self._held = {
                key: held
                for key, held in self._held.items()
                if now - held.last_ms < self.interval_ms
            }


def _warn(
    notification: Notification,
    provider: str,
    label: str,
    reason: str,
    count: int,
    before: int,
    next_attempt_at: int,
) -> None:
    log.warning(
        "%s deliveries retrying: %d of notification %s (app %s) after %s; "
        "%d more retried since the last warning",
        provider,
        count,
        notification.id,
        notification.app_id,
        reason or label,
        before,
        extra={
            "event": "deliveries.retrying",
            "notification_id": notification.id,
            "app_id": notification.app_id,
            "tenant_id": notification.tenant_id,
            "provider": provider,
            "reason": label,
            "detail": reason,
            "deliveries": count,
            "held_back": before,
            "next_attempt_at": next_attempt_at,
        },
    )
