"""The wait for a handler's result: woken by the runner in this process, or finding the
result by reading it back (another process settled it), or giving up at its limit."""

from __future__ import annotations

import asyncio

from pushgate.core.actions import RecordHandler, ResponseState
from pushgate.core.clock import ManualClock
from pushgate.core.ids import now_ms
from pushgate.core.response_waiter import ResponseWaiter
from pushgate.core.responses import HandlerResult, Handling
from pushgate.wiring import Services
from tests.actions.conftest import Actions, Scene, answer

DONE = Handling(ResponseState.SUCCEEDED, HandlerResult(status=200), 1, 0)


async def test_the_runners_note_wakes_the_wait_at_once(
    services: Services, scene: Scene, actions: Actions
) -> None:
    stored = await answer(
        services, scene, actions.add(scene.app_id, RecordHandler()), ManualClock()
    )
    waiter = ResponseWaiter(services.responses, poll_seconds=60)  # no read-back in this test
    waiting = asyncio.create_task(waiter.wait(stored.id, 60))
    await asyncio.sleep(0.05)  # let it read the response (pending) and start waiting
    assert not waiting.done()
    await services.responses.settle(stored.id, DONE)
    final = await services.responses.response(stored.id)
    assert final is not None
    waiter.finished(final)
    done = await asyncio.wait_for(waiting, 5)
    assert done is not None
    assert done.state is ResponseState.SUCCEEDED
    assert waiter.waiting == 0  # nothing kept once nobody waits


async def test_a_result_written_by_another_process_is_read_back(
    services: Services, scene: Scene, actions: Actions
) -> None:
    stored = await answer(
        services, scene, actions.add(scene.app_id, RecordHandler()), ManualClock()
    )
    waiter = ResponseWaiter(services.responses, poll_seconds=0.05)
    waiting = asyncio.create_task(waiter.wait(stored.id, 30))
    await asyncio.sleep(0.1)
    await services.responses.settle(stored.id, DONE)  # no note: as a worker elsewhere
    done = await asyncio.wait_for(waiting, 5)
    assert done is not None
    assert done.result == HandlerResult(status=200)


async def test_a_pending_response_ends_the_wait_empty(
    services: Services, scene: Scene, actions: Actions
) -> None:
    stored = await answer(
        services, scene, actions.add(scene.app_id, RecordHandler()), ManualClock()
    )
    waiter = ResponseWaiter(services.responses, poll_seconds=0.05)
    started = now_ms()
    assert await waiter.wait(stored.id, 0.3) is None
    assert 250 <= now_ms() - started < 5000
    assert waiter.waiting == 0
