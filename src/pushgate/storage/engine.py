"""Engine creation: one async engine per process, tuned per backend."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from pushgate.errors import Unavailable
from pushgate.storage.files import private_file
from pushgate.storage.sqlite_inline import connector, is_busy

# How long SQLite work waits for another process's write lock (the old busy timeout).
SQLITE_BUSY_SECONDS = 10.0


def sqlite_path(url: str) -> Path | None:
    """The database file of an SQLite URL; None for an in-memory one."""
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
    cursor.close()


def sqlite_busy_error() -> Unavailable:
    """What a caller sees when SQLite stayed locked (or a snapshot another process
    overwrote could not be written on): a moment's unavailability, to be answered 503
    and tried again, not an internal error."""
    return Unavailable(
        "the database is busy: another process is holding its write lock",
        details={"database": "sqlite"},
    )


def _on_sqlite_error(context: sa.engine.ExceptionContext) -> None:
    if is_busy(context.original_exception):
        raise sqlite_busy_error() from context.original_exception


def _dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(url: str, *, sqlite_busy_seconds: float = SQLITE_BUSY_SECONDS) -> AsyncEngine:
    """An async engine for a ``sqlite+aiosqlite`` or ``postgresql+asyncpg`` URL; on
    SQLite, work waits up to ``sqlite_busy_seconds`` for another process's write lock
    (without blocking the event loop) before failing with :class:`Unavailable`."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            private_file(path)
        database = str(path) if path is not None else ":memory:"
        engine = create_async_engine(
            url,
            async_creator=connector(database, sqlite_busy_seconds),
            json_serializer=_dump_json,
            json_deserializer=orjson.loads,
        )
        sa.event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        sa.event.listen(engine.sync_engine, "handle_error", _on_sqlite_error)
        return engine
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        json_serializer=_dump_json,
        json_deserializer=orjson.loads,
    )


_WRITE_LOCKS: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


def write_lock(engine: AsyncEngine) -> asyncio.Lock | contextlib.nullcontext[None]:
    """SQLite has one writer at a time; queueing writers here instead of at SQLite's
    lock (retried in steps of up to 20 ms, see ``sqlite_inline``) keeps concurrent writes
    fast.
    PostgreSQL needs no such lock."""
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    lock = _WRITE_LOCKS.get(engine.sync_engine)
    if lock is None:
        lock = _WRITE_LOCKS[engine.sync_engine] = asyncio.Lock()
    return lock


@contextlib.asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction, queued behind this process's other writers on SQLite."""
    async with write_lock(engine), engine.begin() as connection:
        yield connection


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


def positional_sql(statement: sa.ClauseElement, dialect: sa.Dialect) -> tuple[str, tuple[str, ...]]:
    """``statement`` compiled for the driver, with the names of its parameters in order.

    Hot paths hand the driver tuples in that order (``exec_driver_sql``), skipping
    SQLAlchemy's per-row parameter processing. Both dialects here bind positionally.
    """
    compiled = statement.compile(dialect=dialect)
    order = getattr(compiled, "positiontup", None)
    if order is None:
        raise RuntimeError(f"the {dialect.name} dialect binds parameters by name, not position")
    return str(compiled), tuple(order)


def require_order(positions: Sequence[str], order: Sequence[str]) -> None:
    """Refuse a compiled statement whose parameters are not bound in ``order``, the order
    its rows are built in: a real error, so ``python -O`` keeps the check."""
    if tuple(positions) != tuple(order):
        raise RuntimeError(
            f"statement binds {tuple(positions)}, its rows are built as {tuple(order)}"
        )


def compiled_in_order(
    statement: sa.ClauseElement, dialect: sa.Dialect, order: Sequence[str]
) -> str:
    """``statement`` compiled for the driver, checked to bind its parameters in ``order``:
    rows built in that order must fail here after a schema change, not write values into
    the wrong columns."""
    sql, positions = positional_sql(statement, dialect)
    require_order(positions, order)
    return sql


def in_order(order: tuple[str, ...], values: dict[str, Any]) -> tuple[Any, ...]:
    """Named parameter values laid out in a compiled statement's ``order``."""
    return tuple(values[name] for name in order)
