"""Token buckets and day counters: the arithmetic, and the in-process store of embedded mode.

A bucket is kept as GCRA, the generic cell rate algorithm (ITU-T I.371; the same as a
token bucket, with one number to store per bucket): the *theoretical arrival time* (TAT)
of the next request if requests came exactly at the sustained rate. A request costing
``n`` moves the TAT ``n`` emission intervals (``1 / per_second``) later, and is allowed
while the new TAT is no more than ``burst`` intervals ahead of now. Time comes in from
the caller (an injectable clock), so tests step it instead of sleeping.

A day counter counts what a tenant used in the current UTC day; a use that would pass the
limit is refused whole and counts nothing.

``queue/ratelimit_redis.py`` runs the same arithmetic in a Redis script for scale mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from pushgate.core.models import RateLimit

DAY_MS = 24 * 3600 * 1000
# Float error must not turn 4 whole tokens into 3.999…
_EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class Taken:
    """What a bucket or a day counter answered: allowed or not, and its state after."""

    allowed: bool
    #: Requests (or deliveries) that would still be allowed right now.
    remaining: int
    #: Milliseconds until the bucket is full again (the day counter: until the day ends).
    reset_ms: int
    #: Milliseconds until this request would be allowed; 0 when it was.
    retry_ms: int


class Limiter(Protocol):
    """Where buckets and day counters live: this process, or Redis. None: not enforced
    this time (the store is unreachable)."""

    async def take(
        self, bucket: str, limit: RateLimit, cost: int, now_ms: float
    ) -> Taken | None: ...

    async def count_day(
        self, counter: str, limit: int, cost: int, now_ms: float
    ) -> Taken | None: ...

    async def close(self) -> None: ...


def interval_ms(limit: RateLimit) -> float:
    return 1000.0 / limit.per_second


def gcra(tat: float | None, limit: RateLimit, cost: int, now: float) -> tuple[float | None, Taken]:
    """The bucket's new TAT (None: unchanged, refused) and the answer, for ``cost`` tokens."""
    step = interval_ms(limit)
    tolerance = step * limit.burst
    current = now if tat is None else max(tat, now)
    new_tat = current + step * cost
    allow_at = new_tat - tolerance
    if allow_at > now:
        remaining = max(0, math.floor((now - (current - tolerance)) / step + _EPSILON))
        return None, Taken(False, remaining, _ceil(current - now), _ceil(allow_at - now))
    remaining = math.floor((now - allow_at) / step + _EPSILON)
    return new_tat, Taken(True, remaining, _ceil(new_tat - now), 0)


def day_of(now_ms: float) -> int:
    """The UTC day number (days since the epoch)."""
    return int(now_ms // DAY_MS)


def day_left_ms(now_ms: float) -> int:
    return _ceil((day_of(now_ms) + 1) * DAY_MS - now_ms)


def count(used: int, limit: int, cost: int, now_ms: float) -> tuple[int | None, Taken]:
    """The day counter's new value (None: refused, unchanged) and the answer."""
    left = day_left_ms(now_ms)
    if used + cost > limit:
        return None, Taken(False, max(0, limit - used), left, left)
    return used + cost, Taken(True, limit - used - cost, left, 0)


def _ceil(ms: float) -> int:
    return max(0, math.ceil(ms - _EPSILON))


class MemoryLimiter:
    """Buckets in this process (embedded mode: one API process).

    The event loop runs one request's step at a time and nothing here awaits, so each
    take is atomic."""

    def __init__(self) -> None:
        self._tats: dict[str, float] = {}
        self._days: dict[str, tuple[int, int]] = {}

    async def take(self, bucket: str, limit: RateLimit, cost: int, now_ms: float) -> Taken:
        new_tat, taken = gcra(self._tats.get(bucket), limit, cost, now_ms)
        if new_tat is not None:
            self._tats[bucket] = new_tat
            self._forget_full(now_ms)
        return taken

    async def count_day(self, counter: str, limit: int, cost: int, now_ms: float) -> Taken:
        day = day_of(now_ms)
        stored_day, used = self._days.get(counter, (day, 0))
        new_used, taken = count(used if stored_day == day else 0, limit, cost, now_ms)
        if new_used is not None:
            self._days[counter] = (day, new_used)
        return taken

    def _forget_full(self, now_ms: float) -> None:
        """A bucket whose TAT is past is full: the same as no entry. Pruned when many are
        kept, so idle keys cost nothing."""
        if len(self._tats) > 10_000:
            self._tats = {k: v for k, v in self._tats.items() if v > now_ms}

    async def close(self) -> None:
        return None
