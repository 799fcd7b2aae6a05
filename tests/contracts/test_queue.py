"""The queue contract, run against sql on SQLite, sql on PostgreSQL and Redis alike."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

from pushgate.core.ids import now_ms
from pushgate.queue import Depth, Job, NewJob, Queue
from tests.contracts.conftest import QueueBackend

# Long enough that no lease in these tests runs out unless the test waits for it.
HOLD = 60.0


def _jobs(kind: str, count: int, tag: str = "job") -> list[NewJob]:
    return [NewJob(kind, f"{tag}-{n}".encode()) for n in range(count)]


async def _lease_until(
    queue: Queue, kinds: str | Sequence[str], count: int, lease_seconds: float = HOLD
) -> list[Job]:
    """Lease until ``count`` jobs came back or 10 s passed (expiries and due times)."""
    taken: list[Job] = []
    async with asyncio.timeout(10):
        while len(taken) < count:
            taken += await queue.lease(kinds, count - len(taken), lease_seconds)
            if len(taken) < count:
                await asyncio.sleep(0.05)
    return taken


async def test_enqueue_lease_ack(queue: Queue) -> None:
    await queue.enqueue([*_jobs("send", 3), NewJob("purge", b"old")])
    leased = await queue.lease("send", 10, HOLD)
    assert sorted(job.payload for job in leased) == [b"job-0", b"job-1", b"job-2"]
    assert {(job.kind, job.attempts, job.last_error) for job in leased} == {("send", 1, None)}
    assert all(job.lease_expires_at > now_ms() for job in leased)
    assert await queue.lease("send", 10, HOLD) == []
    assert await queue.ack(leased) == 3
    assert await queue.ack(leased) == 0
    purge = await queue.lease(["send", "purge"], 10, HOLD)
    assert [(job.kind, job.payload) for job in purge] == [("purge", b"old")]
    await queue.ack(purge)
    depth = await queue.depth(["send", "purge"])
    assert depth == {"send": Depth(), "purge": Depth()}


async def test_job_ids_are_kept(queue: Queue) -> None:
    given = NewJob("send", b"x", id="delivery-batch-42")
    await queue.enqueue([given])
    (job,) = await queue.lease("send", 1, HOLD)
    assert job.id == "delivery-batch-42"


async def test_concurrent_lessees_take_every_job_exactly_once(
    queue_backend: QueueBackend,
) -> None:
    producer = await queue_backend.open()
    await producer.enqueue(_jobs("send", 600))
    workers = [await queue_backend.open() for _ in range(4)]

    async def drain(worker: Queue) -> list[str]:
        got: list[str] = []
        for _ in range(1000):  # bounded: 600 jobs in batches of at least one
            batch = await worker.lease("send", 7, HOLD)
            if not batch:
                return got
            got += [job.id for job in batch]
            await worker.ack(batch)
        return got

    # Several lessees per queue object as well as several objects (connections).
    results = await asyncio.gather(*(drain(w) for w in workers for _ in range(3)))
    taken = Counter(job_id for result in results for job_id in result)
    assert len(taken) == 600
    assert set(taken.values()) == {1}


async def test_expired_lease_returns_the_job_with_attempts_raised(
    queue_backend: QueueBackend,
) -> None:
    first, second = await queue_backend.open(), await queue_backend.open()
    await first.enqueue([NewJob("send", b"payload")])
    (lost,) = await first.lease("send", 1, 0.3)
    assert await second.lease("send", 1, 0.3) == []
    (again,) = await _lease_until(second, "send", 1, 0.3)
    assert (again.id, again.payload, again.attempts) == (lost.id, b"payload", 2)
    # The first lease is gone: its token may change nothing any more.
    assert await first.ack([lost]) == 0
    assert await first.retry_later(lost, now_ms(), "late") is False
    assert await first.extend(lost, HOLD) is None
    assert await first.dead_letter(lost, "late") is False
    assert await second.ack([again]) == 1
    assert await second.lease("send", 1, 0.3) == []


async def test_extend_keeps_the_job_leased(queue_backend: QueueBackend) -> None:
    holder, other = await queue_backend.open(), await queue_backend.open()
    await holder.enqueue([NewJob("send", b"slow")])
    (job,) = await holder.lease("send", 1, 1.0)
    await asyncio.sleep(0.6)
    extended = await holder.extend(job, 2.0)
    assert extended is not None
    assert extended.lease_expires_at > job.lease_expires_at
    # Past the first expiry (the sleeps only run long), well inside the extended one.
    await asyncio.sleep(0.6)
    assert await other.lease("send", 1, 1.0) == []
    assert await holder.ack([extended]) == 1


async def test_retry_later_delays_the_job(queue: Queue) -> None:
    await queue.enqueue([NewJob("send", b"flaky")])
    (job,) = await queue.lease("send", 1, HOLD)
    at = now_ms() + 300
    assert await queue.retry_later(job, at, "503 from provider") is True
    assert await queue.lease("send", 1, HOLD) == []
    assert (await queue.depth(["send"]))["send"] == Depth(delayed=1)
    (again,) = await _lease_until(queue, "send", 1)
    assert now_ms() >= at
    assert (again.id, again.payload, again.attempts) == (job.id, b"flaky", 2)
    assert (again.available_at, again.last_error) == (at, "503 from provider")


async def test_dead_letters_are_kept_with_reason_and_attempts(queue: Queue) -> None:
    await queue.enqueue([NewJob("send", b"bad"), NewJob("send", b"good")])
    leased = await queue.lease("send", 2, HOLD)
    bad = next(job for job in leased if job.payload == b"bad")
    assert await queue.retry_later(bad, now_ms(), "timeout") is True
    (bad,) = await _lease_until(queue, "send", 1)
    assert await queue.dead_letter(bad, "payload too large for apns") is True
    assert await queue.dead_letter(bad, "again") is False
    assert await queue.lease("send", 5, HOLD) == []
    (dead,) = await queue.dead_letters("send")
    assert (dead.id, dead.kind, dead.payload) == (bad.id, "send", b"bad")
    assert (dead.attempts, dead.reason) == (2, "payload too large for apns")
    assert dead.failed_at <= now_ms()
    assert await queue.dead_letters("other") == []
    assert (await queue.depth(["send"]))["send"] == Depth(leased=1, dead=1)


async def test_a_dead_job_revived_runs_again_as_leased_once_before(queue: Queue) -> None:
    await queue.enqueue([NewJob("send", b"one"), NewJob("send", b"two")])
    for job in await queue.lease("send", 2, HOLD):
        assert await queue.dead_letter(job, f"failed {job.payload.decode()}") is True
    by_payload = {dead.payload: dead for dead in await queue.dead_letters("send")}
    one, two = by_payload[b"one"], by_payload[b"two"]
    assert await queue.revive("other", one.id) is False  # another kind has no such job
    assert await queue.revive("send", "no-such-job") is False
    assert await queue.revive("send", one.id) is True
    assert await queue.revive("send", one.id) is False  # no longer dead
    assert [d.id for d in await queue.dead_letters("send")] == [two.id]
    assert (await queue.depth(["send"]))["send"] == Depth(ready=1, dead=1)
    (again,) = await queue.lease("send", 5, HOLD)
    assert (again.id, again.payload, again.attempts) == (one.id, b"one", 2)
    assert again.last_error == "failed one"
    assert await queue.ack([again]) == 1
    assert (await queue.depth(["send"]))["send"] == Depth(dead=1)


async def test_any_of_many_dead_jobs_can_be_revived(queue: Queue) -> None:
    """More dead letters than one look at them reads (the Redis backend reads them a few
    at a time): the last one set aside is still found."""
    await queue.enqueue(_jobs("send", 60, "dead"))
    leased = await _lease_until(queue, "send", 60)
    for job in leased:
        assert await queue.dead_letter(job, "gave up")
    assert await queue.revive("send", leased[-1].id) is True
    (again,) = await queue.lease("send", 5, HOLD)
    assert (again.id, again.payload) == (leased[-1].id, leased[-1].payload)
    assert (await queue.depth(["send"]))["send"] == Depth(leased=1, dead=59)


async def test_delayed_jobs_become_visible_at_their_time(queue: Queue) -> None:
    at = now_ms() + 400
    await queue.enqueue(_jobs("send", 2, "later"), available_at=at)
    await queue.enqueue(_jobs("send", 1, "now"))
    (now_job,) = await queue.lease("send", 5, HOLD)
    assert now_job.payload == b"now-0"
    assert (await queue.depth(["send"]))["send"] == Depth(delayed=2, leased=1)
    later = await _lease_until(queue, "send", 2)
    assert now_ms() >= at
    assert sorted(job.payload for job in later) == [b"later-0", b"later-1"]
    assert {job.available_at for job in later} == {at}


async def test_lease_takes_the_earliest_available_first(queue: Queue) -> None:
    now = now_ms()
    for offset in (-1000, -3000, -2000):
        await queue.enqueue([NewJob("send", str(offset).encode())], available_at=now + offset)
    await queue.enqueue([NewJob("send", b"future")], available_at=now + 60_000)
    leased = await queue.lease("send", 10, HOLD)
    assert [job.payload for job in leased] == [b"-3000", b"-2000", b"-1000"]
    assert [job.available_at - now for job in leased] == [-3000, -2000, -1000]


async def test_depth_counts_each_state(queue: Queue) -> None:
    await queue.enqueue(_jobs("send", 4))
    await queue.enqueue(_jobs("send", 2, "later"), available_at=now_ms() + 60_000)
    await queue.enqueue(_jobs("purge", 1))
    leased = await queue.lease("send", 1, HOLD)
    await queue.dead_letter(leased[0], "rejected")
    await queue.lease("send", 1, HOLD)
    depth = await queue.depth()
    assert depth["send"] == Depth(ready=2, delayed=2, leased=1, dead=1)
    assert depth["purge"] == Depth(ready=1)


async def test_wait_wakes_on_enqueue(queue_backend: QueueBackend) -> None:
    worker = await queue_backend.open()
    # SQLite serves one process, so its wake-up is in-process: enqueue through the
    # same queue there; elsewhere through another connection, as another process would.
    producer = worker if queue_backend.name == "sqlite" else await queue_backend.open()
    assert await worker.wait("send", 0.1) is False
    waiting = asyncio.create_task(worker.wait(["send", "purge"], 30))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await producer.enqueue([NewJob("purge", b"wake")])
    assert await asyncio.wait_for(waiting, 30) is True
    (job,) = await worker.lease(["send", "purge"], 5, HOLD)
    assert job.payload == b"wake"


async def test_wait_wakes_when_a_delayed_job_is_due(queue_backend: QueueBackend) -> None:
    worker = await queue_backend.open()
    producer = worker if queue_backend.name == "sqlite" else await queue_backend.open()
    waiting = asyncio.create_task(worker.wait("send", 30))
    await asyncio.sleep(0.2)
    at = now_ms() + 300
    await producer.enqueue([NewJob("send", b"scheduled")], available_at=at)
    assert await asyncio.wait_for(waiting, 30) is True
    assert now_ms() >= at
    (job,) = await worker.lease("send", 5, HOLD)
    assert job.payload == b"scheduled"


async def test_bulk_enqueue_of_ten_thousand_jobs(queue: Queue) -> None:
    await queue.enqueue(_jobs("send", 10_000))
    assert (await queue.depth(["send"]))["send"] == Depth(ready=10_000)
    taken: Counter[str] = Counter()
    for _ in range(20):  # bounded: 10 full batches, then an empty one
        batch = await queue.lease("send", 1000, HOLD)
        if not batch:
            break
        taken.update(job.payload.decode() for job in batch)
        assert await queue.ack(batch) == len(batch)
    assert len(taken) == 10_000
    assert set(taken.values()) == {1}
    assert (await queue.depth(["send"]))["send"] == Depth()


async def test_wait_wakes_when_an_abandoned_lease_runs_out(queue_backend: QueueBackend) -> None:
    holder, worker = await queue_backend.open(), await queue_backend.open()
    await holder.enqueue([NewJob("send", b"abandoned")])
    (held,) = await holder.lease("send", 1, 0.3)
    assert await worker.lease("send", 1, 0.3) == []
    assert await asyncio.wait_for(worker.wait("send", 30), 30) is True
    (job,) = await _lease_until(worker, "send", 1, 0.3)
    assert (job.id, job.attempts) == (held.id, 2)


async def test_oldest_due_is_the_head_of_the_ready_jobs(queue: Queue) -> None:
    """What the queue-lag metric reads: since when the oldest job a lease would take now
    has been due; delayed and leased jobs are not waiting on a worker."""
    now = now_ms()
    assert await queue.oldest_due(["send", "purge"]) == {}
    await queue.enqueue([NewJob("send", b"old")], available_at=now - 5000)
    await queue.enqueue([NewJob("send", b"new")], available_at=now - 1000)
    await queue.enqueue([NewJob("purge", b"later")], available_at=now + 60_000)
    found = await queue.oldest_due(["send", "purge"])
    assert list(found) == ["send"]
    # On Redis a due job counts from when it entered the stream, at the latest now.
    assert now - 5000 <= found["send"] <= now_ms()
    leased = await queue.lease("send", 10, HOLD)
    assert len(leased) == 2
    assert await queue.oldest_due(["send", "purge"]) == {}
