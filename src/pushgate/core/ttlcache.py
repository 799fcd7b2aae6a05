"""A small time-bounded cache for hot lookups (API keys, tenants, apps).

Entries live ``ttl`` seconds, so a change made by another process is seen within that
time; changes made in this process invalidate their entries at once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Caches what ``load`` returns per key, including ``None`` (absence)."""

    def __init__(
        self,
        ttl: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V | None]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = await load()
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (now + self.ttl, value)
        return value

    def invalidate(self, key: K | None = None) -> None:
        """Forget ``key``, or everything when no key is given."""
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)
