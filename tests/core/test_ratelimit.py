"""The bucket arithmetic: in this process and in the Redis script alike, and failing open
when Redis cannot be reached."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from pushgate.core.models import RateLimit
from pushgate.core.ratelimit import DAY_MS, MemoryLimiter, Taken
from pushgate.queue.ratelimit_redis import RedisLimiter
from tests.services import REDIS_HOST, REDIS_PORT, REDIS_URL, require_service

NOON = (20_000 * DAY_MS) + DAY_MS / 2  # a UTC noon, in ms


async def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    limiter = MemoryLimiter()
    limit = RateLimit(per_second=2, burst=3)
    answers = [await limiter.take("b", limit, 1, NOON) for _ in range(4)]
    assert answers == [
        Taken(True, 2, 500, 0),
        Taken(True, 1, 1000, 0),
        Taken(True, 0, 1500, 0),
        Taken(False, 0, 1500, 500),
    ]
    assert await limiter.take("b", limit, 1, NOON + 499) == Taken(False, 0, 1001, 1)
    assert await limiter.take("b", limit, 1, NOON + 500) == Taken(True, 0, 1500, 0)
    # Full again after burst / rate seconds, and never fuller.
    assert await limiter.take("b", limit, 1, NOON + 60_000) == Taken(True, 2, 500, 0)
    # Buckets are apart.
    assert (await limiter.take("other", limit, 1, NOON + 60_000)).remaining == 2


async def test_a_day_counter_refuses_a_use_past_its_limit_whole() -> None:
    limiter = MemoryLimiter()
    assert await limiter.count_day("d", 10, 7, NOON) == Taken(True, 3, DAY_MS // 2, 0)
    assert await limiter.count_day("d", 10, 4, NOON) == Taken(False, 3, DAY_MS // 2, DAY_MS // 2)
    assert (await limiter.count_day("d", 10, 3, NOON)).allowed
    assert not (await limiter.count_day("d", 10, 1, NOON + 1)).allowed
    assert await limiter.count_day("d", 10, 10, NOON + DAY_MS / 2) == Taken(True, 0, DAY_MS, 0)


@pytest.fixture
async def redis_limiter() -> AsyncIterator[RedisLimiter]:
    require_service("redis", REDIS_HOST, REDIS_PORT)
    prefix = f"test-limits-{secrets.token_hex(6)}"
    limiter = RedisLimiter.from_url(REDIS_URL, prefix)
    yield limiter
    await limiter.close()
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        async for key in client.scan_iter(match=f"{{{prefix}}}*", count=1000):
            await client.delete(key)
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_the_redis_script_answers_as_the_arithmetic_here(
    redis_limiter: RedisLimiter,
) -> None:
    here = MemoryLimiter()
    steps = [
        (RateLimit(2, 3), 1, 0.0),
        (RateLimit(2, 3), 1, 0.0),
        (RateLimit(2, 3), 2, 100.0),
        (RateLimit(2, 3), 1, 100.0),
        (RateLimit(2, 3), 1, 499.5),
        (RateLimit(2, 3), 1, 1000.25),
        (RateLimit(0.3, 1), 1, 5000.0),
        (RateLimit(1000, 5), 5, 5000.0),
        (RateLimit(2, 3), 3, 90_000.0),
    ]
    for limit, cost, at in steps:
        bucket = f"b{limit.per_second}"
        expected = await here.take(bucket, limit, cost, NOON + at)
        assert await redis_limiter.take(bucket, limit, cost, NOON + at) == expected, at
    for cost, at in [(7, 0.0), (4, 1.0), (3, 2.0), (1, 3.0), (10, DAY_MS / 2)]:
        expected = await here.count_day("d", 10, cost, NOON + at)
        assert await redis_limiter.count_day("d", 10, cost, NOON + at) == expected, at


async def test_an_unreachable_redis_fails_open_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A port nothing listens on: each check meets a refused connection.
    limiter = RedisLimiter.from_url("redis://127.0.0.1:1/15", "unreachable")
    try:
        with caplog.at_level(logging.WARNING, logger="pushgate.queue.ratelimit_redis"):
            for _ in range(3):
                assert await limiter.take("b", RateLimit(1, 1), 1, NOON) is None
            assert await limiter.count_day("d", 1, 5, NOON) is None
    finally:
        await limiter.close()
    warnings = [r for r in caplog.records if "not enforced" in r.getMessage()]
    assert len(warnings) == 1
