"""What ``/metrics`` reads of the database when it is scraped (delivery/instance_gauges.py).

Each read is an index range or a small table, whatever the number of deliveries kept
(bench/instance_gauges.py measures them on a big table; docs/operations.md, "Metrics").
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from pushgate.storage.tables import credentials, notifications


class InstanceStatsStore:
    """Reads for the instance-wide gauges: paused credentials, the oldest notification
    still sending, the notifications stored since a mark."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def paused_credentials(self) -> dict[str, int]:
        """Paused credentials by provider kind (a row per app and kind: a small table)."""
        query = (
            sa.select(credentials.c.kind, sa.func.count())
            .where(credentials.c.paused_at.is_not(None))
            .group_by(credentials.c.kind)
        )
        async with self.engine.connect() as connection:
            return {kind: int(n) for kind, n in (await connection.execute(query)).all()}

    async def oldest_sending_since(self) -> int | None:
        """Since when the oldest notification still sending has been due (its ``send_at``,
        else its creation), epoch ms; None when none is sending. The partial index of
        migration 0017 holds only notifications in that state."""
        due = sa.func.coalesce(notifications.c.send_at, notifications.c.created_at)
        query = sa.select(sa.func.min(due)).where(notifications.c.state == sa.text("'sending'"))
        async with self.engine.connect() as connection:
            found = (await connection.execute(query)).scalar()
        return None if found is None else int(found)

    async def notifications_between(self, after: str, until: str) -> int:
        """How many notifications were stored with an id above ``after`` up to ``until``:
        a range of the primary key."""
        query = sa.select(sa.func.count()).where(
            notifications.c.id > after, notifications.c.id <= until
        )
        async with self.engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())
