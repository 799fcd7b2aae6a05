"""The tenant's general webhook settings in use (docs/settings.md, "The webhook settings in
use"): a webhook app whose credentials name no URL delivers to the tenant's ``webhook.url``
with its ``webhook.authorization``; the credentials' own values win; a change of the
settings reaches a worker that is already running. Through the webhook simulator on TLS."""

from __future__ import annotations

import httpx
import pytest

from pushgate.simulators.webhook import WebhookSimulator
from tests.delivery.conftest import register, settled

TENANT_AUTH = "Bearer tenant-wide"
APP_AUTH = "Bearer app-own"


async def _app(client: httpx.AsyncClient, **credentials: str) -> str:
    assert (await client.post("/v1/apps", json={"name": "desk"})).status_code == 201
    answer = await client.put("/v1/apps/desk/credentials/webhook", json=credentials)
    assert answer.status_code == 200, answer.text
    return "desk"


async def _settings(client: httpx.AsyncClient, **values: str) -> None:
    answer = await client.put("/v1/settings", json={"values": values})
    assert answer.status_code == 200, answer.text


async def _send(client: httpx.AsyncClient, app: str, body: str) -> dict[str, object]:
    answer = await client.post(
        "/v1/notifications",
        json={"app": app, "audience": {"everyone": True}, "body": body},
    )
    assert answer.status_code == 202, answer.text
    return await settled(client, answer.json()["id"])


def _bodies(receiver: WebhookSimulator, path: str) -> list[tuple[str | None, str]]:
    """What ``path`` received: each request's Authorization and the pushed body text."""
    found = []
    for request in receiver.attempts:
        if request.path == path:
            found.append((request.header("authorization"), request.json()["data"]["body"]))
    return found


@pytest.mark.usefixtures("worker")
async def test_an_app_without_a_url_delivers_to_the_tenants_webhook_setting(
    client: httpx.AsyncClient, webhook_sim: WebhookSimulator
) -> None:
    app = await _app(client)
    await register(client, app, "desk-42")  # a token that is no URL
    await _settings(
        client,
        **{"webhook.url": f"{webhook_sim.base_url}/tenant", "webhook.authorization": TENANT_AUTH},
    )
    final = await _send(client, app, "one")
    assert final["deliveries"]["sent"] == 1, final  # type: ignore[index]
    assert _bodies(webhook_sim, "/tenant") == [(TENANT_AUTH, "one")]
    # The settings read back masked; the provider had the opened value.
    shown = (await client.get("/v1/settings")).json()["values"]
    assert shown["webhook.authorization"] != TENANT_AUTH


@pytest.mark.usefixtures("worker")
async def test_the_credentials_own_values_win_field_by_field(
    client: httpx.AsyncClient, webhook_sim: WebhookSimulator
) -> None:
    app = await _app(client, url=f"{webhook_sim.base_url}/app", authorization=APP_AUTH)
    await register(client, app, "desk-1")
    await _settings(
        client,
        **{"webhook.url": f"{webhook_sim.base_url}/tenant", "webhook.authorization": TENANT_AUTH},
    )
    await _send(client, app, "both own")
    assert _bodies(webhook_sim, "/app") == [(APP_AUTH, "both own")]
    # The URL given, no authorization: the tenant's authorization goes to the app's URL.
    answer = await client.put(
        "/v1/apps/desk/credentials/webhook", json={"url": f"{webhook_sim.base_url}/app2"}
    )
    assert answer.status_code == 200, answer.text
    await _send(client, app, "own url")
    assert _bodies(webhook_sim, "/app2") == [(TENANT_AUTH, "own url")]
    assert _bodies(webhook_sim, "/tenant") == []


@pytest.mark.usefixtures("worker")
async def test_a_change_of_the_settings_reaches_the_running_worker(
    client: httpx.AsyncClient, webhook_sim: WebhookSimulator
) -> None:
    app = await _app(client)
    await register(client, app, "desk-7")
    await _settings(client, **{"webhook.url": f"{webhook_sim.base_url}/first"})
    await _send(client, app, "before")
    await _settings(
        client,
        **{"webhook.url": f"{webhook_sim.base_url}/second", "webhook.authorization": TENANT_AUTH},
    )
    await _send(client, app, "after")
    assert _bodies(webhook_sim, "/first") == [(None, "before")]
    assert _bodies(webhook_sim, "/second") == [(TENANT_AUTH, "after")]


@pytest.mark.usefixtures("worker")
async def test_without_any_url_the_delivery_fails_naming_the_setting(
    client: httpx.AsyncClient, webhook_sim: WebhookSimulator
) -> None:
    app = await _app(client)
    await register(client, app, "desk-9")
    final = await _send(client, app, "nowhere")
    assert final["deliveries"]["failed"] == 1, final  # type: ignore[index]
    listed = (await client.get(f"/v1/notifications/{final['id']}/deliveries")).json()
    [item] = listed["items"]
    assert "webhook.url" in item["reason"], item
    assert webhook_sim.attempts == []
