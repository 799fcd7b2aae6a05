"""Job queue benchmark: jobs/s through enqueue, lease and ack, per backend and batch size.

    .venv/bin/python -m bench.job_queue [--count 20000] [--batches 100,1000]
                                   [--backends sqlite,postgres,redis]

For each backend and batch size: enqueue ``count`` jobs (~200-byte payloads) in batches,
then lease and ack them in batches of the same size, one worker in this process. Printed:
enqueue jobs/s, lease+ack jobs/s, and the whole round (enqueue + lease + ack). In the same
run a baseline does the same round on the bare store with no queue semantics (sqlite3
executemany INSERT/DELETE; asyncpg executemany INSERT and DELETE ... RETURNING; Redis
pipelined XADD, XREADGROUP, XACK+XDEL), and each round is also given as a ratio to it.
PostgreSQL at 127.0.0.1:5432 (a scratch database is made and dropped), Redis at
127.0.0.1:6379 db 15 (keys under a random prefix, deleted after). Numbers are for this
machine and sitting; compare ratios within one run. Run it with ``-m``: as a plain file
its folder would come first on ``sys.path`` and its name would hide the standard
library's ``queue`` module.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pushgate.queue import NewJob, Queue, queue_from_url
from pushgate.storage import migrate
from pushgate.storage.engine import create_engine

REDIS_URL = "redis://127.0.0.1:6379/15"
PAYLOAD = os.urandom(100).hex().encode()  # ~200 bytes, like a delivery batch reference
Round = Callable[[int, int], Awaitable[tuple[float, float]]]


async def queue_round(queue: Queue, count: int, batch: int) -> tuple[float, float]:
    """Seconds to enqueue ``count`` jobs, then to lease and ack them all."""
    kind = f"bench-{secrets.token_hex(3)}"
    started = time.perf_counter()
    for _ in range(0, count, batch):
        await queue.enqueue([NewJob(kind, PAYLOAD) for _ in range(batch)])
    enqueued = time.perf_counter()
    done = 0
    while done < count:
        leased = await queue.lease(kind, batch, 60)
        assert leased, "the queue ran dry before every job came back"
        done += await queue.ack(leased)
    return enqueued - started, time.perf_counter() - enqueued


@contextlib.asynccontextmanager
async def sql_queue(database_url: str) -> AsyncIterator[Queue]:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    queue = queue_from_url("sql", engine)
    try:
        yield queue
    finally:
        await queue.close()
        await engine.dispose()


async def sqlite_baseline(path: Path, count: int, batch: int) -> tuple[float, float]:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE IF NOT EXISTS bare (id TEXT PRIMARY KEY, payload BLOB)")
    started = time.perf_counter()
    for start in range(0, count, batch):
        rows = [(f"{start + n:012d}", PAYLOAD) for n in range(batch)]
        with connection:
            connection.executemany("INSERT INTO bare VALUES (?, ?)", rows)
    enqueued = time.perf_counter()
    for _ in range(0, count, batch):
        with connection:
            ids = connection.execute("SELECT id, payload FROM bare LIMIT ?", (batch,)).fetchall()
            connection.executemany("DELETE FROM bare WHERE id = ?", [(i,) for i, _ in ids])
    finished = time.perf_counter()
    connection.close()
    return enqueued - started, finished - enqueued


async def postgres_baseline(dsn: str, count: int, batch: int) -> tuple[float, float]:
    connection = await asyncpg.connect(dsn)
    await connection.execute("CREATE TABLE IF NOT EXISTS bare (id TEXT PRIMARY KEY, payload BYTEA)")
    started = time.perf_counter()
    for start in range(0, count, batch):
        rows = [(f"{start + n:012d}", PAYLOAD) for n in range(batch)]
        await connection.executemany("INSERT INTO bare VALUES ($1, $2)", rows)
    enqueued = time.perf_counter()
    for _ in range(0, count, batch):
        await connection.fetch(
            "DELETE FROM bare WHERE id IN (SELECT id FROM bare LIMIT $1) RETURNING payload", batch
        )
    finished = time.perf_counter()
    await connection.close()
    return enqueued - started, finished - enqueued


async def redis_baseline(prefix: str, count: int, batch: int) -> tuple[float, float]:
    client = aioredis.Redis.from_url(REDIS_URL)
    stream = f"{{{prefix}}}:bare:{secrets.token_hex(3)}"
    await client.xgroup_create(stream, "g", "0", mkstream=True)
    started = time.perf_counter()
    for _ in range(0, count, batch):
        async with client.pipeline(transaction=True) as pipe:
            for _ in range(batch):
                pipe.xadd(stream, {"p": PAYLOAD})
            await pipe.execute()
    enqueued = time.perf_counter()
    for _ in range(0, count, batch):
        answer = await client.xreadgroup("g", "c", {stream: ">"}, count=batch)
        ids = [entry for entry, _fields in answer[0][1]]
        async with client.pipeline(transaction=False) as pipe:
            pipe.xack(stream, "g", *ids)
            pipe.xdel(stream, *ids)
            await pipe.execute()
    finished = time.perf_counter()
    await client.aclose()
    return enqueued - started, finished - enqueued


async def fresh_postgres() -> tuple[str, Callable[[], Awaitable[None]]]:
    name = f"pushgate_bench_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(host="127.0.0.1", user="postgres", database="test")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()

    async def drop() -> None:
        connection = await asyncpg.connect(host="127.0.0.1", user="postgres", database="test")
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()

    return f"postgres://postgres@127.0.0.1:5432/{name}", drop


async def delete_redis_keys(prefix: str) -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    async for key in client.scan_iter(match=f"{{{prefix}}}*", count=1000):
        await client.delete(key)
    await client.aclose()


def report(
    backend: str, batch: int, count: int, measured: tuple[float, float], base: float
) -> None:
    enqueue, drain = measured
    whole = count / (enqueue + drain)
    print(
        f"| {backend} | {batch:,} | {count / enqueue:,.0f} | {count / drain:,.0f} "
        f"| {whole:,.0f} | {base:,.0f} | {whole / base:.2f} |"
    )


async def run_backend(name: str, count: int, batches: list[int], workdir: Path) -> None:
    cleanup: Callable[[], Awaitable[None]] | None = None
    prefix = f"pushgate-bench-{secrets.token_hex(4)}"
    if name == "sqlite":
        database_url = f"sqlite+aiosqlite:///{workdir / 'queue.db'}"
        queue_url, baseline = "sql", lambda c, b: sqlite_baseline(workdir / "bare.db", c, b)
    elif name == "postgres":
        dsn, cleanup = await fresh_postgres()
        database_url = dsn.replace("postgres://", "postgresql+asyncpg://")
        queue_url, baseline = "sql", lambda c, b: postgres_baseline(dsn, c, b)
    else:
        database_url = f"sqlite+aiosqlite:///{workdir / 'unused.db'}"
        queue_url, baseline = REDIS_URL, lambda c, b: redis_baseline(prefix, c, b)
    try:
        engine = create_engine(database_url)
        await migrate.upgrade(engine)
        queue = queue_from_url(queue_url, engine, prefix=prefix)
        for batch in batches:
            base_enqueue, base_drain = await baseline(count, batch)
            measured = await queue_round(queue, count, batch)
            report(name, batch, count, measured, count / (base_enqueue + base_drain))
        await queue.close()
        await engine.dispose()
    finally:
        if cleanup is not None:
            await cleanup()
        if name == "redis":
            await delete_redis_keys(prefix)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--batches", default="100,1000")
    parser.add_argument("--backends", default="sqlite,postgres,redis")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    print(f"{args.count:,} jobs per round, one worker, payload {len(PAYLOAD)} bytes\n")
    print(
        "| backend | batch | enqueue jobs/s | lease+ack jobs/s | round jobs/s | bare store "
        "round jobs/s | ÷ bare |"
    )
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.backends.split(","):
            await run_backend(name, args.count, batches, Path(workdir))


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
