"""When to run a failed handler again: a pure policy (docs/actions.md, "Handlers").

Exponential backoff with equal jitter (half the wait fixed, half random), as deliveries
have (docs/architecture.md §5): from 1 s, doubling, up to 5 minutes. A handler's own
``Retry-After`` is followed as given (at least 1 s). No attempt is planned at or past the
action's deadline, counted from when the response was received: the response fails then.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HandlerBackoff:
    first_seconds: float = 1.0
    longest_seconds: float = 300.0
    floor_seconds: float = 1.0  # the least a Retry-After is taken for

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed run number ``attempt`` (1-based)."""
        if retry_after is not None:
            return max(retry_after, self.floor_seconds)
        wait = min(self.longest_seconds, self.first_seconds * 2.0 ** (attempt - 1))
        return wait / 2 + rng.uniform(0, wait / 2)

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
