"""When to try a delivery again: a pure policy (docs/architecture.md §5).

Only ``retry`` outcomes are tried again. The delay grows exponentially from ``base`` up to
``cap`` with "equal jitter" (half fixed, half random) so a provider outage does not end in
a synchronized stampede; a provider's ``Retry-After`` is a floor. No attempt is planned at
or past the deadline (the notification's expiry or the retention window): the delivery
expires instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pushgate.core.outcomes import Outcome, OutcomeKind


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 2.0
    cap_seconds: float = 900.0  # Apple suggests backing off towards ~15 minutes on 5xx
    max_attempts: int = 12

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0 ** max(0, attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)

    def next_attempt_at(
        self,
        attempt: int,
        outcome: Outcome,
        now_ms: int,
        deadline_ms: int,
        rng: random.Random | None = None,
    ) -> int | None:
        """Epoch ms of the next try, or None when the delivery should not be tried again."""
        if outcome.kind is not OutcomeKind.RETRY or attempt >= self.max_attempts:
            return None
        delay = self.backoff(attempt, rng or random.Random())  # noqa: S311 - jitter, not secrecy
        if outcome.retry_after is not None:
            delay = max(delay, outcome.retry_after)
        at = now_ms + int(delay * 1000)
        return at if at < deadline_ms else None
