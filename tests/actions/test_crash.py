"""A worker killed with SIGKILL while a handler runs: the next worker runs the handler
again with the same response id (the host's dedupe key), and the response is settled
once (docs/architecture.md §2: at least once)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest

from pushgate.core.actions import ResponseState, WebhookHandler
from pushgate.core.clock import SYSTEM_CLOCK
from pushgate.core.responses import StoredResponse
from pushgate.simulators.base import Fault
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services, build_worker
from tests.actions.conftest import Actions, Scene, answer

CHILD = Path(__file__).with_name("respond_child.py")
LEASE_SECONDS = 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_handler_cut_short_by_kill_9_runs_again_with_the_same_id(
    client: httpx.AsyncClient,
    services: Services,
    scene: Scene,
    actions: Actions,
    handler_sim: WebhookSimulator,
) -> None:
    url = f"{handler_sim.base_url}/approvals"
    action = actions.add(scene.app_id, WebhookHandler(url))
    stored = await answer(services, scene, action, SYSTEM_CLOCK)
    handler_sim.inject(Fault(latency_ms=60_000, count=1))  # the host is slow this once
    settings = services.settings
    env = {
        **os.environ,
        "PUSHGATE_DATA_DIR": str(settings.data_dir),
        "PUSHGATE_DATABASE_URL": settings.effective_database_url,
        "PUSHGATE_SECRET_KEY": settings.secret_key.get_secret_value()
        if settings.secret_key
        else "",
        "PUSHGATE_ALLOW_PRIVATE_TARGETS": "true",
        "PUSHGATE_WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        scene.app_id,
        action.id,
        url,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(30):
            # Until the handler's request reached the host (a simulator in this process
            # that offers no event to wait on).
            while not handler_sim.attempts:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        child.kill()  # SIGKILL: the job stays leased, the response pending
        await child.wait()
        cut_short = await services.responses.response(stored.id)
        assert cut_short is not None
        assert cut_short.state is ResponseState.PENDING
        done = await _work_until_final(services, actions, stored.id)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert done.state is ResponseState.SUCCEEDED
    assert done.attempts == 1  # the run cut short ended nothing
    assert [r.header("webhook-id") for r in handler_sim.attempts] == [stored.id, stored.id]
    assert len(handler_sim.all_received()) == 1  # the host deduped on webhook-id


async def _work_until_final(
    services: Services, actions: Actions, response_id: str
) -> StoredResponse:
    """Burst workers until the response is settled: its job is leased again once the
    killed worker's lease (a second) ran out (the queue's lease is on real time)."""
    async with asyncio.timeout(30):
        while True:
            handle = build_worker(services, actions=actions)
            try:
                await handle.worker.run(asyncio.Event(), burst=True)
            finally:
                await handle.close()
            found = await services.responses.response(response_id)
            if found is not None and found.is_final:
                return found
            await asyncio.sleep(0.2)
