"""The hot and the cascading queries use indexes (SQLite's EXPLAIN QUERY PLAN), and the
migrations build exactly the indexes the tables declare."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from pushgate.core.audience import EveryoneAudience
from pushgate.core.notifications import DeliveryState
from pushgate.core.record_events import EventFilters
from pushgate.queue.base import NewJob
from pushgate.queue.sql import SqlQueue
from pushgate.storage.engine import create_engine
from pushgate.storage.notifications import NotificationStore
from pushgate.storage.record_events import EventStore
from pushgate.storage.tables import metadata


def _plan(path: Path, sql: str, params: Any = ()) -> str:
    with sqlite3.connect(path) as connection:
        return " / ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", params))


@contextlib.asynccontextmanager
async def _capturing(
    path: Path, wanted: Callable[[str], bool]
) -> AsyncIterator[tuple[AsyncEngine, list[tuple[str, Any]]]]:
    """An engine on ``path``, and the statements it runs that ``wanted`` picks (with their
    parameters), to plan them exactly as the code issued them."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    issued: list[tuple[str, Any]] = []

    def capture(_c: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        if wanted(statement):
            issued.append((statement, params))

    sa.event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        yield engine, issued
    finally:
        await engine.dispose()


def test_migrations_build_the_declared_indexes(migrated_sqlite: Path) -> None:
    with sqlite3.connect(migrated_sqlite) as connection:
        built = {
            (table, name)
            for table, name in connection.execute(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        }
    declared = {(t.name, str(i.name)) for t in metadata.sorted_tables for i in t.indexes}
    assert built == declared


async def test_a_fan_out_page_is_a_range_read_without_sorting(migrated_sqlite: Path) -> None:
    """The statement the store really runs for a page of a broadcast (captured), planned on
    the migrated schema: a search of the (app_id, state, id) index, no temporary b-tree."""
    async with _capturing(migrated_sqlite, lambda sql: "FROM devices" in sql) as (engine, issued):
        store = NotificationStore(engine)
        await store.audience_page(EveryoneAudience(everyone=True), "t", "a", "01", 2000)
    [(statement, params)] = issued
    plan = _plan(migrated_sqlite, statement, params)
    assert "USING INDEX ix_devices_app_id_state_id (app_id=? AND state=? AND id>?)" in plan
    assert "TEMP B-TREE" not in plan


async def test_a_page_with_preferences_is_the_same_range_read(migrated_sqlite: Path) -> None:
    """With the recipients' preferences joined in, the page is still read from the
    (app_id, state, id) index without sorting, and each preference by its primary key."""
    async with _capturing(migrated_sqlite, lambda sql: "FROM devices" in sql) as (engine, issued):
        store = NotificationStore(engine)
        everyone = EveryoneAudience(everyone=True)
        await store.audience_page_with_preferences(everyone, "t", "a", "01", 2000)
    [(statement, params)] = issued
    plan = _plan(migrated_sqlite, statement, params)
    assert "USING INDEX ix_devices_app_id_state_id (app_id=? AND state=? AND id>?)" in plan
    assert "SEARCH user_preferences USING INDEX" in plan
    assert "SEARCH device_preferences USING INDEX" in plan
    assert "TEMP B-TREE" not in plan


async def test_pending_deliveries_are_found_through_the_pending_only_index(
    migrated_sqlite: Path,
) -> None:
    """Cancel and expiry read only pending deliveries. The store's statement names
    'pending' literally, as the partial index's condition does; with a bound parameter
    SQLite could not use the index. Whether anything is left (asked after every batch)
    reads the kept counts, by their key."""

    def wanted(sql: str) -> bool:
        return sql.lstrip().startswith("UPDATE") and ("deliveries" in sql or "counts" in sql)

    async with _capturing(migrated_sqlite, wanted) as (engine, issued):
        store = NotificationStore(engine)
        await store.complete_if_done("n", 1)
        await store.finish_pending("n", DeliveryState.CANCELED, "canceled", 1)
    [complete, finish] = issued
    counts_by_key = "SEARCH delivery_counts USING INDEX sqlite_autoindex_delivery_counts_1"
    assert f"{counts_by_key} (notification_id=?)" in _plan(migrated_sqlite, *complete)
    assert "USING INDEX ix_deliveries_pending (notification_id=?)" in _plan(
        migrated_sqlite, *finish
    )


async def test_a_page_of_deliveries_is_a_range_read_without_sorting(
    migrated_sqlite: Path,
) -> None:
    """Listing a notification's deliveries pages along its (notification_id, device_id)
    key, with or without an outcome filter: a page costs the same at the millionth row as
    at the first."""
    async with _capturing(migrated_sqlite, lambda sql: "FROM deliveries" in sql) as (
        engine,
        issued,
    ):
        store = NotificationStore(engine)
        await store.list_deliveries("n", None, "d1", 100)
        await store.list_deliveries("n", "failed", "d1", 100)
    assert len(issued) == 2
    for statement, params in issued:
        plan = _plan(migrated_sqlite, statement, params)
        assert "USING INDEX sqlite_autoindex_deliveries_2 (notification_id=? AND device_id>?)" in (
            plan
        )
        assert "TEMP B-TREE" not in plan


async def test_a_lease_and_an_ack_go_through_the_jobs_indexes(migrated_sqlite: Path) -> None:
    """The queue's compiled lease picks due jobs from the (kind, visible_at) index, and its
    ack deletes by primary key, with the kinds and the ids each bound as one list."""

    def wanted(sql: str) -> bool:
        return "jobs" in sql and sql.lstrip().startswith(("UPDATE", "DELETE"))

    async with _capturing(migrated_sqlite, wanted) as (engine, issued):
        queue = SqlQueue(engine)
        await queue.enqueue([NewJob("send", b"{}"), NewJob("fanout", b"{}")])
        leased = await queue.lease(("send", "fanout"), 10, 30)
        assert sorted(job.kind for job in leased) == ["fanout", "send"]
        assert await queue.ack(leased) == 2
        await queue.close()
    [(lease, lease_params), (ack, ack_params)] = issued
    lease_plan = _plan(migrated_sqlite, lease, lease_params)
    assert "USING INDEX ix_jobs_kind_visible_at (kind=? AND visible_at<?)" in lease_plan
    ack_plan = _plan(migrated_sqlite, ack, ack_params)
    assert "USING INDEX sqlite_autoindex_jobs_1 (id=?)" in ack_plan


async def test_the_event_log_and_its_purge_are_index_reads(migrated_sqlite: Path) -> None:
    """A page of a tenant's events, of one name, or of one record, and the purge of ended
    throttles: searches of their indexes, pages without sorting."""

    def wanted(sql: str) -> bool:
        return "record_events" in sql or "trigger_throttles" in sql

    async with _capturing(migrated_sqlite, wanted) as (engine, issued):
        store = EventStore(engine)
        await store.list_events("t", EventFilters(), "01", 100)
        await store.list_events("t", EventFilters(name="incident.assigned"), "01", 100)
        await store.list_events("t", EventFilters(record_type="incident", record_id="I1"), None, 9)
        await store.purge_throttles(1)
    every, named, record, throttles = (_plan(migrated_sqlite, *i) for i in issued)
    assert "USING INDEX ix_record_events_tenant_id_id (tenant_id=? AND id<?)" in every
    assert "USING INDEX ix_record_events_tenant_id_name_id (tenant_id=? AND name=? AND id<?)" in (
        named
    )
    by_record = "ix_record_events_tenant_id_record_type_record_id_id"
    assert f"{by_record} (tenant_id=? AND record_type=? AND record_id=?)" in record
    assert "TEMP B-TREE" not in every + named + record
    assert "USING COVERING INDEX ix_trigger_throttles_until (until<?)" in throttles or (
        "USING INDEX ix_trigger_throttles_until (until<?)" in throttles
    )
