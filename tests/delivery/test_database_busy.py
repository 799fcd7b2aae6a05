"""The embedded pipeline on SQLite while another process holds the write lock for longer
than pushgate waits for it: requests get a clear 503, and the worker carries on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pushgate.simulators.tls import CertificateAuthority
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services, build_services, build_worker
from tests.api.expect import error_of
from tests.conftest import make_settings
from tests.delivery.conftest import register, settled
from tests.sqlite_lock import write_lock_held

BUSY_SECONDS = 0.2


@pytest.fixture
async def services(tmp_path: Path, sim_authority: CertificateAuthority) -> AsyncIterator[Services]:
    """SQLite in ``tmp_path``, waiting only a moment for a lock another process holds."""
    settings = make_settings(
        tmp_path,
        None,
        sqlite_busy_seconds=BUSY_SECONDS,
        provider_ca_file=str(sim_authority.ca_path),
    )
    built = await build_services(settings)
    try:
        yield built
    finally:
        await built.close()


async def test_a_worker_outlasts_a_lock_held_past_the_wait(
    services: Services,
    client: httpx.AsyncClient,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    tmp_path: Path,
) -> None:
    handle = build_worker(services)
    stop = asyncio.Event()
    hook = f"{webhook_sim.base_url}/hook/a"
    with write_lock_held(tmp_path / "pushgate.db"):
        running = asyncio.create_task(handle.worker.run(stop))
        await asyncio.sleep(0)  # its first step: the lease, waiting for the lock
        # Queued behind that lease for the same lock, this fails after it.
        refused = await client.post(
            f"/v1/apps/{webhook_app}/devices", json={"provider": "webhook", "token": hook}
        )
        error_of(refused, 503, "unavailable")
        assert not running.done()
    try:
        await register(client, webhook_app, hook)
        answer = await client.post(
            "/v1/notifications",
            json={"app": webhook_app, "audience": {"everyone": True}, "body": "after"},
        )
        assert answer.status_code == 202, answer.text
        final = await settled(client, answer.json()["id"])
        assert final["state"] == "completed"
        assert [r.token for r in webhook_sim.all_received()] == ["/hook/a"]
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await handle.close()
