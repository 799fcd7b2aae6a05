"""What a ``/metrics`` scrape costs the database: the instance-wide reads on a big table.

    .venv/bin/python -m bench.instance_gauges [--notifications 500000] [--jobs 200000]
                                              [--backends sqlite,postgres]

Fills a scratch database (migrated to head) with ``notifications`` rows, all but 20 of
them completed and spread over 30 days, and ``jobs`` queue rows (half due, half delayed),
then times each read of delivery/instance_gauges.py (median of 20 runs): paused
credentials, the oldest notification still sending (with the partial index of migration
0017, and without it, dropped for the comparison), the notifications stored in the last
minute, and the queue's oldest due job per kind. PostgreSQL at 127.0.0.1:5432 (a scratch
database is made and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pushgate.core.ids import last_id_at, new_ids, now_ms
from pushgate.queue.sql import SqlQueue
from pushgate.storage import migrate
from pushgate.storage.engine import create_engine
from pushgate.storage.instance_stats import InstanceStatsStore
from pushgate.storage.tables import apps as app_rows
from pushgate.storage.tables import jobs, notifications, tenants

DAY_MS = 86_400_000
KINDS = ("fanout", "send", "respond", "ops_webhook")


async def fill(engine: AsyncEngine, count: int, job_count: int) -> None:
    now = now_ms()
    tenant, app = str(uuid.uuid4()), str(uuid.uuid4())
    async with engine.begin() as connection:
        await connection.execute(sa.insert(tenants).values(id=tenant, name="bench", created_at=now))
        await connection.execute(
            sa.insert(app_rows).values(
                id=app, tenant_id=tenant, name="bench", created_at=now, updated_at=now
            )
        )
    step = 30 * DAY_MS // count
    for start in range(0, count, 10_000):
        rows = []
        for n in range(start, min(count, start + 10_000)):
            at = now - 30 * DAY_MS + n * step
            tail = uuid.uuid4().hex
            stamp = at.to_bytes(6, "big").hex()
            rows.append(
                {
                    "id": f"{stamp[:8]}-{stamp[8:]}-7{tail[:3]}-8{tail[3:6]}-{tail[6:18]}",
                    "tenant_id": tenant,
                    "app_id": app,
                    "audience": {"everyone": True},
                    "content": {"title": "t"},
                    "state": "sending" if n >= count - 20 else "completed",
                    "targeted": 10,
                    "fanout_done": True,
                    "expires_at": at + DAY_MS,
                    "created_at": at,
                    "updated_at": at,
                }
            )
        async with engine.begin() as connection:
            await connection.execute(sa.insert(notifications), rows)
    for start in range(0, job_count, 10_000):
        ids = new_ids(min(10_000, job_count - start))
        rows = [
            {
                "id": job_id,
                "kind": KINDS[n % len(KINDS)],
                "payload": b"x" * 64,
                "attempts": 0,
                "due_at": now + (60_000 if n % 2 else -60_000),
                "visible_at": now + (60_000 if n % 2 else -60_000),
                "created_at": now,
            }
            for n, job_id in enumerate(ids)
        ]
        async with engine.begin() as connection:
            await connection.execute(sa.insert(jobs), rows)


async def median_ms(read: Callable[[], Awaitable[object]], runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def measure(name: str, url: str, count: int, job_count: int) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        started = time.perf_counter()
        await fill(engine, count, job_count)
        took = time.perf_counter() - started
        print(f"{name}: {count} notifications, {job_count} jobs in {took:.0f} s")
        stats = InstanceStatsStore(engine)
        queue = SqlQueue(engine)
        minute_ago = last_id_at(now_ms() - 60_000)

        async def last_minute() -> int:
            return await stats.notifications_between(minute_ago, last_id_at(now_ms()))

        rows = [
            ("paused credentials", lambda: stats.paused_credentials()),
            ("oldest sending (partial index)", lambda: stats.oldest_sending_since()),
            (
                "notifications of the last minute",
                last_minute,
            ),
            ("queue oldest due, 4 kinds", lambda: queue.oldest_due(KINDS)),
        ]
        for label, read in rows:
            print(f"  {label:<36} {await median_ms(read):8.2f} ms")
        async with engine.begin() as connection:
            await connection.execute(sa.text("DROP INDEX ix_notifications_sending"))
        unindexed = await median_ms(stats.oldest_sending_since, 5)
        print(f"  {'oldest sending (no index)':<36} {unindexed:8.2f} ms")
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notifications", type=int, default=500_000)
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    backends = args.backends.split(",")
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{folder}/bench.db"
            await measure("sqlite", url, args.notifications, args.jobs)
    if "postgres" in backends:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await admin.execute(f"CREATE DATABASE {name}")
        try:
            url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
            await measure("postgres", url, args.notifications, args.jobs)
        finally:
            await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
