"""The ``sql`` queue: a ``jobs`` table in pushgate's own database (SQLite or PostgreSQL).

One column, ``visible_at``, says when a lease may take a row: the due time while it
waits, the lease's expiry while it is held. A lease is one statement that picks the
earliest visible rows and stamps them with a new token and expiry, so an expired lease
needs no sweeper: the row is simply visible again. On PostgreSQL the pick is
``FOR UPDATE SKIP LOCKED`` (https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE),
so concurrent workers take disjoint rows without waiting on each other; SQLite has one
writer at a time, and the statement runs under the storage write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
from collections.abc import Sequence
from dataclasses import replace
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.outage import describe, is_outage
from pushgate.queue.base import (
    DeadJob,
    Depth,
    Job,
    NewJob,
    cut_reason,
    kinds_tuple,
    lease_ms,
)
from pushgate.queue.wakeup import CHANNEL, LocalSignals, PostgresListener
from pushgate.storage.engine import in_order, is_postgres, positional_sql, write_transaction
from pushgate.storage.id_sets import ids_value, in_ids
from pushgate.storage.tables import dead_jobs
from pushgate.storage.tables import jobs as job_rows

_LEASED_COLUMNS = (
    job_rows.c.id,
    job_rows.c.kind,
    job_rows.c.payload,
    job_rows.c.attempts,
    job_rows.c.due_at,
    job_rows.c.last_error,
)


class SqlQueue:
    """The job queue on SQLAlchemy Core, for SQLite and PostgreSQL alike."""

    def __init__(self, engine: AsyncEngine, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        # Due times and leases are read on it (a test's clock moves the queue's time too).
        self.clock = clock
        self._signals = LocalSignals()
        self._listener = (
            PostgresListener(engine.url, self._signals) if is_postgres(engine) else None
        )

    async def enqueue(self, jobs: Sequence[NewJob], available_at: int | None = None) -> None:
        if not jobs:
            return
        async with write_transaction(self.engine) as connection:
            await self.enqueue_in(connection, jobs, available_at)
        await self.committed(jobs, available_at)

    async def enqueue_in(
        self, connection: AsyncConnection, jobs: Sequence[NewJob], available_at: int | None = None
    ) -> None:
        """The jobs are rows of this same database: written in the caller's transaction,
        they commit with it, so nothing needs relaying (docs/architecture.md §9)."""
        if not jobs:
            return
        now = self.clock.now_ms()
        due = now if available_at is None else available_at
        sql, order = self._bulk_insert
        fixed: dict[str, Any] = {"due_at": due, "visible_at": due, "created_at": now, "attempts": 0}
        template = [fixed.get(name) for name in order]
        at_id, at_kind, at_payload = (order.index(n) for n in ("id", "kind", "payload"))
        rows = []
        for job in jobs:
            template[at_id], template[at_kind], template[at_payload] = job.id, job.kind, job.payload
            rows.append(tuple(template))
        await connection.exec_driver_sql(sql, rows)
        await self._notify(connection, {job.kind for job in jobs})

    async def committed(self, jobs: Sequence[NewJob], available_at: int | None = None) -> None:
        self._signals.signal({job.kind for job in jobs})

    async def requeue(self, owner: str) -> None:
        """Nothing to do: a job here commits with the change that made it, so a stored
        notification always has its job until a worker finishes it."""

    async def keep(self, stop: asyncio.Event) -> None:
        await stop.wait()

    async def is_ready(self) -> tuple[bool, str]:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(sa.select(job_rows.c.id).limit(1))
        except Exception as exc:
            if not is_outage(exc):
                raise
            return False, f"queue unreachable: {describe(exc)}"
        return True, "ok"

    @functools.cached_property
    def _bulk_insert(self) -> tuple[str, tuple[str, ...]]:
        """The INSERT compiled once; rows go to the driver as tuples (executemany)."""
        statement = sa.insert(job_rows).values(
            {column.name: sa.bindparam(column.name) for column in job_rows.columns}
        )
        return positional_sql(statement, self.engine.dialect)

    async def _notify(self, connection: AsyncConnection, kinds: set[str]) -> None:
        if self._listener is None:
            return
        for kind in sorted(kinds):
            await connection.execute(sa.select(sa.func.pg_notify(CHANNEL, kind)))

    async def lease(
        self, kinds: str | Sequence[str], max_jobs: int, lease_seconds: float
    ) -> list[Job]:
        names = kinds_tuple(kinds)
        now = self.clock.now_ms()
        expires = now + lease_ms(lease_seconds)
        token = secrets.token_hex(16)
        sql, order, fixed = self._lease_sql
        dialect = self.engine.dialect.name
        values = {
            **fixed,
            "kinds": ids_value(names, dialect),
            "now": now,
            "max_jobs": max_jobs,
            "expires": expires,
            "token": token,
        }
        async with write_transaction(self.engine) as connection:
            found = (await connection.exec_driver_sql(sql, in_order(order, values))).fetchall()
        leased = [_job(row, token, expires) for row in found]
        leased.sort(key=lambda job: (job.available_at, job.id))
        return leased

    @functools.cached_property
    def _lease_sql(self) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        """The lease compiled once: a Core statement built per call cost more than running
        it. The kinds are one bound list, so any number of them shares the statement. The
        constants the compiler binds itself (the ``+ 1``, SQLite's ``OFFSET 0``) come with
        their values."""
        dialect = self.engine.dialect.name
        picked = (
            sa.select(job_rows.c.id)
            .where(
                in_ids(job_rows.c.kind, "kinds", dialect),
                job_rows.c.visible_at <= sa.bindparam("now"),
            )
            .order_by(job_rows.c.visible_at)
            .limit(sa.bindparam("max_jobs", type_=sa.Integer))
            .with_for_update(skip_locked=True)  # not rendered on SQLite
        )
        statement = (
            sa.update(job_rows)
            .where(job_rows.c.id.in_(picked))
            .values(
                visible_at=sa.bindparam("expires"),
                lease_token=sa.bindparam("token"),
                attempts=job_rows.c.attempts + 1,
            )
            .returning(*_LEASED_COLUMNS)
        )
        sql, order = positional_sql(statement, self.engine.dialect)
        ours = {"kinds", "now", "max_jobs", "expires", "token"}
        defaults = statement.compile(dialect=self.engine.dialect).params
        return sql, order, {name: defaults[name] for name in order if name not in ours}

    async def ack(self, jobs: Sequence[Job]) -> int:
        done = 0
        sql, order = self._ack_sql
        dialect = self.engine.dialect.name
        by_token = sorted(jobs, key=lambda job: job.lease_token)
        async with write_transaction(self.engine) as connection:
            for token, group in groupby(by_token, key=lambda job: job.lease_token):
                values = {"token": token, "ids": ids_value([job.id for job in group], dialect)}
                result = await connection.exec_driver_sql(sql, in_order(order, values))
                done += result.rowcount
        return done

    @functools.cached_property
    def _ack_sql(self) -> tuple[str, tuple[str, ...]]:
        """The ack compiled once, the ids bound as one list (any count, one statement)."""
        statement = sa.delete(job_rows).where(
            job_rows.c.lease_token == sa.bindparam("token"),
            in_ids(job_rows.c.id, "ids", self.engine.dialect.name),
        )
        return positional_sql(statement, self.engine.dialect)

    async def retry_later(self, job: Job, at: int, reason: str) -> bool:
        statement = (
            sa.update(job_rows)
            .where(job_rows.c.id == job.id, job_rows.c.lease_token == job.lease_token)
            .values(due_at=at, visible_at=at, lease_token=None, last_error=cut_reason(reason))
        )
        async with write_transaction(self.engine) as connection:
            changed = (await connection.execute(statement)).rowcount == 1
            if changed:
                await self._notify(connection, {job.kind})
        if changed:
            self._signals.signal((job.kind,))
        return changed

    async def dead_letter(self, job: Job, reason: str) -> bool:
        taken = (
            sa.delete(job_rows)
            .where(job_rows.c.id == job.id, job_rows.c.lease_token == job.lease_token)
            .returning(
                job_rows.c.kind, job_rows.c.payload, job_rows.c.attempts, job_rows.c.created_at
            )
        )
        async with write_transaction(self.engine) as connection:
            row = (await connection.execute(taken)).first()
            if row is None:
                return False
            # A job id that died before (then enqueued again) keeps only its last death.
            await connection.execute(sa.delete(dead_jobs).where(dead_jobs.c.id == job.id))
            await connection.execute(
                sa.insert(dead_jobs).values(
                    id=job.id,
                    kind=row.kind,
                    payload=row.payload,
                    attempts=row.attempts,
                    reason=cut_reason(reason),
                    created_at=row.created_at,
                    failed_at=self.clock.now_ms(),
                )
            )
        return True

    async def extend(self, job: Job, lease_seconds: float) -> Job | None:
        expires = self.clock.now_ms() + lease_ms(lease_seconds)
        statement = (
            sa.update(job_rows)
            .where(job_rows.c.id == job.id, job_rows.c.lease_token == job.lease_token)
            .values(visible_at=expires)
        )
        async with write_transaction(self.engine) as connection:
            if (await connection.execute(statement)).rowcount != 1:
                return None
        return replace(job, lease_expires_at=expires)

    async def dead_letters(self, kind: str, limit: int = 100) -> list[DeadJob]:
        query = (
            sa.select(dead_jobs)
            .where(dead_jobs.c.kind == kind)
            .order_by(dead_jobs.c.failed_at.desc(), dead_jobs.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as connection:
            found = (await connection.execute(query)).all()
        return [
            DeadJob(r.id, r.kind, bytes(r.payload), r.attempts, r.reason, r.failed_at)
            for r in found
        ]

    async def revive(self, kind: str, job_id: str) -> bool:
        taken = (
            sa.delete(dead_jobs)
            .where(dead_jobs.c.id == job_id, dead_jobs.c.kind == kind)
            .returning(dead_jobs.c.payload, dead_jobs.c.reason, dead_jobs.c.created_at)
        )
        now = self.clock.now_ms()
        async with write_transaction(self.engine) as connection:
            row = (await connection.execute(taken)).first()
            if row is None:
                return False
            await connection.execute(
                sa.insert(job_rows).values(
                    id=job_id,
                    kind=kind,
                    payload=row.payload,
                    attempts=1,  # leased once before, as the queue's contract says
                    due_at=now,
                    visible_at=now,
                    lease_token=None,
                    last_error=row.reason,
                    created_at=row.created_at,
                )
            )
            await self._notify(connection, {kind})
        self._signals.signal((kind,))
        return True

    async def depth(self, kinds: Sequence[str] | None = None) -> dict[str, Depth]:
        now = self.clock.now_ms()
        waiting = job_rows.c.visible_at > now
        live = sa.select(
            job_rows.c.kind,
            sa.func.sum(sa.case((job_rows.c.visible_at <= now, 1), else_=0)),
            sa.func.sum(sa.case((waiting & job_rows.c.lease_token.is_(None), 1), else_=0)),
            sa.func.sum(sa.case((waiting & job_rows.c.lease_token.is_not(None), 1), else_=0)),
        ).group_by(job_rows.c.kind)
        dead = sa.select(dead_jobs.c.kind, sa.func.count()).group_by(dead_jobs.c.kind)
        if kinds is not None:
            live = live.where(job_rows.c.kind.in_(kinds))
            dead = dead.where(dead_jobs.c.kind.in_(kinds))
        counts: dict[str, Depth] = {kind: Depth() for kind in kinds or ()}
        async with self.engine.connect() as connection:
            for kind, ready, delayed, leased in (await connection.execute(live)).all():
                counts[kind] = Depth(int(ready), int(delayed), int(leased))
            for kind, count in (await connection.execute(dead)).all():
                counts[kind] = replace(counts.get(kind, Depth()), dead=int(count))
        return counts

    async def oldest_due(self, kinds: Sequence[str]) -> dict[str, int]:
        now = self.clock.now_ms()
        found: dict[str, int] = {}
        async with self.engine.connect() as connection:
            for kind in kinds:
                # The head of the (kind, visible_at) index: a waiting job's due time, or
                # the end of a lease that ran out.
                head = (
                    sa.select(job_rows.c.visible_at)
                    .where(job_rows.c.kind == kind, job_rows.c.visible_at <= now)
                    .order_by(job_rows.c.visible_at)
                    .limit(1)
                )
                due = (await connection.execute(head)).scalar()
                if due is not None:
                    found[kind] = int(due)
        return found

    async def wait(self, kinds: str | Sequence[str], max_wait: float) -> bool:
        names = kinds_tuple(kinds)
        if self._listener is not None:
            await self._listener.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while True:
            # Subscribe before looking, so an enqueue between the look and the sleep
            # still sets the event.
            event = self._signals.subscribe(names)
            try:
                next_visible = await self._next_visible(names)
                now = self.clock.now_ms()
                if next_visible is not None and next_visible <= now:
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                if next_visible is not None:
                    remaining = min(remaining, (next_visible - now) / 1000)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await event.wait()
            finally:
                self._signals.unsubscribe(event, names)

    async def _next_visible(self, names: tuple[str, ...]) -> int | None:
        """The earliest time a lease could take a job of ``names`` (due or expiring)."""
        query = sa.select(sa.func.min(job_rows.c.visible_at)).where(job_rows.c.kind.in_(names))
        async with self.engine.connect() as connection:
            value: Any = (await connection.execute(query)).scalar()
        return None if value is None else int(value)

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()


def _job(row: Sequence[Any], token: str, expires: int) -> Job:
    # Positional: attribute access on rows costs more than the rest of this per job.
    job_id, kind, payload, attempts, due_at, last_error = row
    return Job(job_id, kind, bytes(payload), attempts, due_at, token, expires, last_error)
