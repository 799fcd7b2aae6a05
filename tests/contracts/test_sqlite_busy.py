"""SQLite shared with another process (a CLI command on the same file): work waits for
its write lock without stopping the event loop, then runs whole on what that process
wrote; past the wait it fails with ``Unavailable`` and has written nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from pushgate.errors import Unavailable
from pushgate.queue.base import NewJob
from pushgate.queue.sql import SqlQueue
from pushgate.storage.engine import create_engine
from tests.sqlite_lock import write_lock_held

KIND = "busy-test"
THEIR_JOB = (
    "INSERT INTO jobs (id, kind, payload, attempts, due_at, visible_at, created_at)"
    " VALUES ('theirs', 'busy-test', x'00', 0, 0, 0, 0)"
)


@pytest.fixture
async def engines(migrated_sqlite: Path) -> AsyncIterator[list[AsyncEngine]]:
    made: list[AsyncEngine] = []
    yield made
    for engine in made:
        await engine.dispose()


def open_queue(path: Path, engines: list[AsyncEngine], **options: float) -> SqlQueue:
    engine = create_engine(f"sqlite+aiosqlite:///{path}", **options)
    engines.append(engine)
    return SqlQueue(engine)


async def test_a_lease_waits_for_the_lock_and_takes_what_the_other_process_wrote(
    migrated_sqlite: Path, engines: list[AsyncEngine]
) -> None:
    queue = open_queue(migrated_sqlite, engines)
    await queue.enqueue([NewJob(KIND, b"1", id="mine")])
    with write_lock_held(migrated_sqlite, THEIR_JOB) as holder:
        lease = asyncio.create_task(queue.lease(KIND, 10, 60.0))
        await asyncio.sleep(0)  # its first step, up to the locked database
        # The loop is free meanwhile: a read runs (on the snapshot before their write).
        assert (await queue.depth([KIND]))[KIND].ready == 1
        assert not lease.done()
        assert holder.is_holding
    leased = await asyncio.wait_for(lease, 30)
    assert sorted(job.id for job in leased) == ["mine", "theirs"]


async def test_past_the_wait_writes_fail_unavailable_and_leave_nothing_half_done(
    migrated_sqlite: Path, engines: list[AsyncEngine]
) -> None:
    queue = open_queue(migrated_sqlite, engines, sqlite_busy_seconds=0.1)
    await queue.enqueue([NewJob(KIND, b"1", id="first")])
    [job] = await queue.lease(KIND, 1, 60.0)
    with write_lock_held(migrated_sqlite):
        with pytest.raises(Unavailable):
            await queue.enqueue([NewJob(KIND, b"2", id="second")])
        with pytest.raises(Unavailable):
            await queue.lease(KIND, 1, 60.0)
        # Three statements (take the job, drop an older death, record this one): none ran.
        with pytest.raises(Unavailable):
            await queue.dead_letter(job, "given up")
    depth = (await queue.depth([KIND]))[KIND]
    assert (depth.ready, depth.leased, depth.dead) == (0, 1, 0)
    assert await queue.dead_letter(job, "given up")
    await queue.enqueue([NewJob(KIND, b"2", id="second")])
    depth = (await queue.depth([KIND]))[KIND]
    assert (depth.ready, depth.leased, depth.dead) == (1, 0, 1)
