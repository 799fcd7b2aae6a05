"""Queue backends for the queue contract: sql on SQLite and PostgreSQL, and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from pushgate.queue import Queue, queue_from_url
from pushgate.storage import migrate
from pushgate.storage.engine import create_engine
from tests.conftest import fresh_sqlite
from tests.services import REDIS_URL, require_service, unique_name

QUEUE_BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
]


@dataclass
class QueueBackend:
    """Where a test's queues live; ``open`` makes another queue on the same jobs (for
    Redis, another consumer; for SQL, another engine, as another process would)."""

    name: str
    database_url: str
    queue_url: str
    prefix: str
    opened: list[tuple[Queue, AsyncEngine]] = field(default_factory=list)

    async def open(self) -> Queue:
        engine = create_engine(self.database_url)
        queue = queue_from_url(self.queue_url, engine, prefix=self.prefix)
        self.opened.append((queue, engine))
        return queue

    async def close_all(self) -> None:
        for queue, engine in self.opened:
            await queue.close()
            await engine.dispose()


def _require_redis() -> None:
    parts = urlsplit(REDIS_URL)
    require_service("redis", parts.hostname or "127.0.0.1", parts.port or 6379)


async def _delete_keys(prefix: str) -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        # Only this test's keys: a prefix of its own, never FLUSHALL/FLUSHDB.
        async for key in client.scan_iter(match=f"{{{prefix}}}*", count=1000):
            await client.delete(key)
    finally:
        await client.aclose()


async def _prepare_database(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        if url.startswith("postgresql"):
            async with engine.begin() as connection:
                await connection.execute(sa.text("TRUNCATE jobs, dead_jobs"))
    finally:
        await engine.dispose()


@pytest.fixture(params=QUEUE_BACKENDS)
def queue_location(request: pytest.FixtureRequest, tmp_path: Path) -> QueueBackend:
    """Where the queue lives: sql on SQLite, sql on PostgreSQL, or Redis (its outbox on
    SQLite)."""
    queue_url, prefix = "sql", unique_name("pushgate-test")
    if request.param == "postgres":
        database_url: str = request.getfixturevalue("postgres_database")
    else:
        template = request.getfixturevalue("migrated_sqlite_template")
        database_url = fresh_sqlite(template, tmp_path)
    if request.param == "redis":
        _require_redis()
        queue_url = REDIS_URL
    return QueueBackend(request.param, database_url, queue_url, prefix)


@pytest.fixture
async def queue_backend(queue_location: QueueBackend) -> AsyncIterator[QueueBackend]:
    """Each test using this runs on every backend, starting from an empty queue."""
    await _prepare_database(queue_location.database_url)
    try:
        yield queue_location
    finally:
        await queue_location.close_all()
        if queue_location.name == "redis":
            await _delete_keys(queue_location.prefix)


@pytest.fixture
async def queue(queue_backend: QueueBackend) -> Queue:
    return await queue_backend.open()


@pytest.fixture
async def migrated_sqlite(tmp_path: Path) -> Path:
    """A SQLite database file with every migration applied."""
    path = tmp_path / "pushgate.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    return path
