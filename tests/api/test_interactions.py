"""Devices report interactions through the real app (docs/reports.md): pushes delivered to
webhook devices through their simulator, reported with the interaction token each
carried, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from standardwebhooks.webhooks import Webhook

from pushgate.core import interaction_tokens
from pushgate.core.clock import ManualClock as Clock
from pushgate.core.interaction_tokens import InteractionClaims
from pushgate.delivery.jobs import JOB_KINDS
from pushgate.simulators.server import start
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services, build_services
from tests.api.answer_scene import crm_app, device_client
from tests.api.expect import error_of, ok
from tests.api.interaction_scene import Received, broadcast, report
from tests.api.test_rate_limits import ManualClock
from tests.conftest import empty_postgres, make_settings
from tests.delivery.conftest import register, work_through
from tests.delivery.test_operational_events import Receiver


@pytest.fixture
def limits_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def services(
    database_url: str, tmp_path: Path, limits_clock: ManualClock
) -> AsyncIterator[Services]:
    """Rate limits on a clock that moves only when told."""
    if database_url.startswith("postgresql"):
        await empty_postgres(database_url)
    built = await build_services(make_settings(tmp_path, database_url), limits_clock=limits_clock)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
async def device_sim() -> AsyncIterator[WebhookSimulator]:
    simulator = WebhookSimulator()
    running = await start(simulator)
    yield simulator
    await running.close()


@pytest.fixture
async def device(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with device_client(services) as http:
        yield http


@pytest.fixture
async def pushes(
    client: httpx.AsyncClient, services: Services, device_sim: WebhookSimulator
) -> list[Received]:
    """One notification with the actions approve and reject, received by three devices."""
    await crm_app(client, device_sim)
    return await broadcast(client, services, device_sim, 3, action_set="approval")


async def _interactions(client: httpx.AsyncClient, notification: str) -> dict[str, object]:
    found: dict[str, object] = ok(await client.get(f"/v1/notifications/{notification}"))[
        "interactions"
    ]
    return found


async def test_events_are_recorded_once_and_counted_on_the_notification(
    client: httpx.AsyncClient, device: httpx.AsyncClient, pushes: list[Received]
) -> None:
    first, second, third = pushes
    events = [
        first.event("received"),
        first.event("opened"),
        first.event("action", "approve"),
        second.event("received"),
        second.event("opened"),
        second.event("opened"),  # twice in one batch: once
        third.event("received"),
        third.event("dismissed"),
    ]
    answer = ok(await report(device, events))
    assert answer == {"recorded": 7, "duplicates": 1, "late": 0, "expired": 0}
    again = ok(await report(device, [*events, second.event("action", "reject")]))
    assert again == {"recorded": 1, "duplicates": 8, "late": 0, "expired": 0}
    counts = await _interactions(client, first.notification)
    assert counts == {
        "received": 3,
        "opened": 2,
        "dismissed": 1,
        "actioned": 2,
        "actions": {"approve": 1, "reject": 1},
        "received_rate": 1.0,
        "open_rate": 0.6667,
        "action_rate": 0.6667,
        # Both opened within the first minute of sending: the bucket [0, 60 s).
        "median_seconds_to_open": counts["median_seconds_to_open"],
    }
    assert isinstance(counts["median_seconds_to_open"], int)
    assert 0 <= counts["median_seconds_to_open"] <= 60


async def test_a_notification_with_no_reports_has_zero_counts(
    client: httpx.AsyncClient, pushes: list[Received]
) -> None:
    counts = await _interactions(client, pushes[0].notification)
    assert counts["opened"] == 0
    assert counts["open_rate"] == 0.0
    assert counts["median_seconds_to_open"] is None
    listed = ok(await client.get("/v1/notifications", params={"app": "crm"}))["items"]
    assert listed[0]["interactions"] is None  # listings do not read them


async def test_forged_tokens_or_tokens_of_another_delivery_refuse_the_batch(
    client: httpx.AsyncClient, device: httpx.AsyncClient, pushes: list[Received]
) -> None:
    first, second, _ = pushes
    flipped = first.token[:-2] + ("AA" if not first.token.endswith("AA") else "BB")
    forged = first.event("opened", token=flipped)
    refused = error_of(
        await report(device, [second.event("opened"), forged]), 401, "interaction_token_invalid"
    )
    assert refused["details"]["field"] == "events[1].token"
    swapped = second.event("opened", token=first.token)
    error_of(await report(device, [swapped]), 401, "interaction_token_invalid")
    other_notification = first.event("opened", notification=second.delivery)
    error_of(await report(device, [other_notification]), 401, "interaction_token_invalid")
    # Nothing of a refused batch was recorded.
    assert (await _interactions(client, first.notification))["opened"] == 0


async def test_pushes_of_another_app_are_refused(
    client: httpx.AsyncClient, device: httpx.AsyncClient, pushes: list[Received]
) -> None:
    ok(await client.post("/v1/apps", json={"name": "desk"}), 201)
    mismatch = error_of(await report(device, [pushes[0].event("opened")], "desk"), 403)
    assert mismatch["code"] == "app_mismatch"
    error_of(await report(device, [pushes[0].event("opened")], "nope"), 404, "not_found")
    assert (await _interactions(client, pushes[0].notification))["opened"] == 0


async def test_expired_tokens_are_counted_not_recorded(
    client: httpx.AsyncClient,
    services: Services,
    device: httpx.AsyncClient,
    pushes: list[Received],
) -> None:
    first, second, _ = pushes
    claims = InteractionClaims(
        first.delivery, first.notification, "0190a6f0-0000-7000-8000-000000000000", 1_000_000
    )
    expired = first.event("opened", token=interaction_tokens.mint(services.box, claims))
    answer = ok(await report(device, [expired, second.event("opened")]))
    assert answer == {"recorded": 1, "duplicates": 0, "late": 0, "expired": 1}
    assert (await _interactions(client, first.notification))["opened"] == 1


async def test_events_of_notifications_gone_are_late_not_errors(
    client: httpx.AsyncClient,
    services: Services,
    device: httpx.AsyncClient,
    pushes: list[Received],
) -> None:
    first, second, _ = pushes
    ok(await report(device, [first.event("received")]))
    late_before = _sample(services, "pushgate_interactions_late_total")
    # The retention purge takes the notification and what was recorded of it.
    assert await services.notifications.purge(services.clock.now_ms() + 1) == 1
    answer = ok(await report(device, [first.event("opened"), second.event("received")]))
    assert answer == {"recorded": 0, "duplicates": 0, "late": 2, "expired": 0}
    assert _sample(services, "pushgate_interactions_late_total") == late_before + 2
    error_of(await client.get(f"/v1/notifications/{first.notification}"), 404)


async def test_bad_events_are_422_naming_the_field(
    device: httpx.AsyncClient, pushes: list[Received]
) -> None:
    first = pushes[0]
    unknown_action = error_of(await report(device, [first.event("action", "later")]), 422)
    assert unknown_action["details"]["field"] == "events[0].action_key"
    error_of(await report(device, [first.event("action")]), 422)
    error_of(await report(device, [first.event("opened", "approve")]), 422)
    error_of(await report(device, [first.event("clicked")]), 422)
    error_of(await report(device, [first.event("opened")] * 101), 422)
    error_of(await report(device, []), 422)
    error_of(await report(device, [{**first.event("opened"), "at": "yesterday"}]), 422)
    huge = b'{"app": "crm", "events": [' + b" " * 70_000 + b"]}"
    too_large = await device.post(
        "/v1/interactions", content=huge, headers={"content-type": "application/json"}
    )
    error_of(too_large, 413)  # held to 64 KiB, below the instance's body limit


async def test_each_device_and_app_has_its_bucket_of_events(
    device: httpx.AsyncClient, pushes: list[Received], limits_clock: ManualClock
) -> None:
    first, second, _ = pushes
    batch = [first.event("opened")] * 100
    for _ in range(3):  # the device's burst: 300 events, repeats counted too
        ok(await report(device, batch))
    spent = await report(device, batch)
    assert error_of(spent, 429, "rate_limited")["details"]["limit"] == "interaction_device"
    assert int(spent.headers["Retry-After"]) >= 1
    ok(await report(device, [second.event("opened")]))  # another device's bucket
    limits_clock.advance(60)
    ok(await report(device, batch))


async def test_recorded_events_are_counted_in_metrics(
    services: Services, device: httpx.AsyncClient, pushes: list[Received]
) -> None:
    before = _sample(services, "pushgate_interactions_total", event="opened")
    ok(await report(device, [p.event("opened") for p in pushes]))
    ok(await report(device, [pushes[0].event("opened")]))  # a repeat counts nothing
    assert _sample(services, "pushgate_interactions_total", event="opened") == before + 3
    tenant_series = services.metrics.tenant_registry.get_sample_value(
        "pushgate_tenant_interactions_total",
        {"tenant": _tenant_of(services), "app": _app_id(services), "event": "opened"},
    )
    assert tenant_series == 3


def _sample(services: Services, name: str, **labels: str) -> float:
    return services.metrics.registry.get_sample_value(name, labels) or 0.0


def _tenant_of(services: Services) -> str:
    [sample] = _samples(services)
    return sample.labels["tenant"]


def _app_id(services: Services) -> str:
    [sample] = _samples(services)
    return sample.labels["app"]


def _samples(services: Services) -> list[Any]:
    return [
        sample
        for metric in services.metrics.tenant_registry.collect()
        if metric.name == "pushgate_tenant_interactions"
        for sample in metric.samples
        if sample.name == "pushgate_tenant_interactions_total"
    ]


async def _reported(device: httpx.AsyncClient, pushes: list[Received]) -> None:
    first, second, third = pushes
    events = [
        *(p.event("received") for p in pushes),
        first.event("opened"),
        second.event("opened"),
        first.event("action", "approve"),
        third.event("dismissed"),
    ]
    assert ok(await report(device, events))["recorded"] == 7


async def test_the_app_series_counts_sends_and_interactions_by_hour_and_day(
    client: httpx.AsyncClient, device: httpx.AsyncClient, pushes: list[Received]
) -> None:
    await _reported(device, pushes)
    hourly = ok(await client.get("/v1/reports/apps/crm", params={"interval": "hour"}))
    assert len(hourly["series"]) in (168, 169)  # a week, widened to whole hours
    expected = {"sent": 3, "received": 3, "opened": 2, "dismissed": 1, "actioned": 1}
    assert hourly["totals"] == expected
    [now] = [p for p in hourly["series"] if p["sent"]]
    assert {k: v for k, v in now.items() if k != "at"} == expected
    assert hourly["top"] == [
        {
            "notification": pushes[0].notification,
            "type": None,
            "created_at": hourly["top"][0]["created_at"],
            "sent": 3,
            "opened": 2,
            "open_rate": 0.6667,
        }
    ]
    daily = ok(await client.get("/v1/reports/apps/crm", params={"interval": "day"}))
    assert daily["totals"] == expected
    assert len(daily["series"]) in (7, 8)
    typed = ok(await client.get("/v1/reports/apps/crm", params={"type": "booking"}))
    assert typed["totals"] == dict.fromkeys(expected, 0)
    assert typed["top"] == []


async def test_the_series_range_is_checked(
    client: httpx.AsyncClient, pushes: list[Received]
) -> None:
    backwards = {"from": "2026-05-02T00:00:00Z", "to": "2026-05-01T00:00:00Z"}
    error_of(await client.get("/v1/reports/apps/crm", params=backwards), 422)
    too_long = {"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    refused = error_of(await client.get("/v1/reports/apps/crm", params=too_long), 422)
    assert refused["details"]["field"] == "from"
    error_of(await client.get("/v1/reports/apps/nope"), 404)


async def test_csv_exports_hold_the_series_and_each_delivery_with_its_interactions(
    client: httpx.AsyncClient, device: httpx.AsyncClient, pushes: list[Received]
) -> None:
    await _reported(device, pushes)
    series = await client.get("/v1/reports/apps/crm/series.csv", params={"interval": "day"})
    assert series.headers["content-type"].startswith("text/csv")
    lines = series.text.splitlines()
    assert lines[0] == "at,sent,received,opened,dismissed,actioned"
    assert [line.split(",", 1)[1] for line in lines[1:] if not line.endswith(",0,0,0,0,0")] == [
        "3,3,2,1,1"
    ]
    notification = pushes[0].notification
    exported = await client.get(f"/v1/reports/notifications/{notification}/deliveries.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    by_delivery = {row["delivery"]: row for row in rows}
    assert set(by_delivery) == {p.delivery for p in pushes}
    first, second, third = (by_delivery[p.delivery] for p in pushes)
    assert all(row["state"] == "sent" and row["received_at"] for row in rows)
    assert [bool(row["opened_at"]) for row in (first, second, third)] == [True, True, False]
    assert [row["actions"][:8] for row in (first, second, third)] == ["approve@", "", ""]
    assert [bool(row["dismissed_at"]) for row in (first, second, third)] == [False, False, True]
    missing = "/v1/reports/notifications/0190a6f0-0000-7000-8000-000000000000/deliveries.csv"
    error_of(await client.get(missing), 404)


async def test_sends_that_record_failures_only_count_in_the_series_and_take_reports(
    client: httpx.AsyncClient,
    services: Services,
    device: httpx.AsyncClient,
    device_sim: WebhookSimulator,
) -> None:
    """Counts moved, no delivery rows: the series still counts them sent, and their
    devices still report (the token, not a row, names the delivery)."""
    await crm_app(client, device_sim)
    pushes = await broadcast(client, services, device_sim, 2, records="failures")
    ok(await report(device, [p.event("opened") for p in pushes]))
    totals = ok(await client.get("/v1/reports/apps/crm"))["totals"]
    assert (totals["sent"], totals["opened"]) == (2, 2)
    assert (await _interactions(client, pushes[0].notification))["open_rate"] == 1.0


async def test_batches_reported_together_record_each_event_once(
    client: httpx.AsyncClient,
    services: Services,
    device: httpx.AsyncClient,
    pushes: list[Received],
) -> None:
    """Batches arriving together share a transaction; an event two of them name is new
    to one of them only, and the counts move once."""
    first, second, third = pushes
    overlapping = [first.event("opened"), second.event("opened")]
    batches = [
        overlapping,
        [*overlapping, third.event("opened")],
        [third.event("opened"), first.event("received")],
        overlapping,
    ]
    groups_before = services.interaction_store.groups.groups
    answers = await asyncio.gather(*(report(device, batch) for batch in batches))
    outcomes = [ok(answer) for answer in answers]
    assert sum(o["recorded"] for o in outcomes) == 4
    assert sum(o["duplicates"] for o in outcomes) == 9 - 4
    assert services.interaction_store.groups.groups - groups_before <= len(batches)
    counts = await _interactions(client, first.notification)
    assert (counts["opened"], counts["received"]) == (3, 1)


async def test_refusals_name_the_field_as_the_route_did(
    device: httpx.AsyncClient, pushes: list[Received]
) -> None:
    first = pushes[0]
    refused = error_of(await report(device, [first.event("clicked")]), 422, "validation_failed")
    assert refused["details"]["errors"][0]["field"] == "events.0.event"
    not_object = await device.post("/v1/interactions", json=[first.event("opened")])
    assert error_of(not_object, 422)["details"]["errors"][0]["field"] == "body"
    broken = await device.post(
        "/v1/interactions", content=b'{"app": "crm", "events": [', headers=_JSON
    )
    error_of(broken, 400, "malformed_json")
    repeated = b'{"app": "crm", "app": "crm", "events": []}'
    twice = error_of(await device.post("/v1/interactions", content=repeated, headers=_JSON), 422)
    assert twice["message"] == "body: names 'app' more than once"
    error_of(await device.post("/v1/interactions", headers=_JSON), 422, "validation_failed")
    error_of(await device.get("/v1/interactions"), 405)


_JSON = {"content-type": "application/json"}
SECRET = "host-system-signing-secret-0123456789abcdef"


def _user_token(sub: str, secret: str = SECRET) -> dict[str, str]:
    claims = {"sub": sub, "exp": int(time.time()) + 300}
    return {"Pushgate-User-Token": jwt.encode(claims, secret, algorithm="HS256")}


@pytest.fixture
async def users_pushes(
    client: httpx.AsyncClient, services: Services, device_sim: WebhookSimulator
) -> list[Received]:
    """One notification to two devices of alice and one of bob."""
    await crm_app(client, device_sim)
    return await broadcast(
        client, services, device_sim, 3, users=["alice", "alice", "bob"], action_set="approval"
    )


def _by_device(push: Received, event: str, action_key: str | None = None) -> dict[str, Any]:
    named = push.event(event, action_key)
    del named["delivery"], named["token"]
    return {**named, "device": push.device}


async def test_a_user_reports_for_their_devices_with_the_apps_user_token(
    client: httpx.AsyncClient, device: httpx.AsyncClient, users_pushes: list[Received]
) -> None:
    phone, tablet, _ = users_pushes
    ok(await client.patch("/v1/apps/crm", json={"user_auth_secret": SECRET}))
    events = [_by_device(phone, "opened"), _by_device(tablet, "action", "approve")]
    answer = await device.post(
        "/v1/interactions", json={"app": "crm", "events": events}, headers=_user_token("alice")
    )
    assert ok(answer) == {"recorded": 2, "duplicates": 0, "late": 0, "expired": 0}
    # The same delivery, reported with the push's own token: recorded already.
    assert ok(await report(device, [phone.event("opened")]))["duplicates"] == 1
    counts = await _interactions(client, phone.notification)
    assert (counts["opened"], counts["actions"]) == (1, {"approve": 1})
    exported = await client.get(f"/v1/reports/notifications/{phone.notification}/deliveries.csv")
    opened = {row["delivery"] for row in csv.DictReader(io.StringIO(exported.text))}
    assert phone.delivery in opened


async def test_user_token_reports_are_refused_for_devices_not_the_users(
    client: httpx.AsyncClient,
    device: httpx.AsyncClient,
    device_sim: WebhookSimulator,
    users_pushes: list[Received],
) -> None:
    phone, _, bobs = users_pushes

    async def post(events: list[dict[str, Any]], headers: dict[str, str]) -> httpx.Response:
        body = {"app": "crm", "events": events}
        return await device.post("/v1/interactions", json=body, headers=headers)

    mine = [_by_device(phone, "opened")]
    # The app has no user-auth secret yet: no user can be proven.
    error_of(await post(mine, _user_token("alice")), 401, "unauthenticated")
    ok(await client.patch("/v1/apps/crm", json={"user_auth_secret": SECRET}))
    error_of(await post(mine, {}), 401, "unauthenticated")
    forged = _user_token("alice", "another-secret-0123456789abcdef-0123456789")
    error_of(await post(mine, forged), 401, "unauthenticated")
    theirs = error_of(await post([*mine, _by_device(bobs, "opened")], _user_token("alice")), 403)
    assert theirs["details"]["field"] == "events[1].device"
    # A device of alice's that the notification did not go to.
    other = await register(client, "crm", f"{device_sim.base_url}/hook/other", user="alice")
    missing = error_of(
        await post([{**mine[0], "device": other}], _user_token("alice")), 404, "not_found"
    )
    assert missing["details"]["field"] == "events[0].device"
    both = {**phone.event("opened"), "device": phone.device}
    error_of(await post([both], _user_token("alice")), 422, "validation_failed")
    # Nothing of a refused batch was recorded.
    assert (await _interactions(client, phone.notification))["opened"] == 0
    assert ok(await post(mine, _user_token("alice")))["recorded"] == 1


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The host system's operational webhook: a 500 first, then 204s."""
    made = Receiver([500])
    server = await asyncio.start_server(made.handle, "127.0.0.1", 0)
    made.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/ops"
    yield made
    server.close()
    await server.wait_closed()


async def test_recorded_interactions_are_forwarded_signed_and_batched_when_the_tenant_asks(
    client: httpx.AsyncClient,
    services: Services,
    device: httpx.AsyncClient,
    pushes: list[Received],
    receiver: Receiver,
) -> None:
    first, second, third = pushes
    hook = ok(
        await client.patch(
            "/v1/tenants/default", json={"operational_webhook": {"url": receiver.url}}
        )
    )
    secret = hook["operational_webhook"]["secret"]
    ok(await report(device, [third.event("received")]))  # before forwarding is on
    ok(await client.patch("/v1/settings", json={"name": "interactions.forward", "value": True}))
    events = [first.event("opened"), second.event("action", "approve"), first.event("opened")]
    ok(await report(device, events))
    ok(await report(device, events))  # repeats record nothing, so forward nothing
    # An hour behind: the retry after the 500 is due at once for the queue.
    await work_through(services, clock=Clock(time.time() - 3600))

    assert len(receiver.received) == 2  # the 500, then the 204: one batch
    (_, failed), (headers, body) = receiver.received
    assert failed == body
    sent = Webhook(secret).verify(body, headers)
    assert headers["webhook-id"] == sent["id"]
    assert (sent["type"], sent["tenant"], sent["subject"]["type"]) == (
        "interactions",
        "default",
        "app",
    )
    forwarded = sorted(sent["data"]["events"], key=lambda e: e["event"])
    assert [(e["notification"], e["delivery"], e["event"], e["action_key"]) for e in forwarded] == [
        (second.notification, second.delivery, "action", "approve"),
        (first.notification, first.delivery, "opened", None),
    ]
    assert all(e["device"] and e["at"].endswith("Z") for e in forwarded)
    depth = await services.queue.depth(JOB_KINDS)
    assert sum(d.ready + d.delayed + d.leased + d.dead for d in depth.values()) == 0
