"""When to try a delivery again: a pure policy (docs/architecture.md §5).

Only ``retry`` outcomes are tried again. How long to wait depends on the provider and the
kind of answer (the outcome's ``retry_class``): the retry table (``retry_table.py``) gives
each its first and longest wait, and whether a provider's ``Retry-After`` replaces them.
No attempt is planned at or past the deadline (the notification's expiry or its tenant's
retention window): the delivery expires instead. The deadline is the bound: attempts are
not counted out, so a receiver that is down for days is tried till then (a count may still
be set, as a tighter bound).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from pushgate.core.outcomes import Outcome, OutcomeKind, RetryClass
from pushgate.core.retry_table import RETRY_TABLE, Backoff


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int | None = None
    table: Mapping[RetryClass, Backoff] = field(default_factory=lambda: RETRY_TABLE)

    def delay(self, attempt: int, outcome: Outcome, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based) that ended in
        ``outcome``, by its row of the table."""
        row = self.table[outcome.retry_class]
        if row.honours_retry_after and outcome.retry_after is not None:
            return max(outcome.retry_after, row.floor_seconds)
        return row.delay(attempt, rng)

    def next_attempt_at(
        self,
        attempt: int,
        outcome: Outcome,
        now_ms: int,
        deadline_ms: int,
        rng: random.Random | None = None,
    ) -> int | None:
        """Epoch ms of the next try, or None when the delivery should not be tried again."""
        if outcome.kind is not OutcomeKind.RETRY:
            return None
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return None
        delay = self.delay(attempt, outcome, rng or random.Random())  # noqa: S311 - jitter
        at = now_ms + int(delay * 1000)
        return at if at < deadline_ms else None
