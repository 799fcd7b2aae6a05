"""Sends of a notification type through the API, a real worker and the webhook receiver
simulator: a template that reads the recipient renders per device (its user's attributes,
its locale's variant), a recipient it fails for fails alone with ``template_error``, and a
type's providers bound who is targeted (docs/types.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pushgate.simulators.webhook import WebhookSimulator
from tests.delivery.conftest import register, settled

pytestmark = pytest.mark.usefixtures("worker")


async def _type(client: httpx.AsyncClient, app: str, body: dict[str, Any]) -> None:
    answer = await client.post(f"/v1/apps/{app}/types", json=body)
    assert answer.status_code == 201, answer.text


async def _user(client: httpx.AsyncClient, external_id: str, **attributes: Any) -> None:
    answer = await client.put(f"/v1/users/{external_id}", json={"attributes": attributes})
    assert answer.status_code in (200, 201), answer.text


async def test_a_recipient_template_renders_per_device_and_fails_alone(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    template = {
        "title": "Hi {{ user.attributes.name }}",
        "body": "{{ data.what }} ({{ device.provider }})",
        "data": {"who": "{{ user.external_id }}"},
        "locales": {"de": {"title": "Hallo {{ user.attributes.name }}"}},
    }
    await _type(client, webhook_app, {"key": "greeting", "template": template})
    await _user(client, "alice", name="Alice")
    await _user(client, "bob", name="Bob")
    await _user(client, "carol")  # no name: her delivery cannot be rendered
    base = webhook_sim.base_url
    await register(client, webhook_app, f"{base}/hook/alice", user="alice", locale="de-DE")
    await register(client, webhook_app, f"{base}/hook/bob", user="bob")
    carol = await register(client, webhook_app, f"{base}/hook/carol", user="carol")
    answer = await client.post(
        "/v1/notifications",
        json={
            "app": webhook_app,
            "type": "greeting",
            "audience": {"everyone": True},
            "data": {"what": "Tea"},
        },
    )
    assert answer.status_code == 202, answer.text
    final = await settled(client, answer.json()["id"])
    assert (final["deliveries"]["sent"], final["deliveries"]["failed"]) == (2, 1), final
    got = {r.token: r.body["data"] for r in webhook_sim.all_received()}
    assert set(got) == {"/hook/alice", "/hook/bob"}
    assert got["/hook/alice"]["title"] == "Hallo Alice"
    assert got["/hook/bob"]["title"] == "Hi Bob"
    assert got["/hook/bob"]["body"] == "Tea (webhook)"
    assert got["/hook/bob"]["data"] == {"what": "Tea", "who": "bob"}
    listed = await client.get(
        f"/v1/notifications/{answer.json()['id']}/deliveries", params={"state": "failed"}
    )
    [failed] = listed.json()["items"]
    assert failed["device_id"] == carol
    assert failed["reason"].startswith("template_error: template.title: UndefinedError")
    assert failed["attempts"] <= 1  # permanent: never retried


async def test_a_template_reading_only_the_user_reads_the_users_alone(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    """Its recipient parts are the title only: each delivery renders just that, from its
    user; a device without a user fails alone."""
    template = {
        "title": "Hi {{ user.attributes.name }}",
        "body": "{{ data.what }} for {{ user.external_id }}",
        "locales": {"de": {"title": "Hallo {{ user.attributes.name }}"}},
    }
    await _type(client, webhook_app, {"key": "hello", "template": template})
    await _user(client, "dora", name="Dora")
    await _user(client, "emil", name="Emil")
    base = webhook_sim.base_url
    await register(client, webhook_app, f"{base}/hook/dora", user="dora")
    await register(client, webhook_app, f"{base}/hook/emil", user="emil", locale="de")
    nobody = await register(client, webhook_app, f"{base}/hook/nobody")
    answer = await client.post(
        "/v1/notifications",
        json={
            "app": webhook_app,
            "type": "hello",
            "audience": {"everyone": True},
            "data": {"what": "Cake"},
        },
    )
    assert answer.status_code == 202, answer.text
    final = await settled(client, answer.json()["id"])
    assert (final["deliveries"]["sent"], final["deliveries"]["failed"]) == (2, 1), final
    got = {r.token: r.body["data"] for r in webhook_sim.all_received()}
    assert (got["/hook/dora"]["title"], got["/hook/dora"]["body"]) == ("Hi Dora", "Cake for dora")
    assert (got["/hook/emil"]["title"], got["/hook/emil"]["body"]) == (
        "Hallo Emil",
        "Cake for emil",
    )
    listed = await client.get(
        f"/v1/notifications/{answer.json()['id']}/deliveries", params={"state": "failed"}
    )
    [failed] = listed.json()["items"]
    assert failed["device_id"] == nobody
    assert failed["reason"].startswith("template_error: template."), failed


async def test_a_types_providers_bound_who_is_targeted(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await _type(client, webhook_app, {"key": "mobile_only", "providers": ["apns", "fcm"]})
    await _type(client, webhook_app, {"key": "hooks", "providers": ["webhook"]})
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/x", user="x")
    body = {"app": webhook_app, "audience": {"everyone": True}, "title": "t"}
    none = await client.post("/v1/notifications", json={**body, "type": "mobile_only"})
    assert none.json()["targeted"] == 0
    final = await settled(client, none.json()["id"])
    assert final["state"] == "completed"
    assert sum(final["deliveries"].values()) == 0
    some = await client.post("/v1/notifications", json={**body, "type": "hooks"})
    assert some.json()["targeted"] == 1
    assert (await settled(client, some.json()["id"]))["deliveries"]["sent"] == 1
    assert [r.token for r in webhook_sim.all_received()] == ["/hook/x"]
