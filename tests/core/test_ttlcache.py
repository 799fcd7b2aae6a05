"""The time-bounded cache: concurrent misses share one load, errors and cancellations do
not stick, an invalidation during a load keeps nothing of it."""

from __future__ import annotations

import asyncio

import pytest

from pushgate.core.ttlcache import TtlCache


class Loader:
    """Counts its loads; each waits until ``release`` is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self) -> str:
        self.calls += 1
        await self.release.wait()
        return f"value {self.calls}"


async def _started(
    cache: TtlCache[str, str], load: Loader, n: int
) -> list[asyncio.Task[str | None]]:
    """``n`` callers missing together, the first one loading."""
    tasks = [asyncio.create_task(cache.get("k", load)) for _ in range(n)]
    for _ in range(3):
        await asyncio.sleep(0)  # each task reaches the load, or waits for it
    assert load.calls == 1
    return tasks


async def test_callers_missing_together_share_one_load() -> None:
    now = [0.0]
    cache: TtlCache[str, str] = TtlCache(1.0, clock=lambda: now[0])
    load = Loader()
    tasks = await _started(cache, load, 5)
    load.release.set()
    assert await asyncio.gather(*tasks) == ["value 1"] * 5
    assert load.calls == 1
    assert await cache.get("k", load) == "value 1"  # kept
    now[0] = 1.5
    assert await cache.get("k", load) == "value 2"  # expired: loaded again
    assert load.calls == 2


async def test_a_failed_load_fails_its_waiters_and_is_not_kept() -> None:
    cache: TtlCache[str, str] = TtlCache(1.0, clock=lambda: 0.0)
    release = asyncio.Event()

    async def broken() -> str:
        await release.wait()
        raise LookupError("down")

    tasks = [asyncio.create_task(cache.get("k", broken)) for _ in range(3)]
    for _ in range(3):
        await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, LookupError) for result in results)
    load = Loader()
    load.release.set()
    assert await cache.get("k", load) == "value 1"


async def test_a_cancelled_loader_leaves_its_waiters_to_load_anew() -> None:
    cache: TtlCache[str, str] = TtlCache(1.0, clock=lambda: 0.0)
    load = Loader()
    first, *waiting = await _started(cache, load, 3)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    load.release.set()
    assert await asyncio.gather(*waiting) == ["value 2", "value 2"]
    assert load.calls == 2


async def test_an_invalidation_during_a_load_keeps_nothing_of_it() -> None:
    cache: TtlCache[str, str] = TtlCache(1.0, clock=lambda: 0.0)
    load = Loader()
    [task] = await _started(cache, load, 1)
    cache.invalidate("k")
    load.release.set()
    assert await task == "value 1"  # its caller gets what it read
    assert await cache.get("k", load) == "value 2"  # but later callers read again
