"""Python handlers (entry points in pushgate.actions), record handlers, an unknown action,
and the job through a real worker."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from pushgate.core.actions import PythonHandler, RecordHandler, ResponseState
from pushgate.core.clock import ManualClock
from pushgate.delivery.jobs import RESPOND, RespondJob, read_respond, respond_job
from pushgate.delivery.sender import Postpone
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.storage.tables import jobs
from pushgate.wiring import Services, build_worker
from tests.actions.conftest import Actions, Scene, answer, responder, run_once


def test_the_respond_job_round_trips() -> None:
    job = respond_job(RespondJob("01a2c3d4-0000-7000-8000-000000000001"))
    assert job.kind == RESPOND
    assert job.id == "respond-01a2c3d4-0000-7000-8000-000000000001"
    assert read_respond(job.payload) == RespondJob("01a2c3d4-0000-7000-8000-000000000001")
    with pytest.raises(ValueError, match="unknown version"):
        read_respond(b'{"v": 2, "r": "x"}')


async def test_a_python_handler_returns_the_result(
    services: Services, scene: Scene, actions: Actions
) -> None:
    action = actions.add(scene.app_id, PythonHandler("test-ok"))
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    async with responder(services, actions, clock) as handle:
        done = await run_once(handle, stored)
    assert done is not None
    assert done.result is not None
    assert done.state is ResponseState.SUCCEEDED
    assert done.result.output == {"response": stored.id, "action": "approve", "input": None}


async def test_a_python_handler_that_raises_fails_without_retry(
    services: Services, scene: Scene, actions: Actions
) -> None:
    action = actions.add(scene.app_id, PythonHandler("test-raise"))
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    async with responder(services, actions, clock) as handle:
        done = await run_once(handle, stored)
    assert done is not None
    assert done.result is not None
    assert (done.state, done.attempts) == (ResponseState.FAILED, 1)
    assert done.result.error == ("handler raised: PermissionError: change for 'approve' is locked")


async def test_a_python_handler_past_its_timeout_is_retried(
    services: Services, scene: Scene, actions: Actions
) -> None:
    action = actions.add(scene.app_id, PythonHandler("test-slow", timeout_seconds=0.1))
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    async with responder(services, actions, clock) as handle:
        with pytest.raises(Postpone, match=r"timeout after 0\.1 s"):
            await run_once(handle, stored)
    waiting = await services.responses.response(stored.id)
    assert waiting is not None
    assert (waiting.state, waiting.attempts) == (ResponseState.PENDING, 1)


async def test_an_unknown_entry_point_fails(
    services: Services, scene: Scene, actions: Actions
) -> None:
    action = actions.add(scene.app_id, PythonHandler("no-such-handler"))
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    async with responder(services, actions, clock) as handle:
        done = await run_once(handle, stored)
    assert done is not None
    assert done.result is not None
    assert done.state is ResponseState.FAILED
    assert done.result.error == (
        "no callable 'no-such-handler' in entry point group pushgate.actions"
    )


async def test_a_record_handler_succeeds_at_once(
    services: Services, scene: Scene, actions: Actions, handler_sim: WebhookSimulator
) -> None:
    action = actions.add(scene.app_id, RecordHandler())
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    async with responder(services, actions, clock) as handle:
        done = await run_once(handle, stored)
    assert done is not None
    assert (done.state, done.attempts) == (ResponseState.SUCCEEDED, 1)
    assert handler_sim.attempts == []


async def test_an_action_that_is_gone_fails(
    services: Services, scene: Scene, actions: Actions
) -> None:
    action = actions.add(scene.app_id, RecordHandler())
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    del actions.defined[action.id]
    async with responder(services, actions, clock) as handle:
        done = await run_once(handle, stored)
    assert done is not None
    assert done.result is not None
    assert (done.state, done.result.error) == (ResponseState.FAILED, "the action no longer exists")


async def test_a_worker_runs_the_job_and_wakes_a_waiting_request(
    services: Services, scene: Scene, actions: Actions
) -> None:
    action = actions.add(scene.app_id, PythonHandler("test-ok"))
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    waiting = asyncio.create_task(services.response_waiter.wait(stored.id, 30))
    handle = build_worker(services, clock=clock, actions=actions)
    try:
        await asyncio.wait_for(handle.worker.run(asyncio.Event(), burst=True), 30)
    finally:
        await handle.close()
    done = await asyncio.wait_for(waiting, 5)
    assert done is not None
    assert done.state is ResponseState.SUCCEEDED
    async with services.engine.connect() as connection:
        left = await connection.execute(sa.select(jobs.c.payload).where(jobs.c.kind == RESPOND))
        assert [read_respond(bytes(r.payload)) for r in left] == []
