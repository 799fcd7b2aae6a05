"""A worker in burst mode works through what is due, then returns."""

from __future__ import annotations

import httpx

from pushgate.simulators.base import Fault
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services
from tests.clock import in_200_days
from tests.delivery.conftest import register, work_through


async def _notify(client: httpx.AsyncClient, app: str, user: str, **extra: object) -> str:
    body = {"app": app, "audience": {"users": [user]}, "title": user, **extra}
    answer = await client.post("/v1/notifications", json=body)
    assert answer.status_code == 202, answer.text
    notification_id: str = answer.json()["id"]
    return notification_id


async def _state(client: httpx.AsyncClient, notification_id: str) -> tuple[str, dict[str, int]]:
    body = (await client.get(f"/v1/notifications/{notification_id}")).json()
    counts = {name: count for name, count in body["deliveries"].items() if count}
    return body["state"], counts


async def test_burst_returns_with_what_is_due_done_and_the_rest_still_queued(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    base = webhook_sim.base_url
    for user in ("now", "later", "refused"):
        await register(client, webhook_app, f"{base}/hook/{user}", user=user)
    webhook_sim.inject(Fault(status=503, retry_after=600, count=1))
    refused = await _notify(client, webhook_app, "refused")
    await work_through(services)
    # Nothing is polled for: what was due is settled the moment the worker returns.
    assert await _state(client, refused) == ("sending", {"pending": 1})
    now = await _notify(client, webhook_app, "now")
    later = await _notify(client, webhook_app, "later", send_at=in_200_days())
    await work_through(services)
    assert await _state(client, now) == ("completed", {"sent": 1})
    assert await _state(client, later) == ("scheduled", {})  # fanned out at send_at
    # The refusal's retry waits its ten minutes; the burst did not wait for it.
    assert await _state(client, refused) == ("sending", {"pending": 1})
    assert sorted(r.token for r in webhook_sim.all_received()) == ["/hook/now"]
    assert len(webhook_sim.attempts) == 2
