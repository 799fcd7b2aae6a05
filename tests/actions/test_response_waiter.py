"""The wait for a handler's result: woken by the runner in this process, or finding the
result by reading it back (another process settled it), or giving up at its limit."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from pushgate.core.actions import PythonHandler, RecordHandler, ResponseState
from pushgate.core.clock import ManualClock
from pushgate.core.ids import now_ms
from pushgate.core.response_waiter import ResponseWaiter
from pushgate.core.responses import HandlerResult, Handling, StoredResponse
from pushgate.storage.responses import ResponseStore
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


class CountedReads(ResponseStore):
    """The real store, counting the waiter's reads of a response."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.reads = 0
        self.read = asyncio.Event()  # set by the first read

    async def response(self, response_id: str) -> StoredResponse | None:
        self.reads += 1
        found = await super().response(response_id)
        self.read.set()
        return found


async def test_beside_a_runner_the_wait_reads_at_its_start_and_end_only(
    services: Services, scene: Scene, actions: Actions
) -> None:
    stored = await answer(
        services, scene, actions.add(scene.app_id, PythonHandler("test-ok")), ManualClock()
    )
    store = CountedReads(services.engine)
    waiter = ResponseWaiter(store, poll_seconds=0.01)
    waiter.serve_locally()
    assert await waiter.wait(stored.id, 0.2) is None  # polling would read about 20 times
    assert store.reads == 2


async def test_the_runners_note_is_the_answer_without_a_read_back(
    services: Services, scene: Scene, actions: Actions
) -> None:
    stored = await answer(
        services, scene, actions.add(scene.app_id, PythonHandler("test-ok")), ManualClock()
    )
    store = CountedReads(services.engine)
    waiter = ResponseWaiter(store)
    waiter.serve_locally()
    waiting = asyncio.create_task(waiter.wait(stored.id, 30))
    await asyncio.wait_for(store.read.wait(), 5)  # its first read, of the pending response
    await services.responses.settle(stored.id, DONE)
    final = await services.responses.response(stored.id)
    assert final is not None
    waiter.finished(final)
    assert await asyncio.wait_for(waiting, 5) is final
    assert store.reads == 1
