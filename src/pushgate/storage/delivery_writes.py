"""Driver-level delivery writes that report exactly how many rows they changed.

The kept delivery counts (``delivery_counts``) move by what each write changed, so each
write must know it: SQLite's ``executemany`` reports the rows changed over the whole batch;
asyncpg's reports nothing, so on PostgreSQL a batch is one statement over ``unnest``-ed
arrays, whose status names the count. Both run inside the caller's transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from pushgate.core.notifications import DeliveryState
from pushgate.storage.engine import compiled_in_order
from pushgate.storage.pg_arrays import arrays, unnest
from pushgate.storage.tables import deliveries

# Named literally, not bound: the partial index on pending deliveries is only usable by
# statements whose condition matches its own (SQLite) or whose plan is generic (PostgreSQL).
PENDING_LITERAL: sa.ColumnElement[str] = sa.literal_column(f"'{DeliveryState.PENDING.value}'")
IS_PENDING = deliveries.c.state == PENDING_LITERAL

# A new delivery's values, in table column order (the insert's parameter order).
DELIVERY_COLUMNS = tuple(deliveries.c.keys())
# A result's values: the updated columns, then the delivery id.
RESULT_COLUMNS = (
    "state",
    "attempts",
    "next_attempt_at",
    "reason",
    "status",
    "provider_message_id",
    "updated_at",
    "id",
)


class DeliveryWrites(ABC):
    @abstractmethod
    async def insert(self, connection: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert new deliveries (rows in ``DELIVERY_COLUMNS`` order), keeping any that
        already exist for the same notification and device; returns how many were new."""

    @abstractmethod
    async def write_results(
        self, connection: AsyncConnection, rows: Sequence[tuple[Any, ...]]
    ) -> int:
        """Write results (rows in ``RESULT_COLUMNS`` order) onto deliveries that are still
        pending; returns how many were. A delivery canceled or expired meanwhile keeps
        that final state."""


def delivery_writes(dialect: Dialect) -> DeliveryWrites:
    if dialect.name == "postgresql":
        return PostgresDeliveryWrites(dialect)
    return SqliteDeliveryWrites(dialect)


class SqliteDeliveryWrites(DeliveryWrites):
    """Batches through ``executemany`` on the compiled statement."""

    def __init__(self, dialect: Dialect) -> None:
        insert = sqlite.insert(deliveries).on_conflict_do_nothing(
            index_elements=["notification_id", "device_id"]
        )
        self._insert = compiled_in_order(insert, dialect, DELIVERY_COLUMNS)
        update = (
            sa.update(deliveries)
            .where(deliveries.c.id == sa.bindparam("b_id"), IS_PENDING)
            .values({name: sa.bindparam(f"b_{name}") for name in RESULT_COLUMNS[:-1]})
        )
        self._update = compiled_in_order(update, dialect, [f"b_{name}" for name in RESULT_COLUMNS])

    async def insert(self, connection: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> int:
        return int((await connection.exec_driver_sql(self._insert, list(rows))).rowcount)

    async def write_results(
        self, connection: AsyncConnection, rows: Sequence[tuple[Any, ...]]
    ) -> int:
        return int((await connection.exec_driver_sql(self._update, list(rows))).rowcount)


class PostgresDeliveryWrites(DeliveryWrites):
    """Each batch as one statement over arrays, one array per column."""

    def __init__(self, dialect: Dialect) -> None:
        new = unnest(deliveries, DELIVERY_COLUMNS)
        insert = (
            postgresql.insert(deliveries)
            .from_select(DELIVERY_COLUMNS, sa.select(*new.c))
            .on_conflict_do_nothing(index_elements=["notification_id", "device_id"])
        )
        self._insert = compiled_in_order(insert, dialect, DELIVERY_COLUMNS)
        results = unnest(deliveries, RESULT_COLUMNS)
        update = (
            sa.update(deliveries)
            .where(deliveries.c.id == results.c.id, IS_PENDING)
            .values({name: results.c[name] for name in RESULT_COLUMNS[:-1]})
        )
        self._update = compiled_in_order(update, dialect, RESULT_COLUMNS)

    async def insert(self, connection: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> int:
        return int((await connection.exec_driver_sql(self._insert, arrays(rows))).rowcount)

    async def write_results(
        self, connection: AsyncConnection, rows: Sequence[tuple[Any, ...]]
    ) -> int:
        return int((await connection.exec_driver_sql(self._update, arrays(rows))).rowcount)
