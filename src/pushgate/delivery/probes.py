"""When paused credentials try again: one probe at a time, with a growing wait.

A provider's refusal may be passing (APNs answers InvalidProviderToken for a while when it
restarts), so paused credentials do not wait for an operator: the next batch for them sends
its first delivery alone, as the probe (APNs has no request that reaches no device; the next
real delivery is the probe, docs/providers.md §1.6). The waits between probes double from
:data:`FIRST_WAIT_SECONDS` up to the recheck interval (``paused_recheck_seconds``). The
state is per process: with several workers, each probes on its own schedule, which stays
at most one request per worker per interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

FIRST_WAIT_SECONDS = 1.0


@dataclass(slots=True)
class _Schedule:
    next_at: float
    wait: float
    probing: bool = False


class ProbeGate:
    """Hands out probe turns for paused credentials, keyed by (app id, kind)."""

    def __init__(
        self,
        ceiling: float,
        *,
        first_wait: float = FIRST_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ceiling = ceiling
        self.first_wait = min(first_wait, ceiling)
        self.clock = clock
        self._schedules: dict[tuple[str, str], _Schedule] = {}

    def paused(self, key: tuple[str, str]) -> None:
        """The provider refused just now: the first probe comes after the first wait."""
        self._schedules[key] = _Schedule(self.clock() + self.first_wait, self.first_wait)

    def claim(self, key: tuple[str, str]) -> float:
        """0 when the caller is to send the probe now; else seconds until the next turn."""
        now = self.clock()
        schedule = self._schedules.get(key)
        if schedule is None:  # paused by another process, or before this one started
            schedule = self._schedules[key] = _Schedule(now, self.first_wait)
        if schedule.probing or now < schedule.next_at:
            return max(schedule.next_at - now, self.first_wait if schedule.probing else 0.0)
        schedule.probing = True
        return 0.0

    def refused(self, key: tuple[str, str]) -> float:
        """The probe was refused: the wait doubles (up to the ceiling); returns it."""
        schedule = self._schedules.get(key) or _Schedule(0.0, self.first_wait / 2)
        wait = min(schedule.wait * 2, self.ceiling)
        self._schedules[key] = _Schedule(self.clock() + wait, wait)
        return wait

    def accepted(self, key: tuple[str, str]) -> None:
        self._schedules.pop(key, None)

    def abandoned(self, key: tuple[str, str]) -> None:
        """The probe ended without an answer on the credentials (a retry, say): another
        batch may probe at once."""
        schedule = self._schedules.get(key)
        if schedule is not None:
            schedule.probing = False
