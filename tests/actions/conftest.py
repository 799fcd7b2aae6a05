"""A notification delivered to one webhook device, answers to it, and the actions they
answer: what the handler tests share."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from pushgate.core.actions import ActionDefinition, ActionResponse, Handler
from pushgate.core.clock import Clock
from pushgate.core.ids import new_id
from pushgate.core.responses import StoredResponse
from pushgate.delivery.jobs import RespondJob
from pushgate.simulators.server import start
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services, WorkerHandle, build_worker
from tests.delivery.conftest import register, settled, work_through


@dataclass
class Actions:
    """The app's actions as an action store would hold them: test data at the edge."""

    defined: dict[str, ActionDefinition] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        app_id: str,
        handler: Handler,
        *,
        key: str = "approve",
        secret: str | None = None,
        deadline_seconds: int = 3600,
        allow_repeats: bool = False,
    ) -> ActionDefinition:
        action = ActionDefinition(
            new_id(),
            app_id,
            key,
            key.title(),
            {},
            handler,
            allow_repeats=allow_repeats,
            deadline_seconds=deadline_seconds,
        )
        self.defined[action.id] = action
        if secret is not None:
            self.secrets[action.id] = secret
        return action

    async def action(self, app_id: str, action_id: str) -> ActionDefinition | None:
        found = self.defined.get(action_id)
        return found if found is not None and found.app_id == app_id else None

    async def handler_secret(self, action_id: str) -> str | None:
        return self.secrets.get(action_id)


@dataclass(frozen=True)
class Scene:
    """One app ``crm`` with one webhook device (its pushes go to ``device_sim`` at
    /hook/device) and one notification delivered to it."""

    tenant_id: str
    app_id: str
    device_id: str
    notification_id: str
    delivery_id: str


@pytest.fixture
async def device_sim() -> AsyncIterator[WebhookSimulator]:
    simulator = WebhookSimulator()
    running = await start(simulator)
    yield simulator
    await running.close()


@pytest.fixture
async def handler_sim() -> AsyncIterator[WebhookSimulator]:
    """The host system's endpoint a webhook handler posts to (plain http on loopback:
    the tests' settings allow private targets, as for the webhook provider's tests)."""
    simulator = WebhookSimulator()
    running = await start(simulator)
    yield simulator
    await running.close()


@pytest.fixture
def actions() -> Actions:
    return Actions()


@pytest.fixture
def handler_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


async def make_scene(
    client: httpx.AsyncClient, services: Services, device_sim: WebhookSimulator, **device: object
) -> Scene:
    assert (await client.post("/v1/apps", json={"name": "crm"})).status_code == 201
    answer = await client.put(
        "/v1/apps/crm/credentials/webhook", json={"url": f"{device_sim.base_url}/hook/default"}
    )
    assert answer.status_code == 200, answer.text
    device_id = await register(client, "crm", f"{device_sim.base_url}/hook/device", **device)
    sent = await client.post(
        "/v1/notifications",
        json={
            "app": "crm",
            "audience": {"devices": [device_id]},
            "title": "Change 42",
            "locales": {"de": {"title": "Änderung 42"}},
        },
    )
    assert sent.status_code == 202, sent.text
    await work_through(services)
    assert (await settled(client, sent.json()["id"]))["deliveries"]["sent"] == 1
    listed = (await client.get(f"/v1/notifications/{sent.json()['id']}/deliveries")).json()
    notification = await services.notifications.notification(sent.json()["id"])
    assert notification is not None
    device_sim.reset()
    return Scene(
        notification.tenant_id,
        notification.app_id,
        device_id,
        notification.id,
        listed["items"][0]["id"],
    )


@pytest.fixture
async def scene(
    client: httpx.AsyncClient, services: Services, device_sim: WebhookSimulator
) -> Scene:
    return await make_scene(client, services, device_sim)


def response_to(
    scene: Scene, action: ActionDefinition, received_at: int, **extra: object
) -> StoredResponse:
    response = ActionResponse(
        id=new_id(),
        tenant_id=scene.tenant_id,
        app="crm",
        notification_id=scene.notification_id,
        delivery_id=scene.delivery_id,
        device_id=scene.device_id,
        user_id=None,
        action_id=action.id,
        action_key=action.key,
        input=None,
        data={"change": 42},
        received_at=received_at,
    )
    return StoredResponse(response, scene.app_id)


async def answer(
    services: Services, scene: Scene, action: ActionDefinition, clock: Clock
) -> StoredResponse:
    """A device's answer as the endpoint records it (stored with its job)."""
    item = response_to(scene, action, clock.now_ms())
    recorded = await services.response_recorder.record(item, allow_repeats=action.allow_repeats)
    return recorded.response


@asynccontextmanager
async def responder(
    services: Services, actions: Actions, clock: Clock
) -> AsyncIterator[WorkerHandle]:
    """A worker whose respond step the test takes by hand."""
    handle = build_worker(services, clock=clock, actions=actions)
    try:
        yield handle
    finally:
        await handle.close()


async def run_once(handle: WorkerHandle, stored: StoredResponse) -> StoredResponse | None:
    return await handle.worker.responder.run(RespondJob(stored.id))
