"""run_concurrently: results in order, concurrency, and failure or cancellation cancelling
the rest (no task is left behind)."""

from __future__ import annotations

import asyncio

import pytest

from pushgate.providers.concurrent_requests import run_concurrently


async def test_results_come_back_in_order_and_run_at_once() -> None:
    started: list[int] = []
    release = asyncio.Event()

    async def job(index: int) -> int:
        started.append(index)
        await release.wait()
        return index * 10

    running = asyncio.ensure_future(run_concurrently([job(i) for i in range(5)]))
    for _ in range(100):  # bounded wait until every job has started
        if len(started) == 5:
            break
        await asyncio.sleep(0)
    assert sorted(started) == [0, 1, 2, 3, 4]  # all started before any finished
    release.set()
    assert await running == [0, 10, 20, 30, 40]
    assert await run_concurrently([]) == []


async def test_first_failure_is_raised_and_the_rest_cancelled() -> None:
    cancelled: list[int] = []

    async def slow(index: int) -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(index)
            raise
        return index

    async def broken() -> int:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await run_concurrently([slow(0), broken(), slow(2)])
    assert sorted(cancelled) == [0, 2]


async def test_cancelling_the_caller_cancels_every_job() -> None:
    cancelled: list[int] = []

    async def slow(index: int) -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(index)
            raise
        return index

    running = asyncio.ensure_future(run_concurrently([slow(i) for i in range(3)]))
    await asyncio.sleep(0.01)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert sorted(cancelled) == [0, 1, 2]
