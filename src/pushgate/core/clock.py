"""The clock the delivery pipeline reads: the system's, or one a test moves by hand.

Logic that waits on time (a notification's expiry, a retry's due time, a lease running
out) reads ``now`` from a ``Clock`` handed to it, so a test can step past an hour without
sleeping it, and can tell "not yet" from "now" to the millisecond.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time, UTC since the epoch (what pushgate stores), and a sleep on it."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def now_ms(self) -> int:
        """Milliseconds since the epoch: the one time unit pushgate stores."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> float:
        return time.time()

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock that moves only when ``advance`` (or ``set``) is called.

    It starts at the system's time unless told otherwise, so values it gives mix with
    ones stored by code on the system clock. ``sleep`` returns once the clock has been
    moved past its end, in the order the sleepers are due.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now_ms = time.time_ns() // 1_000_000 if start is None else round(start * 1000)
        self._sleepers: list[tuple[int, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self._now_ms / 1000

    def now_ms(self) -> int:
        return self._now_ms

    async def sleep(self, seconds: float) -> None:
        due = self._now_ms + max(0, round(seconds * 1000))
        if due <= self._now_ms:
            await asyncio.sleep(0)  # a zero sleep still yields, as asyncio.sleep(0) does
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((due, waiter))
        try:
            await waiter
        finally:
            self._sleepers = [entry for entry in self._sleepers if entry[1] is not waiter]

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (never back) and wake who is due."""
        if seconds < 0:
            raise ValueError("a clock moves forward only")
        self.set_ms(self._now_ms + round(seconds * 1000))

    def set_ms(self, at_ms: int) -> None:
        """Move the clock to ``at_ms`` (not before now) and wake who is due."""
        if at_ms < self._now_ms:
            raise ValueError("a clock moves forward only")
        self._now_ms = at_ms
        for due, waiter in sorted(self._sleepers, key=lambda entry: entry[0]):
            if due <= at_ms and not waiter.done():
                waiter.set_result(None)

    @property
    def sleepers(self) -> int:
        """How many ``sleep`` calls are waiting for the clock to move."""
        return sum(1 for _, waiter in self._sleepers if not waiter.done())
