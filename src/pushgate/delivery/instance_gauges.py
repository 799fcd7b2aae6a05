"""The instance-wide series of ``/metrics``, read from the database and the queue when
it is scraped (docs/operations.md, "Metrics").

They are the same whichever process answers, so they come from the shared state rather
than from counters in one process: notifications stored by a ``pushgate send`` in another
process (the command line in local mode shares the database, not the process) are counted
as those the API accepted. Reads run at most once per ``min_interval_ms``, however often
the scrapes come.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pushgate.core.clock import Clock
from pushgate.core.ids import last_id_at
from pushgate.core.ports import InstanceStatsPort
from pushgate.delivery.metrics import DeliveryMetrics
from pushgate.queue.base import Queue

# A notification is counted once it is this old: ids are made before their transaction
# commits, so one could appear below a range already counted; 10 s covers any accept.
SETTLE_MS = 10_000
MIN_INTERVAL_MS = 5_000


class InstanceGauges:
    def __init__(
        self,
        stats: InstanceStatsPort,
        queue: Queue,
        kinds: Sequence[str],
        metrics: DeliveryMetrics,
        clock: Clock,
        *,
        min_interval_ms: int = MIN_INTERVAL_MS,
    ) -> None:
        self.stats = stats
        self.queue = queue
        self.kinds = tuple(kinds)
        self.metrics = metrics
        self.clock = clock
        self.min_interval_ms = min_interval_ms
        # Notifications stored up to here were counted (or made before this process).
        self._counted_until = last_id_at(clock.now_ms() - SETTLE_MS)
        self._read_at: int | None = None
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        """Read the gauges again unless they were read within ``min_interval_ms``."""
        async with self._lock:
            now = self.clock.now_ms()
            if self._read_at is not None and now - self._read_at < self.min_interval_ms:
                return
            await self._read(now)
            self._read_at = now

    async def _read(self, now: int) -> None:
        paused = await self.stats.paused_credentials()
        self.metrics.paused_credentials.clear()
        for provider, count in paused.items():
            self.metrics.paused_credentials.labels(provider).set(count)
        oldest = await self.stats.oldest_sending_since()
        self.metrics.oldest_pending.set(0 if oldest is None else max(0, now - oldest) / 1000)
        due = await self.queue.oldest_due(self.kinds)
        for kind in self.kinds:
            since = due.get(kind)
            lag = 0 if since is None else max(0, now - since) / 1000
            self.metrics.queue_lag.labels(kind).set(lag)
        until = last_id_at(now - SETTLE_MS)
        if until > self._counted_until:
            stored = await self.stats.notifications_between(self._counted_until, until)
            self.metrics.notifications_stored.inc(stored)
            self._counted_until = until
