"""Recorded interactions and the counts they move (core/interactions.py,
core/engagement.py), on SQLite and PostgreSQL alike.

Batches reported together share one transaction (storage/group_commit.py): devices report
in bursts, and a commit is the fixed cost of a small write. A group's transaction looks up
the notifications its batches name (on PostgreSQL with ``FOR KEY SHARE``, so a purge waits
for it), inserts their events in multi-row statements that skip what is already recorded
and return what is new, then moves the notification and hourly counts by the new ones
only, so a repeat moves nothing. An event two batches of one group both name is new to the
first of them, a duplicate to the other, as it would be one transaction after the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pushgate.core.engagement import tallies
from pushgate.core.interactions import InteractionRow, OnNew, Stored
from pushgate.storage.accounts import BaseStore
from pushgate.storage.engine import require_order
from pushgate.storage.group_commit import GroupCommit
from pushgate.storage.tables import (
    deliveries,
    interaction_rollups,
    notification_engagement,
)

# Rows per INSERT statement: seven parameters a row stay far below SQLite's (32,766) and
# asyncpg's (32,767) bounds on a statement's parameters.
_ROWS_PER_INSERT = 500
# Batches (of up to 100 events) written in one transaction.
_BATCHES_PER_GROUP = 16

_COLUMNS = (
    "delivery_id",
    "event",
    "action_key",
    "notification_id",
    "device_id",
    "at",
    "recorded_at",
)


class InteractionStore(BaseStore):
    """Writes of interactions and the counts they move (their reads: storage/reports.py)."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self._inserts: dict[int, str] = {}
        self._presence: dict[int, str] = {}
        self.groups: GroupCommit[_Batch, Stored] = GroupCommit(
            self._record_group, max_group=_BATCHES_PER_GROUP
        )

    async def deliveries_of(
        self, notification_id: str, device_ids: Sequence[str]
    ) -> dict[str, str]:
        """The notification's delivery to each of the devices that has one (the unique key
        on (notification, device) makes it one at most)."""
        found = await self.fetch_all(
            sa.select(deliveries.c.device_id, deliveries.c.id).where(
                deliveries.c.notification_id == notification_id,
                deliveries.c.device_id.in_(list(device_ids)),
            )
        )
        return {str(row.device_id): str(row.id) for row in found}

    async def record(
        self, rows: Sequence[InteractionRow], now: int, on_new: OnNew | None = None
    ) -> Stored:
        if not rows:
            return Stored([], 0)
        return await self.groups.submit(_Batch(rows, now, on_new))

    async def _record_group(self, batches: Sequence[_Batch]) -> list[Stored]:
        ids = sorted({row.recorded.notification_id for batch in batches for row in batch.rows})
        async with self.begin() as connection:
            present = await self._present(connection, ids)
            live = [
                (row, batch.now)
                for batch in batches
                for row in batch.rows
                if row.recorded.notification_id in present
            ]
            made: set[tuple[str, str, str]] = set()
            for start in range(0, len(live), _ROWS_PER_INSERT):
                made |= await self._insert(connection, live[start : start + _ROWS_PER_INSERT])
            stored = []
            for batch in batches:
                new = [row for row in batch.rows if row.key in made]
                # A key is new to the first batch of the group that names it.
                made.difference_update(row.key for row in new)
                gone = sum(1 for row in batch.rows if row.recorded.notification_id not in present)
                stored.append(Stored(new, gone))
                if batch.on_new is not None and new:
                    await batch.on_new(connection, new)
            await self._tally(connection, [row for done in stored for row in done.new])
        return stored

    async def _insert(
        self, connection: AsyncConnection, rows: list[tuple[InteractionRow, int]]
    ) -> set[tuple[str, str, str]]:
        """Insert ``rows``; the keys of those new to the table."""
        params: list[Any] = []
        for row, recorded_at in rows:
            item = row.recorded
            params += (
                row.delivery_id,
                item.event.value,
                item.action_key,
                item.notification_id,
                row.device_id,
                item.at,
                recorded_at,
            )
        result = await connection.exec_driver_sql(self._insert_sql(len(rows)), tuple(params))
        returned: list[Any] = list(result.all())
        return {(str(r[0]), str(r[1]), str(r[2])) for r in returned}

    async def _present(self, connection: AsyncConnection, ids: list[str]) -> set[str]:
        """Which of ``ids`` still exist; on PostgreSQL held against deletion until the
        transaction ends (``FOR KEY SHARE``), as the foreign key would hold them."""
        found = self._presence.get(len(ids))
        if found is None:
            postgres = self.engine.dialect.name == "postgresql"
            holders = ", ".join(f"${i + 1}" if postgres else "?" for i in range(len(ids)))
            found = f"SELECT id FROM notifications WHERE id IN ({holders})"  # noqa: S608
            if postgres:
                found += " FOR KEY SHARE"
            self._presence[len(ids)] = found
        rows: list[Any] = list((await connection.exec_driver_sql(found, tuple(ids))).all())
        return {str(row[0]) for row in rows}

    def _insert_sql(self, count: int) -> str:
        """One INSERT of ``count`` rows that skips those recorded and returns the new
        ones' keys; the text is made once per row count (at most ``_ROWS_PER_INSERT``)."""
        found = self._inserts.get(count)
        if found is None:
            width = len(_COLUMNS)
            if self.engine.dialect.name == "postgresql":
                holders = [
                    "(" + ", ".join(f"${i * width + j + 1}" for j in range(width)) + ")"
                    for i in range(count)
                ]
            else:
                holders = ["(" + ", ".join("?" * width) + ")"] * count
            # Only constant names and placeholders go into the text: no input.
            found = self._inserts[count] = (
                f"INSERT INTO interactions ({', '.join(_COLUMNS)}) VALUES "  # noqa: S608
                + ", ".join(holders)
                + " ON CONFLICT DO NOTHING RETURNING delivery_id, event, action_key"
            )
        return found

    async def _tally(self, connection: AsyncConnection, new: Sequence[InteractionRow]) -> None:
        moved = tallies(row.recorded for row in new)
        if moved.engagement:
            sql, order = self.driver_sql(
                "engagement", lambda: self._upsert(notification_engagement)
            )
            require_order(order, ("notification_id", "metric", "n"))
            rows = sorted((nid, metric, n) for (nid, metric), n in moved.engagement.items())
            await connection.exec_driver_sql(sql, rows)
        if moved.rollups:
            sql, order = self.driver_sql("rollups", lambda: self._upsert(interaction_rollups))
            require_order(order, ("app_id", "hour", "type_key", "metric", "n"))
            await connection.exec_driver_sql(
                sql, sorted((*key, n) for key, n in moved.rollups.items())
            )

    def _upsert(self, table: sa.Table) -> sa.ClauseElement:
        insert = self.dialect_insert()(table)
        upsert: sa.ClauseElement = insert.on_conflict_do_update(
            index_elements=list(table.primary_key.columns.keys()),
            set_={"n": table.c.n + insert.excluded.n},
        )
        return upsert


@dataclass(frozen=True, slots=True)
class _Batch:
    """One reported batch's rows, and when its report arrived (each row's ``recorded_at``)."""

    rows: Sequence[InteractionRow]
    now: int
    on_new: OnNew | None
