"""Preferences through the pipeline: what people opted out of or muted is not sent, each
such delivery ``suppressed`` with its reason (``opted_out``, ``device_muted``), counted on
the status and listed, in both record modes, after the type switches; a type people may
not opt out of passes every preference (docs/preferences.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pushgate.delivery.jobs import FANOUT, read_fanout
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.simulators.webpush import WebPushSimulator
from pushgate.wiring import Services
from tests.api.expect import ok
from tests.delivery.conftest import register, work_through, worker_by_hand
from tests.delivery.test_suppression import RECORDS, _counts, _send, _status, _suppressed


async def _people(
    client: httpx.AsyncClient, app: str, receiver: WebhookSimulator, browser: WebPushSimulator
) -> dict[str, str]:
    """``visit`` (optional) and ``alert`` (not optional) in ``app``; device ids by name:

    - ann mutes visit on her tablet (/hook/0) and keeps it on her phone (/hook/1);
    - bob opted out of visit (/hook/2); cid receives only what she names (/hook/3);
    - dan opted out of visit on webhook (/hook/4), keeps it in his browser (Web Push);
    - eve's device is off (/hook/5);
    - fay is in ``north``, where visit is off, and opted out of it too (/hook/6).
    """
    ok(await client.post(f"/v1/apps/{app}/types", json={"key": "visit"}), 201)
    alert = {"key": "alert", "opt_out_allowed": False}
    ok(await client.post(f"/v1/apps/{app}/types", json=alert), 201)
    made = ok(
        await client.put(
            f"/v1/apps/{app}/credentials/webpush",
            json={"generate": True, "subject": "mailto:ops@example.com"},
        )
    )
    ok(await client.post("/v1/units", json={"key": "north", "name": "North"}), 201)
    off = {"values": {"types.visit.enabled": False}}
    ok(await client.put("/v1/units/north/settings", json=off))
    ok(await client.put("/v1/users/fay", json={"unit": "north"}), 201)
    hooks = ["ann", "ann", "bob", "cid", "dan", "eve", "fay"]
    names = ["tablet", "phone", "bob", "cid", "dan_hook", "eve", "fay"]
    devices = {
        name: await register(client, app, f"{receiver.base_url}/hook/{n}", user=user)
        for n, (name, user) in enumerate(zip(names, hooks, strict=True))
    }
    subscription = browser.create_subscription(made["values"]["application_server_key"])
    body = {"provider": "webpush", "subscription": subscription, "user": "dan"}
    devices["dan_browser"] = ok(await client.post(f"/v1/apps/{app}/devices", json=body), 201)["id"]
    visit_out = {"types": {"visit": {"choice": "out"}}}
    for user, preferences in [
        ("bob", visit_out),
        ("cid", {"default": "out", "types": {"alert": {"choice": "in"}}}),
        ("dan", {"types": {"visit": {"providers_out": ["webhook"]}}}),
        ("fay", visit_out),
    ]:
        ok(await client.put(f"/v1/users/{user}/preferences", json=preferences))
    muted = [("tablet", {"muted_types": ["visit"]}), ("eve", {"enabled": False})]
    for device, preferences in muted:
        ok(await client.put(f"/v1/devices/{devices[device]}/preferences", json=preferences))
    return devices


def _hooks(receiver: WebhookSimulator) -> list[str]:
    return sorted(r.token for r in receiver.all_received())


@pytest.mark.parametrize("records", RECORDS)
async def test_opted_out_and_muted_are_counted_by_reason(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    webpush_sim: WebPushSimulator,
    records: str,
) -> None:
    devices = await _people(client, webhook_app, webhook_sim, webpush_sim)
    visit = await _send(client, webhook_app, records, type="visit")
    await work_through(services)
    status = await _status(client, visit)
    assert status["state"] == "completed"
    assert _counts(status) == {"sent": 2, "suppressed": 6}
    # The unit's switch comes first: fay is unit_disabled, not opted_out.
    assert status["suppressed"] == {"unit_disabled": 1, "opted_out": 3, "device_muted": 2}
    assert status["by_provider"]["webhook"]["suppressed"] == 6
    assert status["by_provider"]["webpush"]["sent"] == 1
    listed = await _suppressed(client, visit)
    assert sorted(reason for _, reason in listed) == [
        "device_muted",
        "device_muted",
        "opted_out",
        "opted_out",
        "opted_out",
        "unit_disabled",
    ]
    # Ann's phone got it, her tablet did not; dan got it in his browser only.
    assert _hooks(webhook_sim) == ["/hook/1"]
    assert len(webpush_sim.received_for(await _endpoint(client, devices["dan_browser"]))) == 1


@pytest.mark.parametrize("records", RECORDS)
async def test_a_type_people_may_not_opt_out_of_passes_their_preferences(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    webpush_sim: WebPushSimulator,
    records: str,
) -> None:
    await _people(client, webhook_app, webhook_sim, webpush_sim)
    alert = await _send(client, webhook_app, records, type="alert")
    plain = await _send(client, webhook_app, records)
    await work_through(services)
    for notification_id in (alert, plain):
        status = await _status(client, notification_id)
        assert (_counts(status), status["suppressed"]) == ({"sent": 8}, {})
    # Every webhook device twice, the disabled and the muted ones too.
    assert _hooks(webhook_sim) == sorted([f"/hook/{n}" for n in range(7)] * 2)


@pytest.mark.parametrize("records", RECORDS)
async def test_a_page_run_again_keeps_its_preference_decisions(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    webpush_sim: WebPushSimulator,
    records: str,
) -> None:
    """Preferences changed between two runs of a page (its worker died after the first)
    change nothing: nothing counted twice, nothing sent that the first run withheld."""
    devices = await _people(client, webhook_app, webhook_sim, webpush_sim)
    notification_id = await _send(client, webhook_app, records, type="visit")
    async with worker_by_hand(services) as handle:
        [job] = await services.queue.lease((FANOUT,), 10, 60.0)
        first = await handle.worker.fanout.run(read_fanout(job.payload))
        ok(await client.put("/v1/users/bob/preferences", json={}))
        ok(await client.put(f"/v1/devices/{devices['eve']}/preferences", json={}))
        again = await handle.worker.fanout.run(read_fanout(job.payload))
        for batch in first:
            await handle.worker.sender.run(batch, first_run=True)
        for batch in again:
            await handle.worker.sender.run(batch, first_run=False)
        await services.queue.ack([job])
    await work_through(services)
    status = await _status(client, notification_id)
    assert status["state"] == "completed"
    assert status["suppressed"] == {"unit_disabled": 1, "opted_out": 3, "device_muted": 2}
    assert len(await _suppressed(client, notification_id)) == 6
    # Two providers make two batches, queued by both runs: delivery is at least once
    # (docs/architecture.md §2), so ann's phone may get its delivery twice, same id.
    assert set(_hooks(webhook_sim)) == {"/hook/1"}


async def _endpoint(client: httpx.AsyncClient, device_id: str) -> str:
    found: dict[str, Any] = ok(await client.get(f"/v1/devices/{device_id}"))
    return str(found["token"])
