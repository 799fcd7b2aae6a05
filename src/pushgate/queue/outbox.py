"""The Redis queue behind a transactional outbox in pushgate's own database.

Redis and the database cannot share a transaction, so a job for Redis is first a row of
the ``outbox`` table, written in the same transaction as the change that made it (a
notification accepted, a page fanned out): both commit or neither does. Then:

- right after the commit, the job is pushed to Redis and its row marked relayed; should
  Redis be down, the row waits, and the *relay* pushes it once Redis is back;
- the row stays until a worker finishes the job (ack or dead letter), so the table says
  which jobs must exist. The *reconciler* (at start and every 30 s) looks up the ids of
  relayed rows in Redis and queues again those Redis lost (a restart without
  persistence, a FLUSHDB, a failover to a stale replica).

Pushing is idempotent: Redis skips a job whose id it holds already (waiting, delayed or
leased), so relay, reconciler and the push after commit may overlap in any number of
processes. A job queued again by the reconciler counts as leased once before, so its
worker reads back what is still to do rather than trust what it carries (it may have
run in part before Redis lost it). See docs/architecture.md §9.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pushgate.core.ids import now_ms
from pushgate.outage import Backoff, OutageLog, describe, is_outage
from pushgate.queue.base import DeadJob, Depth, Job, NewJob
from pushgate.queue.redis import RedisQueue
from pushgate.storage.engine import write_transaction
from pushgate.storage.tables import outbox

log = logging.getLogger(__name__)

# Rows moved or checked per round trip.
BATCH = 500
# How often the relay looks for rows the push after commit left (it is also woken at
# once when a push fails).
RELAY_POLL_SECONDS = 2.0
RECONCILE_SECONDS = 30.0


class OutboxQueue:
    """A :class:`RedisQueue` whose jobs are stored first in the ``outbox`` table."""

    def __init__(
        self,
        redis: RedisQueue,
        engine: AsyncEngine,
        *,
        reconcile_seconds: float = RECONCILE_SECONDS,
    ) -> None:
        self.redis = redis
        self.engine = engine
        self.reconcile_seconds = reconcile_seconds
        self.queue_outage = OutageLog("queue (outbox relay)", log)
        self.database_outage = OutageLog("database (outbox relay)", log)
        self._nudge = asyncio.Event()
        self._nudge.set()  # rows left by an earlier run are relayed at start

    # -- writing jobs ----------------------------------------------------------------
    async def enqueue(self, jobs: Sequence[NewJob], available_at: int | None = None) -> None:
        if not jobs:
            return
        async with write_transaction(self.engine) as connection:
            await self.enqueue_in(connection, jobs, available_at)
        await self.committed(jobs, available_at)

    async def enqueue_in(
        self, connection: AsyncConnection, jobs: Sequence[NewJob], available_at: int | None = None
    ) -> None:
        if not jobs:
            return
        now = now_ms()
        rows = [
            {
                "id": job.id,
                "kind": job.kind,
                "payload": job.payload,
                "available_at": available_at,
                "owner_id": job.owner,
                "created_at": now,
                "relayed_at": None,
            }
            for job in jobs
        ]
        await connection.execute(sa.insert(outbox), rows)

    async def committed(self, jobs: Sequence[NewJob], available_at: int | None = None) -> None:
        """Push the jobs now, sparing the relay's delay; while the queue is known to be
        down, leave them to the relay (a caller is not held up by a dead Redis)."""
        if not jobs:
            return
        if self.queue_outage.down:
            self._nudge.set()
            return
        try:
            await self.redis.enqueue_again(jobs, available_at, ran_before=False)
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.queue_outage.failed(exc)
            self._nudge.set()
            return
        with contextlib.suppress(Exception):
            # Should this fail, the relay pushes them again: Redis skips them.
            await self._mark_relayed([job.id for job in jobs], now_ms())

    async def _mark_relayed(self, ids: Sequence[str], at: int) -> None:
        async with write_transaction(self.engine) as connection:
            await connection.execute(
                sa.update(outbox).where(outbox.c.id.in_(ids)).values(relayed_at=at)
            )

    async def _forget(self, ids: Sequence[str]) -> None:
        """Finished jobs leave the outbox first: a worker dying between this and the
        Redis ack leaves a job Redis hands out again once its lease runs out, whereas the
        other order could leave a row the reconciler would queue again though done."""
        if not ids:
            return
        async with write_transaction(self.engine) as connection:
            await connection.execute(sa.delete(outbox).where(outbox.c.id.in_(ids)))

    async def requeue(self, owner: str) -> None:
        """Push the owner's stored jobs again (Redis skips those it holds). While Redis is
        down they stay stored, for the relay and the reconciler."""
        query = sa.select(outbox).where(outbox.c.owner_id == owner)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        try:
            await self._push(rows, ran_before=True)
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.queue_outage.failed(exc)
            self._nudge.set()

    async def _push(self, rows: Sequence[Any], *, ran_before: bool) -> int:
        """Queue the rows' jobs in Redis (those it does not hold); how many were new."""
        by_due: dict[int | None, list[NewJob]] = defaultdict(list)
        for row in rows:
            job = NewJob(row.kind, bytes(row.payload), row.id, row.owner_id)
            by_due[row.available_at].append(job)
        stored = 0
        for due, jobs in by_due.items():
            stored += await self.redis.enqueue_again(jobs, due, ran_before=ran_before)
        return stored

    # -- upkeep ----------------------------------------------------------------------
    async def keep(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._relay_loop(stop))
            group.create_task(self._reconcile_loop(stop))

    async def _relay_loop(self, stop: asyncio.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RELAY_POLL_SECONDS):
                    await _first(self._nudge.wait(), stop.wait())
            if stop.is_set():
                return
            self._nudge.clear()
            if not await self._guarded(self.relay, backoff):
                self._nudge.set()
                await _pause(stop, backoff.next_wait())
            else:
                backoff.reset()

    async def _reconcile_loop(self, stop: asyncio.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            if await self._guarded(self.reconcile, backoff):
                backoff.reset()
                await _pause(stop, self.reconcile_seconds)
            else:
                await _pause(stop, backoff.next_wait())

    async def _guarded(self, step: Any, backoff: Backoff) -> bool:
        """Run ``step``; False after an outage (logged once per outage)."""
        try:
            await step()
            if self.queue_outage.down:
                await self.redis.client.ping()  # a step may not have needed Redis
        except Exception as exc:
            if not is_outage(exc):
                log.exception("outbox upkeep failed")
                return False
            self._outage_of(exc).failed(exc)
            return False
        self.queue_outage.succeeded()
        self.database_outage.succeeded()
        return True

    def _outage_of(self, exc: BaseException) -> OutageLog:
        name = type(exc).__module__
        return self.queue_outage if name.startswith("redis") else self.database_outage

    async def relay(self) -> int:
        """Push every row not yet relayed; answers how many were pushed."""
        moved = 0
        while True:
            query = (
                sa.select(outbox)
                .where(outbox.c.relayed_at.is_(None))
                .order_by(outbox.c.created_at, outbox.c.id)
                .limit(BATCH)
            )
            async with self.engine.connect() as connection:
                rows = (await connection.execute(query)).all()
            if not rows:
                return moved
            await self._push(rows, ran_before=False)
            await self._mark_relayed([row.id for row in rows], now_ms())
            moved += len(rows)
            if len(rows) < BATCH:
                return moved

    async def reconcile(self) -> int:
        """Queue again the relayed jobs Redis does not hold; answers how many.

        No race with a worker finishing a job: a row is marked relayed only once Redis
        holds its job, and leaves the outbox before Redis lets the job go; so a relayed
        row whose job Redis lacks, read back after Redis said so, is a lost job."""
        after = ""
        restored = 0
        while True:
            query = (
                sa.select(outbox.c.id, outbox.c.kind)
                .where(outbox.c.relayed_at.is_not(None), outbox.c.id > after)
                .order_by(outbox.c.id)
                .limit(BATCH)
            )
            async with self.engine.connect() as connection:
                found = (await connection.execute(query)).all()
            if not found:
                break
            after = found[-1].id
            missing = await self.redis.missing([(row.id, row.kind) for row in found])
            if missing:
                # Read after Redis answered: a job finished meanwhile left the outbox
                # before Redis, so it is not read back here.
                query = sa.select(outbox).where(outbox.c.id.in_(missing))
                async with self.engine.connect() as connection:
                    rows = (await connection.execute(query)).all()
                restored += await self._push(rows, ran_before=True)
            if len(found) < BATCH:
                break
        if restored:
            log.warning("queued again %d job(s) the queue had lost", restored)
        return restored

    async def is_ready(self) -> tuple[bool, str]:
        try:
            await self.redis.client.ping()
        except Exception as exc:
            if not is_outage(exc):
                raise
            return False, f"queue unreachable: {describe(exc)}"
        return True, "ok"

    # -- the rest of the queue contract --------------------------------------------
    async def lease(
        self, kinds: str | Sequence[str], max_jobs: int, lease_seconds: float
    ) -> list[Job]:
        return await self.redis.lease(kinds, max_jobs, lease_seconds)

    async def ack(self, jobs: Sequence[Job]) -> int:
        await self._forget([job.id for job in jobs])
        return await self.redis.ack(jobs)

    async def retry_later(self, job: Job, at: int, reason: str) -> bool:
        return await self.redis.retry_later(job, at, reason)

    async def dead_letter(self, job: Job, reason: str) -> bool:
        await self._forget([job.id])
        return await self.redis.dead_letter(job, reason)

    async def extend(self, job: Job, lease_seconds: float) -> Job | None:
        return await self.redis.extend(job, lease_seconds)

    async def dead_letters(self, kind: str, limit: int = 100) -> list[DeadJob]:
        return await self.redis.dead_letters(kind, limit)

    async def revive(self, kind: str, job_id: str) -> bool:
        return await self.redis.revive(kind, job_id)

    async def depth(self, kinds: Sequence[str] | None = None) -> dict[str, Depth]:
        return await self.redis.depth(kinds)

    async def oldest_due(self, kinds: Sequence[str]) -> dict[str, int]:
        return await self.redis.oldest_due(kinds)

    async def wait(self, kinds: str | Sequence[str], max_wait: float) -> bool:
        return await self.redis.wait(kinds, max_wait)

    async def close(self) -> None:
        await self.redis.close()


async def _first(*waits: Any) -> None:
    """Wait for the first of ``waits`` (coroutines) and cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
