"""A package carries an app's event path to another tenant (docs/packages.md): exported
from one tenant and installed into a new one, the same record event makes the same
notification there, delivered to the webhook receiver simulator."""

from __future__ import annotations

from typing import Any

import httpx

from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services
from tests.api.expect import ok
from tests.api.inbound_scene import (
    BODY,
    HS_SECRET,
    datanotifier,
    dumps,
    notifier_headers,
    token,
)
from tests.delivery.conftest import work_through

TEMPLATE = {
    "title": "{{ data.event.record.id }} assigned",
    "body": "{{ data.event.record.fields.short_description }} (by {{ data.event.actor }})",
}
EVENT: dict[str, Any] = {
    "name": "incident.assigned",
    "operation": "update",
    "record": {
        "type": "incident",
        "id": "INC0042",
        "fields": {"priority": 1, "assigned_to": "alice", "short_description": "Printer on fire"},
    },
    "actor": "dave",
}


async def device(client: httpx.AsyncClient, tenant: str, hook: str) -> None:
    body = {"provider": "webhook", "token": hook, "user": "alice"}
    answer = await client.post(f"/v1/apps/crm/devices?tenant={tenant}", json=body)
    assert answer.status_code in (200, 201), answer.text


async def test_an_installed_package_turns_the_same_event_into_the_same_notification(
    services: Services,
    client: httpx.AsyncClient,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    signing_secret: str,
) -> None:
    app = f"/v1/apps/{webhook_app}"
    ok(await client.post(f"{app}/types", json={"key": "assigned", "template": TEMPLATE}), 201)
    trigger = {
        "key": "assigned",
        "events": ["incident.assigned"],
        "condition": "event.record.fields.priority <= 2",
        "recipients": {"kind": "field", "path": "record.fields.assigned_to"},
        "type": "assigned",
    }
    ok(await client.post(f"{app}/triggers", json=trigger), 201)
    bundle = ok(await client.get(f"{app}/package", params={"name": "desk", "version": "2.0.0"}))
    assert bundle["placeholders"] == [
        {"name": "credentials.webhook", "kind": "credentials", "provider": "webhook"}
    ]

    ok(await client.post("/v1/tenants", json={"name": "acme"}), 201)
    ok(await client.post("/v1/apps?tenant=acme", json={"name": webhook_app}), 201)
    body = {"app": webhook_app, "bundle": bundle}
    installed = ok(await client.post("/v1/packages:install?tenant=acme", json=body))
    assert installed["placeholders"][0]["filled"] is False
    assert {c["change"] for c in installed["changes"]} == {"create"}
    credentials = {"url": f"{webhook_sim.base_url}/hook", "signing_secret": signing_secret}
    ok(await client.put(f"{app}/credentials/webhook?tenant=acme", json=credentials))

    await device(client, "default", f"{webhook_sim.base_url}/hook/ours")
    await device(client, "acme", f"{webhook_sim.base_url}/hook/theirs")
    ours = ok(await client.post("/v1/events", json=EVENT), 202)
    theirs = ok(await client.post("/v1/events?tenant=acme", json=EVENT), 202)
    await work_through(services)

    received = {r.token: r.body["data"] for r in webhook_sim.all_received()}
    assert set(received) == {"/hook/ours", "/hook/theirs"}
    shown = {k: (v["title"], v["body"]) for k, v in received.items()}
    assert (
        shown["/hook/theirs"]
        == shown["/hook/ours"]
        == (
            "INC0042 assigned",
            "Printer on fire (by dave)",
        )
    )
    [entry] = ok(await client.get(f"/v1/events/{theirs['id']}?tenant=acme"))["triggers"]
    assert (entry["trigger"], entry["matched"]) == ("assigned", True)
    made = ok(await client.get(f"/v1/notifications/{entry['notification']}?tenant=acme"))
    assert made["type"] == "assigned"
    [mine] = ok(await client.get(f"/v1/events/{ours['id']}"))["triggers"]
    assert mine["notification"] != entry["notification"]


async def test_a_packaged_inbound_source_takes_the_host_once_its_secret_is_set(
    services: Services,
    client: httpx.AsyncClient,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    signing_secret: str,
) -> None:
    """The source travels without its secret: installed, it refuses the host's JWT until
    the installer sets the secret the host holds, then the host's push becomes the
    event, and an upgrade keeps that secret."""
    app = f"/v1/apps/{webhook_app}"
    template = {"title": "Booked {{ data.event.record.id }}", "body": "{{ data.With }}"}
    ok(await client.post(f"{app}/types", json={"key": "booked", "template": template}), 201)
    trigger = {
        "key": "booked",
        "events": ["appointment.booked"],
        "recipients": {"kind": "field", "path": "record.fields.recipients"},
        "type": "booked",
    }
    ok(await client.post(f"{app}/triggers", json=trigger), 201)
    source = datanotifier({"alg": "HS256", "secret": HS_SECRET}, app=webhook_app)
    ok(await client.post("/v1/sources", json=source), 201)
    bundle = ok(await client.get(f"{app}/package", params={"name": "clinic"}))
    shipped = bundle["items"]["sources"]["scheduler"]
    assert shipped["verification"] == {"alg": "HS256"}
    assert "app" not in shipped
    assert HS_SECRET not in str(bundle)
    secret_name = "sources.scheduler.verification.secret"
    wanted = {"name": secret_name, "kind": "source_secret", "provider": None}
    assert wanted in bundle["placeholders"]

    ok(await client.post("/v1/tenants", json={"name": "acme"}), 201)
    ok(await client.post("/v1/apps?tenant=acme", json={"name": webhook_app}), 201)
    installed = ok(
        await client.post(
            "/v1/packages:install?tenant=acme", json={"app": webhook_app, "bundle": bundle}
        )
    )
    filled = {p["name"]: p["filled"] for p in installed["placeholders"]}
    assert filled[secret_name] is False
    credentials = {"url": f"{webhook_sim.base_url}/hook", "signing_secret": signing_secret}
    ok(await client.put(f"{app}/credentials/webhook?tenant=acme", json=credentials))
    await device(client, "acme", f"{webhook_sim.base_url}/hook/theirs")
    theirs = ok(await client.get("/v1/sources/scheduler?tenant=acme"))
    assert theirs["app"] == webhook_app

    push = dumps(BODY)
    refused = await client.post(
        theirs["path"], content=push, headers=notifier_headers(token(key=HS_SECRET))
    )
    assert refused.json()["Success"] is False  # its secret is not the host's yet
    verification = {"verification": {"alg": "HS256", "secret": HS_SECRET}}
    ok(await client.patch("/v1/sources/scheduler?tenant=acme", json=verification))
    # An upgrade changes nothing of the source: the secret the installer set stays.
    upgraded = ok(
        await client.post(
            "/v1/packages:install?tenant=acme",
            json={"app": webhook_app, "bundle": {**bundle, "version": "1.1.0"}},
        )
    )
    [source_change] = [c for c in upgraded["changes"] if c["kind"] == "sources"]
    assert source_change["change"] == "unchanged"
    taken = await client.post(
        theirs["path"], content=push, headers=notifier_headers(token(key=HS_SECRET))
    )
    assert taken.json() == {"Success": True, "Code": 0, "Message": "OK"}, taken.text
    await work_through(services)
    [received] = webhook_sim.all_received()
    assert (received.token, received.body["data"]["title"]) == ("/hook/theirs", "Booked APT-1")
