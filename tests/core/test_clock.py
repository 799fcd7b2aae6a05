"""The manual clock tests step through time with, and the system clock beside it."""

from __future__ import annotations

import asyncio
import time

import pytest

from pushgate.core.clock import SYSTEM_CLOCK, Clock, ManualClock


def test_the_system_clock_reads_the_machines_time() -> None:
    before = time.time()
    seen = SYSTEM_CLOCK.now()
    assert before <= seen <= time.time()
    assert abs(SYSTEM_CLOCK.now_ms() - seen * 1000) < 1000


def test_a_manual_clock_moves_only_when_told() -> None:
    clock: Clock = ManualClock(start=1_700_000_000.0)
    assert clock.now_ms() == 1_700_000_000_000
    assert isinstance(clock, ManualClock)
    clock.advance(1.5)
    assert clock.now() == 1_700_000_001.5
    assert clock.now_ms() == 1_700_000_001_500
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="forward"):
        clock.set_ms(1_700_000_000_000)


def test_a_manual_clock_starts_at_the_systems_time() -> None:
    assert abs(ManualClock().now_ms() - SYSTEM_CLOCK.now_ms()) < 1000


async def test_sleepers_wake_in_order_once_the_clock_passes_their_time() -> None:
    clock = ManualClock(start=0)
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(f"{name}@{clock.now_ms()}")

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("late", 60), ("soon", 1))]
    for _ in range(5):
        await asyncio.sleep(0)
    assert (woke, clock.sleepers) == ([], 2)
    clock.advance(0.999)
    for _ in range(5):
        await asyncio.sleep(0)
    assert woke == []
    clock.advance(0.001)
    await asyncio.wait_for(tasks[1], 5)
    assert (woke, clock.sleepers) == (["soon@1000"], 1)
    clock.advance(3600)
    await asyncio.wait_for(tasks[0], 5)
    assert woke == ["soon@1000", "late@3601000"]
    assert clock.sleepers == 0


async def test_a_zero_sleep_returns_without_the_clock_moving() -> None:
    clock = ManualClock(start=10)
    await asyncio.wait_for(clock.sleep(0), 5)
    assert clock.now_ms() == 10_000


async def test_a_canceled_sleep_is_forgotten() -> None:
    clock = ManualClock(start=0)
    task = asyncio.create_task(clock.sleep(5))
    await asyncio.sleep(0)
    assert clock.sleepers == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleepers == 0
