"""SQLite driven on the event loop's own thread, behind SQLAlchemy's aiosqlite dialect.

aiosqlite runs every call on a helper thread and hands the result back through the loop:
two thread switches per call, about 250 µs on a busy two-core machine, against 30 µs for
the call itself. SQLite calls are short (WAL mode, no fsync per commit with
``synchronous=NORMAL``), so running them inline is far faster than the hand-off, and a
single process is SQLite's deployment anyway. This module offers the slice of
aiosqlite's connection and cursor API that SQLAlchemy's ``sqlite+aiosqlite`` dialect
uses, with coroutines that complete without suspending (unless the database is locked,
below); pass :func:`connector` as ``async_creator`` to ``create_async_engine``.

Another process (a CLI command on the same file) may hold the write lock. SQLite's own
busy handler would sleep the thread, and so the whole event loop, until it is free; so
connections here have no busy timeout, and a statement that finds the database locked
waits in ``asyncio.sleep`` and runs again, until ``busy_seconds`` have passed. Only the
first statement of a transaction is run again, and only after rolling back the
transaction its implicit ``BEGIN`` opened: nothing of the transaction had been written,
which is exactly what SQLite's busy handler retries
(https://www.sqlite.org/c3ref/busy_handler.html). Later statements hold the write lock
already (WAL mode), or were reading a snapshot another process has since overwritten
(SQLITE_BUSY_SNAPSHOT, https://www.sqlite.org/rescode.html#busy_snapshot): those fail,
as running them again could not help.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

FIRST_PAUSE_SECONDS = 0.001
LONGEST_PAUSE_SECONDS = 0.02


class DatabaseBusy(sqlite3.OperationalError):
    """Another connection held the write lock for longer than ``busy_seconds``."""


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's SQLITE_BUSY, in any of its extended forms."""
    if isinstance(exc, DatabaseBusy):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        isinstance(exc, sqlite3.OperationalError)
        and code is not None
        and code & 0xFF == sqlite3.SQLITE_BUSY
    )


class InlineCursor:
    """An aiosqlite-shaped cursor over a ``sqlite3.Cursor``."""

    __slots__ = ("_cursor", "_owner")

    def __init__(self, cursor: sqlite3.Cursor, owner: InlineConnection) -> None:
        self._cursor = cursor
        self._owner = owner

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    # The call is written out in both methods, not shared: these run for every statement.
    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        values = () if parameters is None else parameters
        first = not self._cursor.connection.in_transaction
        try:
            self._cursor.execute(sql, values)
        except sqlite3.OperationalError as exc:
            if not (first and is_busy(exc)):
                raise
            await self._owner.run_when_free(self._cursor.execute, sql, values)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        # A list, so that running it again after a busy wait sends the same rows.
        rows = parameters if isinstance(parameters, list | tuple) else list(parameters)
        first = not self._cursor.connection.in_transaction
        try:
            self._cursor.executemany(sql, rows)
        except sqlite3.OperationalError as exc:
            if not (first and is_busy(exc)):
                raise
            await self._owner.run_when_free(self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """An aiosqlite-shaped connection over a ``sqlite3.Connection``."""

    def __init__(self, connection: sqlite3.Connection, busy_seconds: float) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._busy_seconds = busy_seconds

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._conn.isolation_level = value

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor(), self)

    async def run_when_free(self, call: Callable[..., T], *args: Any) -> T:
        """Run ``call(*args)`` again, the first statement of a transaction that found the
        database locked, once another process lets go of it (see above)."""
        deadline = time.monotonic() + self._busy_seconds
        pause = FIRST_PAUSE_SECONDS
        while True:
            if self._conn.in_transaction:
                self._conn.rollback()  # the failed statement's own BEGIN: nothing in it
            if time.monotonic() + pause > deadline:
                raise DatabaseBusy(
                    f"database is locked: another process held its write lock for more "
                    f"than {self._busy_seconds:g} s"
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
            try:
                return call(*args)
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def connector(database: str, busy_seconds: float) -> Callable[[], Awaitable[InlineConnection]]:
    """An ``async_creator`` for SQLAlchemy that opens ``database`` inline; statements wait
    up to ``busy_seconds`` for another process's write lock."""

    async def connect() -> InlineConnection:
        # check_same_thread=False: the pool may close connections from the GC thread.
        # timeout=0: no busy handler, whose sleeps would stop the event loop.
        opened = sqlite3.connect(database, timeout=0, check_same_thread=False)
        return InlineConnection(opened, busy_seconds)

    return connect
