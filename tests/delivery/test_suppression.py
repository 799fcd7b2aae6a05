"""A notification of a type is not sent to recipients the type is switched off for: each
becomes a ``suppressed`` delivery with its reason, counted on the status and listed, in
both record modes, once however often a page runs (docs/settings.md, "Suppression")."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pushgate.delivery.jobs import FANOUT, read_fanout
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services
from tests.api.expect import ok
from tests.delivery.conftest import register, work_through, worker_by_hand

RECORDS = ["all", "failures"]


async def _organisation(client: httpx.AsyncClient, app: str, receiver: WebhookSimulator) -> None:
    """``visit`` on globally, off in ``north``, on again in ``van-3`` (inside north);
    ann has no unit, bob is in north (two devices), cid in van-3."""
    ok(await client.post(f"/v1/apps/{app}/types", json={"key": "visit"}), 201)
    for key, parent in [("north", None), ("van-3", "north")]:
        body = {"key": key, "name": key, "parent": parent}
        ok(await client.post("/v1/units", json=body), 201)
    ok(await client.put("/v1/settings", json={"values": {"types.visit.enabled": True}}))
    off = {"values": {"types.visit.enabled": False}}
    ok(await client.put("/v1/units/north/settings", json=off))
    ok(await client.put("/v1/units/van-3/settings", json={"values": {"types.visit.enabled": True}}))
    for user, unit, hooks in [("ann", None, [0]), ("bob", "north", [1, 2]), ("cid", "van-3", [3])]:
        ok(await client.put(f"/v1/users/{user}", json={"unit": unit}), 201)
        for n in hooks:
            await register(client, app, f"{receiver.base_url}/hook/{n}", user=user)


async def _send(client: httpx.AsyncClient, app: str, records: str, **extra: Any) -> str:
    body = {"app": app, "audience": {"everyone": True}, "title": "t", "records": records}
    answer = await client.post("/v1/notifications", json={**body, **extra})
    assert answer.status_code == 202, answer.text
    notification_id: str = answer.json()["id"]
    return notification_id


async def _status(client: httpx.AsyncClient, notification_id: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(await client.get(f"/v1/notifications/{notification_id}"))
    return body


def _counts(status: dict[str, Any]) -> dict[str, int]:
    return {state: n for state, n in status["deliveries"].items() if n}


async def _suppressed(client: httpx.AsyncClient, notification_id: str) -> list[tuple[str, str]]:
    found = ok(
        await client.get(
            f"/v1/notifications/{notification_id}/deliveries", params={"state": "suppressed"}
        )
    )
    return sorted((item["state"], item["reason"]) for item in found["items"])


@pytest.mark.parametrize("records", RECORDS)
async def test_recipients_switched_off_are_counted_by_reason(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    records: str,
) -> None:
    await _organisation(client, webhook_app, webhook_sim)
    first = await _send(client, webhook_app, records, type="visit")
    await work_through(services)
    status = await _status(client, first)
    assert status["state"] == "completed"
    assert _counts(status) == {"sent": 2, "suppressed": 2}
    assert status["suppressed"] == {"unit_disabled": 2}
    assert status["by_provider"]["webhook"]["suppressed"] == 2
    assert await _suppressed(client, first) == [("suppressed", "unit_disabled")] * 2
    assert sorted(r.token for r in webhook_sim.all_received()) == ["/hook/0", "/hook/3"]
    # Off globally: ann (no unit) resolves there; van-3 still turns it on for cid.
    off = {"name": "types.visit.enabled", "value": False}
    ok(await client.patch("/v1/settings", json=off))
    second = await _send(client, webhook_app, records, type="visit")
    await work_through(services)
    status = await _status(client, second)
    assert _counts(status) == {"sent": 1, "suppressed": 3}
    assert status["suppressed"] == {"unit_disabled": 2, "type_disabled": 1}
    assert sorted(reason for _, reason in await _suppressed(client, second)) == [
        "type_disabled",
        "unit_disabled",
        "unit_disabled",
    ]
    # Without a type, nothing is suppressed.
    plain = await _send(client, webhook_app, records)
    await work_through(services)
    status = await _status(client, plain)
    assert (_counts(status), status["suppressed"]) == ({"sent": 4}, {})


@pytest.mark.parametrize("records", RECORDS)
async def test_everyone_suppressed_completes(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    records: str,
) -> None:
    await _organisation(client, webhook_app, webhook_sim)
    ok(await client.put("/v1/units/van-3/settings", json={"values": {}}))
    ok(await client.put("/v1/settings", json={"values": {"types.visit.enabled": False}}))
    notification_id = await _send(client, webhook_app, records, type="visit")
    await work_through(services)
    status = await _status(client, notification_id)
    assert status["state"] == "completed"
    assert status["suppressed"] == {"type_disabled": 1, "unit_disabled": 3}
    assert webhook_sim.all_received() == []
    # Suppressed on purpose is no failure to report.
    events = ok(await client.get("/v1/operational-events"))["items"]
    assert [e for e in events if e["kind"] == "notification.failed"] == []


@pytest.mark.parametrize("records", RECORDS)
async def test_a_page_run_again_counts_suppressed_once(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    records: str,
) -> None:
    """The fan-out job run a second time (its worker died after the page) neither counts
    nor lists a suppressed delivery twice, and what it sends is what its first run did,
    though the switches changed between the runs."""
    await _organisation(client, webhook_app, webhook_sim)
    notification_id = await _send(client, webhook_app, records, type="visit")
    async with worker_by_hand(services) as handle:
        [job] = await services.queue.lease((FANOUT,), 10, 60.0)
        first = await handle.worker.fanout.run(read_fanout(job.payload))
        # Between the runs, north turns the type on again: the page keeps its decision.
        ok(await client.put("/v1/units/north/settings", json={"values": {}}))
        handle.worker.fanout.switches.forget()  # type: ignore[union-attr]
        again = await handle.worker.fanout.run(read_fanout(job.payload))
        for batch in first:
            await handle.worker.sender.run(batch, first_run=True)
        for batch in again:
            await handle.worker.sender.run(batch, first_run=False)
        await services.queue.ack([job])
    await work_through(services)
    status = await _status(client, notification_id)
    assert status["state"] == "completed"
    assert _counts(status) == {"sent": 2, "suppressed": 2}
    assert status["suppressed"] == {"unit_disabled": 2}
    assert len(await _suppressed(client, notification_id)) == 2
    assert sorted(r.token for r in webhook_sim.all_received()) == ["/hook/0", "/hook/3"]
    assert webhook_sim.counters["duplicates"] == 0
