"""An app's hourly counts of what it sent (``interaction_rollups``, metric ``sent``),
moved by the writes that make deliveries sent, in their transaction (docs/reports.md,
"Time series"). What devices report moves the other metrics (storage/interactions.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from pushgate.core.engagement import hour_of
from pushgate.storage.tables import interaction_rollups, notifications

SENT = "sent"


def _count_sent(dialect: str) -> Any:
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(interaction_rollups)
    source = sa.select(
        notifications.c.app_id,
        sa.bindparam("hour", type_=sa.BigInteger),
        sa.func.coalesce(notifications.c.type_key, ""),
        sa.literal(SENT),
        sa.bindparam("n", type_=sa.BigInteger),
    ).where(notifications.c.id == sa.bindparam("id"))
    return insert.from_select(
        ["app_id", "hour", "type_key", "metric", "n"], source
    ).on_conflict_do_update(
        index_elements=list(interaction_rollups.primary_key.columns.keys()),
        set_={"n": interaction_rollups.c.n + insert.excluded.n},
    )


async def count_sent(connection: AsyncConnection, notification_id: str, n: int, at: int) -> None:
    """Add ``n`` deliveries of the notification sent at ``at`` (ms) to its app's hour."""
    if n <= 0:
        return
    statement = _count_sent(connection.dialect.name)
    await connection.execute(statement, {"hour": hour_of(at), "n": n, "id": notification_id})
