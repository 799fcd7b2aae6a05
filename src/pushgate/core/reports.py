"""Reports read from the kept counts (docs/reports.md, "Reports"): a notification's
interactions, an app's time series and its top notifications, and the CSV exports.

Nothing here scans deliveries to count: the counts move when things happen
(``core/engagement.py``), and a report reads them.
"""

from __future__ import annotations

from typing import Protocol

from pushgate.core.engagement import Engagement, engagement_of


class ReportStorePort(Protocol):
    async def engagement(self, notification_id: str) -> dict[str, int]:
        """The notification's kept metrics (metric → n)."""
        ...


class Reports:
    """Reads of reports; callers check access first (the notification's status, the app)."""

    def __init__(self, store: ReportStorePort) -> None:
        self.store = store

    async def engagement(self, notification_id: str) -> Engagement:
        return engagement_of(await self.store.engagement(notification_id))
