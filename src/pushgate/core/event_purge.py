"""The housekeeping purge of record events and trigger throttles (docs/events.md, "Purge").

An event is kept as long as its tenant keeps notifications (``retention_days``,
core/retention.py): its page links to the notifications its triggers made, and past that
window they are gone too. A throttle row is needed only until its period ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pushgate.core.retention import TenantRetention


class EventPurgePort(Protocol):
    async def purge_events(self, cutoff: int, tenant_cutoffs: Mapping[str, int]) -> int:
        """Delete events stored before ``cutoff`` (for the tenants in ``tenant_cutoffs``,
        before theirs); how many."""
        ...

    async def purge_throttles(self, now: int) -> int:
        """Delete throttles whose period ended by ``now``; how many."""
        ...


@dataclass(frozen=True, slots=True)
class EventsPurged:
    events: int
    throttles: int
    #: Tenants with a window of their own.
    own_windows: int


class EventPurge:
    def __init__(self, store: EventPurgePort, retention: TenantRetention) -> None:
        self.store = store
        self.retention = retention

    async def run(self, now: int) -> EventsPurged:
        cutoff, own = await self.retention.cutoffs(now)
        events = await self.store.purge_events(cutoff, own)
        throttles = await self.store.purge_throttles(now)
        return EventsPurged(events, throttles, len(own))
