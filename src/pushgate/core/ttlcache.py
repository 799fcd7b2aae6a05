"""A small time-bounded cache for hot lookups (API keys, tenants, apps).

Entries live ``ttl`` seconds, so a change made by another process is seen within that
time; changes made in this process invalidate their entries at once.

Callers that miss the same key together share one load: when an entry expires under a
burst (devices answering a broadcast, say), one read refreshes it instead of one per
request in flight.
"""

from __future__ import annotations

import asyncio
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
        self._loading: dict[K, asyncio.Future[V | None]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        loading = self._loading.get(key)
        if loading is not None:
            try:
                # Shielded: a waiter cancelled must not cancel the others' answer.
                return await asyncio.shield(loading)
            except _Abandoned:
                return await self.get(key, load)  # its loader was cancelled: load anew
        loading = self._loading[key] = asyncio.get_running_loop().create_future()
        try:
            value = await load()
        except BaseException as exc:
            self._done_loading(key, loading)
            failed = _Abandoned() if isinstance(exc, asyncio.CancelledError) else exc
            loading.set_exception(failed)
            loading.exception()  # retrieved: nobody may be waiting for it
            raise
        if self._done_loading(key, loading):  # not invalidated meanwhile
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (now + self.ttl, value)
        loading.set_result(value)
        return value

    def _done_loading(self, key: K, loading: asyncio.Future[V | None]) -> bool:
        """Whether ``loading`` was still the key's load (no invalidation since it began)."""
        if self._loading.get(key) is loading:
            del self._loading[key]
            return True
        return False

    def invalidate(self, key: K | None = None) -> None:
        """Forget ``key``, or everything when no key is given; a load under way then is
        neither kept nor shared with later callers."""
        if key is None:
            self._entries.clear()
            self._loading.clear()
        else:
            self._entries.pop(key, None)
            self._loading.pop(key, None)


class _Abandoned(Exception):
    """The load a caller waited for was cancelled with its own caller."""
