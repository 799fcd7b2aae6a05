"""Reports read from the kept counts (docs/reports.md, "Reports"): a notification's
interactions, an app's time series and its top notifications, and the CSV exports.

Nothing here scans deliveries to count: the counts move when things happen
(``core/engagement.py``, ``storage/rollups.py``), and a report reads them. Only the CSV of
a notification's deliveries reads its deliveries, a page at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from pushgate.core.access import Caller
from pushgate.core.engagement import HOUR_MS, SERIES_METRICS, Engagement, engagement_of
from pushgate.core.models import Tenant
from pushgate.core.registry import Registry
from pushgate.errors import InvalidInput

DAY_MS = 24 * HOUR_MS
MAX_POINTS = 2_000
TOP = 10
EXPORT_PAGE = 5_000


class Interval(StrEnum):
    HOUR = "hour"
    DAY = "day"

    @property
    def ms(self) -> int:
        return HOUR_MS if self is Interval.HOUR else DAY_MS


@dataclass(frozen=True, slots=True)
class Point:
    """One interval of the series: its start (epoch ms) and a count per metric."""

    at: int
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class TopNotification:
    id: str
    type_key: str | None
    created_at: int
    sent: int
    opened: int

    @property
    def open_rate(self) -> float:
        return round(self.opened / self.sent, 4) if self.sent else 0.0


@dataclass(frozen=True, slots=True)
class AppReport:
    app: str
    type_key: str | None
    interval: Interval
    start: int
    end: int
    points: list[Point]
    top: list[TopNotification]

    @property
    def totals(self) -> dict[str, int]:
        return {name: sum(p.counts[name] for p in self.points) for name in SERIES_METRICS}


@dataclass(frozen=True, slots=True)
class DeliveryLine:
    """One delivery of a notification with what its device reported (epoch ms; actions
    by key)."""

    delivery_id: str
    device_id: str
    provider: str
    state: str
    updated_at: int
    events: dict[str, int]
    actions: dict[str, int]


class ReportStorePort(Protocol):
    async def engagement(self, notification_id: str) -> dict[str, int]:
        """The notification's kept metrics (metric → n)."""
        ...

    async def rollups(
        self, app_id: str, start: int, end: int, type_key: str | None
    ) -> list[tuple[int, str, int]]:
        """(hour, metric, n) of the app's hours in [start, end), of one type or all."""
        ...

    async def top_notifications(
        self, app_id: str, start: int, end: int, type_key: str | None, limit: int
    ) -> list[TopNotification]:
        """The app's notifications created in [start, end) with any sent, best open rate
        first."""
        ...

    async def delivery_lines(
        self, notification_id: str, after: str | None, limit: int
    ) -> list[DeliveryLine]:
        """A page of the notification's deliveries in id order, with their interactions."""
        ...


class Reports:
    """Reads of reports; a notification's callers check access first (its status)."""

    def __init__(self, store: ReportStorePort, registry: Registry) -> None:
        self.store = store
        self.registry = registry

    async def engagement(self, notification_id: str) -> Engagement:
        return engagement_of(await self.store.engagement(notification_id))

    async def app_report(
        self,
        caller: Caller,
        tenant: Tenant,
        app_name: str,
        span: tuple[int, int],
        interval: Interval,
        type_key: str | None,
    ) -> AppReport:
        """The app's series over ``span`` (epoch ms, widened to whole intervals) and its
        top notifications by open rate."""
        app = await self.registry.read_app(caller, tenant, app_name)
        start, end = _whole(span, interval)
        points = (end - start) // interval.ms
        if points > MAX_POINTS:
            raise InvalidInput(
                f"{points} {interval.value}s asked for; at most {MAX_POINTS} at once",
                details={"field": "from", "max_points": MAX_POINTS},
            )
        counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SERIES_METRICS, 0))
        for hour, metric, n in await self.store.rollups(app.id, start, end, type_key):
            if metric in SERIES_METRICS:
                counts[hour - (hour % interval.ms)][metric] += n
        series = [
            Point(at, counts.get(at, dict.fromkeys(SERIES_METRICS, 0)))
            for at in range(start, end, interval.ms)
        ]
        top = await self.store.top_notifications(app.id, start, end, type_key, TOP)
        return AppReport(app.name, type_key, interval, start, end, series, top)

    async def delivery_lines(self, notification_id: str) -> AsyncIterator[Sequence[DeliveryLine]]:
        """The notification's deliveries with their interactions, page by page."""
        after: str | None = None
        while True:
            page = await self.store.delivery_lines(notification_id, after, EXPORT_PAGE)
            if page:
                yield page
            if len(page) < EXPORT_PAGE:
                return
            after = page[-1].delivery_id


def _whole(span: tuple[int, int], interval: Interval) -> tuple[int, int]:
    start, end = span
    if end <= start:
        raise InvalidInput("from must be before to", details={"field": "to"})
    start -= start % interval.ms
    if end % interval.ms:
        end += interval.ms - end % interval.ms
    return start, end
