"""Pushes delivered through the webhook simulator to devices of the app ``crm``, and the
identity each device received: what the interaction tests share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from pushgate.simulators.identity import identity_of
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services
from tests.api.expect import ok
from tests.delivery.conftest import register, settled, work_through


@dataclass(frozen=True)
class Received:
    """One device's push: the ids and interaction token its identity carried."""

    notification: str
    delivery: str
    token: str
    hook: str
    device: str

    def event(self, event: str, action_key: str | None = None, **extra: Any) -> dict[str, Any]:
        """One event as the device reports it."""
        body = {
            "notification": self.notification,
            "delivery": self.delivery,
            "token": self.token,
            "event": event,
            "at": datetime.now(UTC).isoformat(),
            **extra,
        }
        if action_key is not None:
            body["action_key"] = action_key
        return body


async def broadcast(
    client: httpx.AsyncClient,
    services: Services,
    device_sim: WebhookSimulator,
    devices: int,
    users: list[str] | None = None,
    **send: Any,
) -> list[Received]:
    """A notification of ``crm`` to ``devices`` new devices (of ``users[i]`` when given),
    delivered; what each got."""
    hooks = [f"/hook/{i}" for i in range(devices)]
    owners: list[dict[str, str]] = [{"user": user} for user in users] if users else [{}] * devices
    ids = [
        await register(client, "crm", f"{device_sim.base_url}{hook}", **owner)
        for hook, owner in zip(hooks, owners, strict=True)
    ]
    by_hook = dict(zip(hooks, ids, strict=True))
    body = {"app": "crm", "audience": {"devices": ids}, "title": "Doors open", **send}
    sent = ok(await client.post("/v1/notifications", json=body), 202)
    await work_through(services)
    assert (await settled(client, sent["id"]))["deliveries"]["sent"] == devices
    received = []
    for item in device_sim.all_received():
        identity = identity_of("webhook", item.body)
        assert identity is not None, item.body
        fields = identity.fields
        hook = item.token.removeprefix(device_sim.base_url)
        received.append(
            Received(
                fields["notification"], fields["delivery"], fields["itoken"], hook, by_hook[hook]
            )
        )
    device_sim.reset()
    return sorted(received, key=lambda r: r.hook)


async def report(
    device: httpx.AsyncClient, events: list[dict[str, Any]], app: str = "crm"
) -> httpx.Response:
    return await device.post("/v1/interactions", json={"app": app, "events": events})
