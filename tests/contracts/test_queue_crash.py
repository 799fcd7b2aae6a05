"""A worker killed with SIGKILL while holding leases loses nothing (real processes)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from pushgate.queue import NewJob
from tests.contracts.conftest import QueueBackend

CHILD = Path(__file__).with_name("queue_child.py")
LEASE_SECONDS = 1.0


async def test_jobs_of_a_killed_worker_are_taken_again(queue_backend: QueueBackend) -> None:
    queue = await queue_backend.open()
    enqueued = [NewJob("send", f"job-{n}".encode()) for n in range(20)]
    await queue.enqueue(enqueued)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        queue_backend.database_url,
        queue_backend.queue_url,
        queue_backend.prefix,
        "send",
        "15",
        str(LEASE_SECONDS),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        async with asyncio.timeout(30):
            held_by_child = set((await child.stdout.readline()).decode().split())
        assert len(held_by_child) == 15
        child.kill()  # SIGKILL: no cleanup, no ack, the leases are simply abandoned
        await child.wait()
        free = await queue.lease("send", 20, LEASE_SECONDS)
        assert {job.id for job in free}.isdisjoint(held_by_child)
        assert len(free) == 5
        await queue.ack(free)
        taken: dict[str, int] = {}
        async with asyncio.timeout(15):
            while len(taken) < 15:
                for job in await queue.lease("send", 20, LEASE_SECONDS):
                    taken[job.id] = job.attempts
                    await queue.ack([job])
                await asyncio.sleep(0.1)
        assert set(taken) == held_by_child
        assert set(taken.values()) == {2}
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
