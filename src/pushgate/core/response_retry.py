"""When to run a failed handler again: a pure policy (docs/actions.md, "Handlers").

Exponential backoff with equal jitter (half the wait fixed, half random), as deliveries
have (docs/architecture.md §5): from 1 s, doubling, up to 5 minutes. A handler's own
``Retry-After`` is followed as given (at least 1 s). No attempt is planned at or past the
action's deadline, counted from when the response was received: the response fails then.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pushgate.core.retry_table import Backoff

# The waits of a delivery's backoff row (core/retry_table.py) from 1 s: 1, 2, 4 … 300 s.
HANDLER_ROW = Backoff(0.5, 300.0)


@dataclass(frozen=True, slots=True)
class HandlerBackoff:
    row: Backoff = HANDLER_ROW

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed run number ``attempt`` (1-based)."""
        if retry_after is not None:
            return max(retry_after, self.row.floor_seconds)
        return self.row.delay(attempt, rng)

    def next_attempt_at(
        self,
        attempt: int,
        retry_after: float | None,
        now_ms: int,
        deadline_ms: int,
        rng: random.Random | None = None,
    ) -> int | None:
        """Epoch ms of the next run, or None when the deadline comes first."""
        delay = self.delay(attempt, retry_after, rng or random.Random())  # noqa: S311 - jitter
        at = now_ms + int(delay * 1000)
        return at if at < deadline_ms else None
