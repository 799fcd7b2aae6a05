"""The queue as an operator sees it through the API: depth, dead letters, retry."""

from __future__ import annotations

import asyncio

import httpx

from pushgate.delivery.jobs import FANOUT
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services, build_worker
from tests.api.expect import bearer, error_of
from tests.delivery.conftest import register, settled


async def test_a_dead_job_is_listed_with_its_notification_and_retried(
    client: httpx.AsyncClient, services: Services, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/q", user="q")
    answer = await client.post(
        "/v1/notifications", json={"app": webhook_app, "audience": {"users": ["q"]}, "title": "x"}
    )
    notification_id = answer.json()["id"]
    # No worker runs yet: the fan-out job waits. It fails for good, as a worker would
    # leave it after its last attempt.
    (job,) = await services.queue.lease(FANOUT, 1, 30)
    assert await services.queue.dead_letter(job, "RuntimeError: storage went away")

    depth = (await client.get("/v1/queue")).json()["kinds"]
    assert depth[FANOUT] == {"ready": 0, "delayed": 0, "leased": 0, "dead": 1}
    assert depth["send"] == {"ready": 0, "delayed": 0, "leased": 0, "dead": 0}
    [dead] = (await client.get(f"/v1/queue/{FANOUT}/dead")).json()
    assert dead["id"] == job.id
    assert dead["notification_id"] == notification_id
    assert (dead["attempts"], dead["reason"]) == (1, "RuntimeError: storage went away")
    assert dead["failed_at"]

    retried = await client.post(f"/v1/queue/{FANOUT}/dead/{job.id}/retry")
    assert retried.status_code == 204, retried.text
    assert (await client.get(f"/v1/queue/{FANOUT}/dead")).json() == []
    assert (await client.get("/v1/queue")).json()["kinds"][FANOUT]["ready"] == 1

    handle = build_worker(services)
    stop = asyncio.Event()
    running = asyncio.create_task(handle.worker.run(stop))
    try:
        final = await settled(client, notification_id)
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await handle.close()
    assert (final["state"], final["deliveries"]["sent"]) == ("completed", 1)
    assert [r.token for r in webhook_sim.all_received()] == ["/hook/q"]

    again = await client.post(f"/v1/queue/{FANOUT}/dead/{job.id}/retry")
    error_of(again, 404, "not_found")
    error_of(await client.get("/v1/queue/nightly/dead"), 422, "validation_failed")
    made = await client.post(
        "/v1/keys", json={"name": "ops", "scopes": ["admin"], "tenant": "default"}
    )
    tenant_admin = bearer(made.json()["key"])
    error_of(await client.get("/v1/queue", headers=tenant_admin), 403)
    error_of(await client.get(f"/v1/queue/{FANOUT}/dead", headers=tenant_admin), 403)
