"""A notification with actions, delivered through the webhook simulator to one device, and
the identity (token, answer URL, actions) the device received: what the answer endpoint's
tests share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from pushgate.api.app import create_app
from pushgate.simulators.identity import identity_of
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services, build_worker
from tests.api.expect import ok
from tests.delivery.conftest import register, settled, work_through


@dataclass(frozen=True)
class Pushed:
    """What one device received: its delivery's token and answer URL, and the actions
    (key → id) the push offered."""

    notification_id: str
    delivery_id: str
    device_id: str
    token: str
    url: str
    actions: dict[str, str]

    def path(self, key: str, prefix: str = "") -> str:
        """The path the device posts to (``url`` + the action's id, on this server)."""
        return prefix + httpx.URL(self.url).path + self.actions[key]


async def define(client: httpx.AsyncClient, key: str, handler: dict[str, Any], **extra: Any) -> str:
    made = ok(
        await client.post(
            "/v1/apps/crm/actions",
            json={"key": key, "title": key.title(), "handler": handler, **extra},
        ),
        201,
    )
    return str(made["id"])


async def crm_app(client: httpx.AsyncClient, device_sim: WebhookSimulator) -> None:
    """The app ``crm``, its pushes to ``device_sim``, and its actions approve and reject
    (record handlers) in the set ``approval``; ``later`` is defined but in no set."""
    ok(await client.post("/v1/apps", json={"name": "crm"}), 201)
    ok(
        await client.put(
            "/v1/apps/crm/credentials/webhook", json={"url": f"{device_sim.base_url}/hook/x"}
        )
    )
    for key in ("approve", "reject", "later"):
        await define(client, key, {"kind": "record"})
    ok(
        await client.post(
            "/v1/apps/crm/action-sets", json={"key": "approval", "actions": ["approve", "reject"]}
        ),
        201,
    )


async def push(
    client: httpx.AsyncClient,
    services: Services,
    device_sim: WebhookSimulator,
    hook: str = "/hook/1",
    **send: Any,
) -> Pushed:
    """A notification with the set ``approval`` (unless ``send`` says otherwise) to a new
    device posting to ``hook``, delivered; what the device received."""
    device_id = await register(client, "crm", f"{device_sim.base_url}{hook}", user="alice")
    body = {"app": "crm", "audience": {"devices": [device_id]}, "title": "Change 42"}
    sent = ok(
        await client.post("/v1/notifications", json={**body, "action_set": "approval", **send}), 202
    )
    await work_through(services)
    assert (await settled(client, sent["id"]))["deliveries"]["sent"] == 1
    [received] = [r for r in device_sim.all_received() if r.token == hook]
    device_sim.reset()
    identity = identity_of("webhook", received.body)
    assert identity is not None, received.body
    fields = identity.fields
    return Pushed(
        sent["id"],
        fields["delivery"],
        device_id,
        fields["token"],
        fields["url"],
        {a["action"]: a["id"] for a in identity.actions},
    )


@asynccontextmanager
async def device_client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """A client as a device is: no API key."""
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://pushgate.test") as http:
        yield http


@asynccontextmanager
async def running_worker(services: Services) -> AsyncIterator[None]:
    """A worker running beside the API in this process, as in embedded mode."""
    handle = build_worker(services)
    stop = asyncio.Event()
    task = asyncio.create_task(handle.worker.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await handle.close()
