"""Waking idle workers of the ``sql`` queue without polling.

Inside one process an enqueue sets an ``asyncio.Event`` per waiting worker (the only
signal SQLite needs: it serves one process). On PostgreSQL every enqueue also sends
``NOTIFY`` in its transaction, delivered when it commits
(https://www.postgresql.org/docs/current/sql-notify.html), and a listener connection in
every process turns those into the same local events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

import asyncpg
import sqlalchemy as sa

log = logging.getLogger(__name__)

# One channel for every kind; the payload names the kind (NOTIFY payloads are text).
CHANNEL = "pushgate_jobs"


class LocalSignals:
    """Events of the workers waiting in this process, by the kinds they wait for."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = {}

    def subscribe(self, kinds: Iterable[str]) -> asyncio.Event:
        event = asyncio.Event()
        for kind in kinds:
            self._waiters.setdefault(kind, set()).add(event)
        return event

    def unsubscribe(self, event: asyncio.Event, kinds: Iterable[str]) -> None:
        for kind in kinds:
            waiting = self._waiters.get(kind)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiters[kind]

    def signal(self, kinds: Iterable[str]) -> None:
        for kind in kinds:
            for event in self._waiters.get(kind, ()):
                event.set()


class PostgresListener:
    """A dedicated connection that ``LISTEN``s and forwards each kind to ``signals``.

    Started on the first wait; if the connection drops, the next wait opens a new one
    (waits in between fall back to their timeout).
    """

    def __init__(self, url: sa.URL, signals: LocalSignals) -> None:
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._signals = signals
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        if self._connection is not None and not self._connection.is_closed():
            return
        async with self._lock:
            if self._connection is not None and not self._connection.is_closed():
                return
            connection = await asyncpg.connect(self._dsn)
            await connection.add_listener(CHANNEL, self._on_notify)
            self._connection = connection

    def _on_notify(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self._signals.signal((payload,))

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await connection.close(timeout=2)
