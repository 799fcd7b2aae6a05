"""What only the Redis backend has: consumers in a group, which must not pile up."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from pushgate.queue import NewJob
from pushgate.queue.redis import GROUP, Keys, RedisQueue
from tests.contracts.conftest import QueueBackend
from tests.services import REDIS_URL


async def _consumers(prefix: str, kind: str) -> dict[str, int]:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        found = await client.xinfo_consumers(Keys(prefix).stream(kind), GROUP)
    finally:
        await client.aclose()
    return {entry["name"].decode(): int(entry["pending"]) for entry in found}


@pytest.mark.redis
@pytest.mark.parametrize("queue_location", ["redis"], indirect=True)
async def test_close_leaves_the_group_only_when_holding_nothing(
    queue_backend: QueueBackend,
) -> None:
    idle = RedisQueue.from_url(REDIS_URL, queue_backend.prefix)
    holder = RedisQueue.from_url(REDIS_URL, queue_backend.prefix)
    try:
        await idle.enqueue([NewJob("send", b"done"), NewJob("send", b"held")])
        await idle.ack(await idle.lease("send", 1, 60))
        (job,) = await holder.lease("send", 5, 60)
        expected = {idle.consumer: 0, holder.consumer: 1}
        assert await _consumers(queue_backend.prefix, "send") == expected
    finally:
        await idle.close()
        await holder.close()
    # The holder's lease must survive its close: only an empty consumer may go.
    assert await _consumers(queue_backend.prefix, "send") == {holder.consumer: 1}
    reclaimer = await queue_backend.open()
    taken = []
    for _ in range(100):  # bounded: the lease is 50 ms
        taken = await reclaimer.lease("send", 5, 0.05)
        if taken:
            break
        await asyncio.sleep(0.05)
    assert [(again.id, again.attempts) for again in taken] == [(job.id, 2)]


@pytest.mark.redis
@pytest.mark.parametrize("queue_location", ["redis"], indirect=True)
async def test_leasing_recovers_when_the_streams_vanish(queue_backend: QueueBackend) -> None:
    queue = await queue_backend.open()
    await queue.enqueue([NewJob("send", b"before")])
    await queue.ack(await queue.lease("send", 1, 60))
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        # What a Redis restart without persistence looks like to a running worker.
        await client.delete(Keys(queue_backend.prefix).stream("send"))
    finally:
        await client.aclose()
    assert await queue.lease("send", 1, 60) == []
    await queue.enqueue([NewJob("send", b"after")])
    (job,) = await queue.lease("send", 1, 60)
    assert job.payload == b"after"


@pytest.mark.redis
@pytest.mark.parametrize("queue_location", ["redis"], indirect=True)
async def test_a_job_queued_again_while_held_is_not_doubled(queue_backend: QueueBackend) -> None:
    """Redis skips a job id it holds (waiting, delayed or leased), which makes the
    outbox's relay and reconciler harmless to repeat; once finished, the id is free."""
    queue = RedisQueue.from_url(REDIS_URL, queue_backend.prefix)
    try:
        job = NewJob("send", b"once")
        assert await queue.enqueue_again([job], ran_before=False) == 1
        assert await queue.enqueue_again([job]) == 0  # waiting
        (leased,) = await queue.lease("send", 5, 60)
        assert await queue.enqueue_again([job]) == 0  # leased
        assert await queue.missing([(job.id, "send")]) == []
        assert await queue.retry_later(leased, 10**13, "later")
        assert await queue.enqueue_again([job]) == 0  # delayed
        assert await queue.lease("send", 5, 60) == []
        assert await queue.missing([(job.id, "send")]) == []
    finally:
        await queue.close()
    other = RedisQueue.from_url(REDIS_URL, queue_backend.prefix)
    try:
        fresh = NewJob("send", b"again-later")
        await other.enqueue([fresh])
        (taken,) = await other.lease("send", 5, 60)
        assert await other.ack([taken]) == 1
        assert await other.missing([(fresh.id, "send")]) == [fresh.id]
        # Queued again after it finished, it runs again, counted as run before.
        assert await other.enqueue_again([fresh]) == 1
        (again,) = await other.lease("send", 5, 60)
        assert (again.id, again.attempts) == (fresh.id, 2)
    finally:
        await other.close()
