"""Engine creation: one async engine per process, tuned per backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def _sqlite_path(url: str) -> Path | None:
    parsed = sa.engine.make_url(url)
    if parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; NORMAL sync is durable across
    # process crashes in WAL mode (https://www.sqlite.org/pragma.html#pragma_synchronous).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """An async engine for a ``sqlite+aiosqlite`` or ``postgresql+asyncpg`` URL."""
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 10})
        sa.event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"
