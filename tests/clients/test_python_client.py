"""The Python client package (clients/python) against a live server in embedded mode.

One server for the module: a real uvicorn on a loopback port with a delivery worker, its
webhook devices served by the webhook simulator (tests/api/live.py). Each test works in
a tenant of its own, so they do not see each other's apps.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import typing
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest

from pushgate.simulators.identity import identity_of
from pushgate.simulators.webhook import WebhookSimulator
from pushgate_client import ApiError, AsyncClient, Call, Client, models
from tests.api.live import LiveServer, live_server

T = TypeVar("T")

WAIT_SECONDS = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("python-client"), worker=True) as running:
        yield running


@pytest.fixture
def devices(server: LiveServer) -> WebhookSimulator:
    assert server.devices is not None
    return server.devices


def _json(response: httpx.Response) -> Any:
    return response.json()


@pytest.fixture
def tenant(server: LiveServer) -> str:
    """A tenant of this test's own, made with the client's escape hatch, ``run(Call)``."""
    name = f"t{secrets.token_hex(4)}"
    with Client(server.base_url, server.admin_key) as admin:
        made = admin.run(Call("POST", "/v1/tenants", _json, json={"name": name}))
    assert made["name"] == name
    return name


@pytest.fixture
def pushgate(server: LiveServer, tenant: str) -> Iterator[Client]:
    with Client(server.base_url, server.admin_key, tenant=tenant) as client:
        yield client


def _eventually(check: Callable[[], T | None], what: str) -> T:
    """Poll what the live worker does (bounded): the worker runs in the server's thread."""
    deadline = time.monotonic() + WAIT_SECONDS
    while (found := check()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)
    return found


def _sent(client: Client, notification_id: str, count: int) -> models.Notification | None:
    status = client.get_notification(notification_id)
    return status if status["deliveries"].get("sent", 0) == count else None


def _shop(client: Client, devices: WebhookSimulator) -> None:
    client.create_app({"name": "shop", "description": "Web shop"})
    client.put_credentials("shop", "webhook", {"url": f"{devices.base_url}/hook/shop"})


# -- the typed dictionaries are the server's schemas -----------------------------------

ANSWERS: dict[str, type[Any]] = {
    "AppOut": models.App,
    "CredentialOut": models.Credentials,
    "UserOut": models.User,
    "DeviceOut": models.Device,
    "NotificationAccepted": models.NotificationAccepted,
    "NotificationOut": models.Notification,
    "EngagementOut": models.Engagement,
    "DeliveryOut": models.Delivery,
    "EventAccepted": models.EventAccepted,
    "EventBatchAccepted": models.EventBatchAccepted,
    "EventOut": models.Event,
    "AppReportOut": models.AppReport,
    "InteractionsOut": models.InteractionsRecorded,
}
BODIES: dict[str, type[Any]] = {
    "AppInput": models.AppIn,
    "DeviceInput": models.DeviceIn,
    "UserInput": models.UserIn,
    "NotificationInput": models.NotificationIn,
    "EventInput": models.EventIn,
    "RecordInput": models.RecordIn,
    "InteractionIn": models.InteractionIn,
}


def test_typed_dictionaries_carry_the_fields_of_the_servers_schemas(server: LiveServer) -> None:
    schemas = httpx.get(f"{server.base_url}/openapi.json", timeout=60).json()["components"][
        "schemas"
    ]
    for name, answer in ANSWERS.items():
        assert set(typing.get_type_hints(answer)) == set(schemas[name]["properties"]), name
    for name, body in BODIES.items():
        fields = set(schemas[name]["properties"])
        assert set(typing.get_type_hints(body)) <= fields, name
        # What the server requires, the client's type requires too (and nothing more).
        assert body.__required_keys__ == set(schemas[name].get("required", [])), name
    update = set(typing.get_type_hints(models.AppUpdate))
    assert update <= set(schemas["AppUpdate"]["properties"])


# -- the blocking client ---------------------------------------------------------------


def test_apps_users_and_devices(pushgate: Client, devices: WebhookSimulator) -> None:
    _shop(pushgate, devices)
    assert [app["name"] for app in pushgate.list_apps()] == ["shop"]
    changed = pushgate.update_app("shop", {"description": "Shop and app"})
    assert changed["description"] == pushgate.get_app("shop")["description"] == "Shop and app"

    user = pushgate.put_user("alice", {"locale": "de", "attributes": {"plan": "pro"}})
    assert (user["external_id"], user["locale"]) == ("alice", "de")
    assert pushgate.get_user("alice")["attributes"] == {"plan": "pro"}
    assert [u["external_id"] for u in pushgate.list_users()["items"]] == ["alice"]

    hook = f"{devices.base_url}/hook/alice"
    device = pushgate.register_device(
        "shop", {"provider": "webhook", "token": hook, "user": "alice"}
    )
    assert device["state"] == "active"
    assert pushgate.get_device(device["id"])["token"] == hook
    assert [d["id"] for d in pushgate.list_user_devices("alice")["items"]] == [device["id"]]

    # Paging: two devices, one a page, followed by the cursor.
    other = pushgate.register_device("shop", {"provider": "webhook", "token": f"{hook}/2"})
    first = pushgate.list_devices(app="shop", limit=1)
    assert first["next"] is not None
    second = pushgate.list_devices(app="shop", limit=1, after=first["next"])
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {device["id"], other["id"]}

    assert pushgate.delete_device(other["id"])["id"] == other["id"]
    assert pushgate.get_device(other["id"])["state"] != "active"
    pushgate.delete_user("alice")
    with pytest.raises(ApiError) as gone:
        pushgate.get_user("alice")
    assert gone.value.status == 404


def test_a_send_is_delivered_reported_and_exported(
    pushgate: Client, devices: WebhookSimulator, server: LiveServer
) -> None:
    _shop(pushgate, devices)
    token = f"{devices.base_url}/hook/{secrets.token_hex(4)}"
    pushgate.register_device("shop", {"provider": "webhook", "token": token, "user": "bob"})
    send: models.NotificationIn = {
        "app": "shop",
        "audience": {"users": ["bob"]},
        "title": "Booked",
        "body": "Tomorrow 9:00",
    }
    accepted = pushgate.send_notification(send, idempotency_key="booking-1")
    assert (accepted["created"], accepted["targeted"]) == (True, 1)
    again = pushgate.send_notification(send, idempotency_key="booking-1")
    assert (again["id"], again["created"]) == (accepted["id"], False)

    _eventually(lambda: _sent(pushgate, accepted["id"], 1), "the delivery")
    page = pushgate.list_deliveries(accepted["id"], outcome="sent")
    [delivery] = page["items"]
    assert delivery["state"] == "sent"

    # The device reports an open with its push's token, without any API key.
    [push] = [item for item in devices.all_received() if item.token in token]
    identity = identity_of("webhook", push.body)
    assert identity is not None
    opened: models.InteractionIn = {
        "notification": accepted["id"],
        "delivery": identity.fields["delivery"],
        "token": identity.fields["itoken"],
        "event": "opened",
        "at": datetime.now(UTC).isoformat(),
    }
    with Client(server.base_url) as device:
        recorded = device.report_interactions("shop", [opened])
    assert recorded["recorded"] == 1
    engagement = pushgate.get_notification(accepted["id"])["interactions"]
    assert engagement is not None
    assert engagement["opened"] == 1

    report = pushgate.app_report("shop", interval="hour")
    assert (report["app"], report["totals"]["sent"], report["totals"]["opened"]) == ("shop", 1, 1)
    assert delivery["id"] in pushgate.deliveries_csv(accepted["id"])
    header, *days = pushgate.app_series_csv("shop", interval="day").splitlines()
    assert header == "at,sent,received,opened,dismissed,actioned"
    # Every day of the default range, today last: the send and its open.
    assert days[-1].split(",", 1)[1] == "1,0,1,0,0"
    assert {day.split(",", 1)[1] for day in days[:-1]} <= {"0,0,0,0,0"}


def test_answers_other_than_2xx_raise_api_error(pushgate: Client, server: LiveServer) -> None:
    with pytest.raises(ApiError) as missing:
        pushgate.get_app("nope")
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    pushgate.create_app({"name": "shop"})
    bad: Any = {"app": "shop", "audience": {"users": []}, "title": "x"}
    with pytest.raises(ApiError) as refused:
        pushgate.send_notification(bad)
    assert refused.value.status == 422
    assert "audience" in str(refused.value.details), refused.value
    with Client(server.base_url, "pg_not_a_key") as stranger, pytest.raises(ApiError) as who:
        stranger.list_apps()
    assert who.value.status == 401


def test_a_scheduled_send_is_cancelled(pushgate: Client, devices: WebhookSimulator) -> None:
    _shop(pushgate, devices)
    pushgate.register_device("shop", {"provider": "webhook", "token": f"{devices.base_url}/h/c"})
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    accepted = pushgate.send_notification(
        {"app": "shop", "audience": {"everyone": True}, "title": "Later", "send_at": later}
    )
    assert pushgate.cancel_notification(accepted["id"])["state"] == "canceled"
    listed = pushgate.list_notifications(app="shop", state="canceled")
    assert [n["id"] for n in listed["items"]] == [accepted["id"]]


# -- the asyncio client ----------------------------------------------------------------


async def test_events_through_a_trigger_with_the_async_client(
    server: LiveServer, tenant: str, devices: WebhookSimulator
) -> None:
    async with AsyncClient(server.base_url, server.admin_key, tenant=tenant) as pushgate:
        await pushgate.create_app({"name": "desk"})
        hook = f"{devices.base_url}/hook/{secrets.token_hex(4)}"
        await pushgate.put_credentials("desk", "webhook", {"url": hook})
        await pushgate.register_device(
            "desk", {"provider": "webhook", "token": hook, "user": "carol"}
        )
        template = {"title": "Assigned", "body": "{{ data.event.record.id }}"}
        await pushgate.run(
            Call(
                "POST", "/v1/apps/desk/types", _json, json={"key": "assigned", "template": template}
            )
        )
        trigger = {
            "key": "assigned",
            "events": ["incident.assigned"],
            "recipients": {"kind": "field", "path": "record.fields.assigned_to"},
            "type": "assigned",
        }
        await pushgate.run(Call("POST", "/v1/apps/desk/triggers", _json, json=trigger))

        event: models.EventIn = {
            "name": "incident.assigned",
            "record": {"type": "incident", "id": "INC0042", "fields": {"assigned_to": "carol"}},
        }
        accepted = await pushgate.record_event(event, idempotency_key="inc-42")
        assert accepted["created"]
        repeat = await pushgate.record_event(event, idempotency_key="inc-42")
        assert (repeat["id"], repeat["created"]) == (accepted["id"], False)
        batch = await pushgate.record_events([event, {**event, "name": "incident.closed"}])
        assert len(batch["items"]) == 2

        deadline = time.monotonic() + WAIT_SECONDS
        while (found := await pushgate.get_event(accepted["id"]))["state"] != "processed":
            assert time.monotonic() < deadline, found
            await _pause()
        [matched] = found["triggers"]
        assert (matched["matched"], matched["targeted"]) == (True, 1), matched
        assert matched["trigger"] == "assigned"
        status = await pushgate.get_notification(matched["notification"])
        assert status["content"]["body"] == "INC0042"


async def _pause() -> None:
    await asyncio.sleep(0.05)
