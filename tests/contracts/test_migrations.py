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


async def test_migrated_schema_matches_the_tables(tmp_path: Path) -> None:
    """The migrations build exactly the tables and columns the code declares."""
    path = tmp_path / "pushgate.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    with sqlite3.connect(path) as connection:
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
