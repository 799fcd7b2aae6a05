"""Migrations: an existing database file is upgraded in place and keeps its data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from pushgate.storage import migrate
from pushgate.storage.engine import create_engine
from pushgate.storage.tables import metadata


async def test_upgrade_keeps_data_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "pushgate.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate.upgrade(engine, "0001")
        async with engine.begin() as connection:
            await connection.execute(
                sa.text("INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'kept', 1)")
            )
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)
        assert await migrate.is_current(engine)
        async with engine.connect() as connection:
            names = (await connection.execute(sa.text("SELECT name FROM tenants"))).scalars()
            assert list(names) == ["kept"]
    finally:
        await engine.dispose()


def test_migrated_schema_matches_the_tables(migrated_sqlite: Path) -> None:
    """The migrations build exactly the tables and columns the code declares."""
    with sqlite3.connect(migrated_sqlite) as connection:
        for table in metadata.sorted_tables:
            columns = {row[1] for row in connection.execute(f"PRAGMA table_info({table.name})")}
            assert columns == {c.name for c in table.columns}, table.name


async def test_database_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "pushgate.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as connection:
            mode = (await connection.execute(sa.text("PRAGMA journal_mode"))).scalar()
            keys = (await connection.execute(sa.text("PRAGMA foreign_keys"))).scalar()
        assert (mode, keys) == ("wal", 1)
    finally:
        await engine.dispose()


async def test_upgrade_to_kept_counts_keeps_deliveries_and_counts_them(tmp_path: Path) -> None:
    path = tmp_path / "pushgate.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    statements = [
        "INSERT INTO tenants (id, name, created_at) VALUES ('t', 't', 1)",
        "INSERT INTO apps (id, tenant_id, name, created_at, updated_at)"
        " VALUES ('a', 't', 'a', 1, 1)",
        "INSERT INTO notifications (id, tenant_id, app_id, audience, content, state, targeted,"
        " fanout_done, expires_at, created_at, updated_at)"
        " VALUES ('n', 't', 'a', '{}', '{}', 'sending', 3, 1, 9, 1, 1)",
    ]
    device = sa.text(
        "INSERT INTO devices (id, tenant_id, app_id, provider, token, platform, topics, tags,"
        " state, state_changed_at, created_at, updated_at)"
        " VALUES (:id, 't', 'a', 'apns', :id, 'ios', '[]', '[]', 'active', 1, 1, 1)"
    )
    delivery = sa.text(
        "INSERT INTO deliveries (id, notification_id, device_id, app_id, provider, state,"
        " attempts, created_at, updated_at) VALUES (:id, 'n', :id, 'a', 'apns', :state, 0, 1, 1)"
    )
    made = [{"id": "1", "state": "sent"}, {"id": "2", "state": "pending"}]
    made.append({"id": "3", "state": "sent"})
    try:
        await migrate.upgrade(engine, "0004")
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(sa.text(statement))
            await connection.execute(device, [{"id": row["id"]} for row in made])
            await connection.execute(delivery, made)
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            kept = await connection.execute(sa.text("SELECT id FROM deliveries ORDER BY id"))
            assert list(kept.scalars()) == ["1", "2", "3"]
            counted = await connection.execute(
                sa.text("SELECT provider, state, n FROM delivery_counts ORDER BY state")
            )
            assert [tuple(r) for r in counted] == [("apns", "pending", 1), ("apns", "sent", 2)]
    finally:
        await engine.dispose()
