"""Triggers and events over the API: define, read, page, change, delete; what is refused
when a trigger is stored (422 naming the field); the test run that sends nothing; events
refused before they are stored; scopes and tenants (docs/events.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pushgate.core.event_inputs import MAX_BATCH
from pushgate.wiring import Services
from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, field_of, ok

TRIGGERS = "/v1/apps/mobile/triggers"
TEMPLATE = {"title": "{{ data.event.record.id }}", "body": "{{ data.event.record.fields.what }}"}


def trigger(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": "assigned",
        "events": ["incident.assigned"],
        "condition": "event.record.fields.priority <= 2",
        "recipients": {"kind": "field", "path": "record.fields.assigned_to"},
        "type": "incident",
    }
    body.update(changes)
    return body


def event(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "incident.assigned",
        "record": {
            "type": "incident",
            "id": "INC1",
            "fields": {"priority": 1, "assigned_to": "alice", "what": "Printer"},
        },
    }
    body.update(changes)
    return body


@pytest.fixture
async def with_type(client: httpx.AsyncClient, app_name: str) -> str:
    ok(
        await client.post(
            f"/v1/apps/{app_name}/types", json={"key": "incident", "template": TEMPLATE}
        ),
        201,
    )
    return app_name


@pytest.mark.usefixtures("with_type")
async def test_a_trigger_is_defined_read_listed_changed_and_deleted(
    client: httpx.AsyncClient,
) -> None:
    made = ok(await client.post(TRIGGERS, json=trigger()), 201)
    assert (made["key"], made["version"], made["enabled"]) == ("assigned", 1, True)
    ok(await client.post(TRIGGERS, json=trigger(key="other", condition=None)), 201)
    assert ok(await client.get(f"{TRIGGERS}/assigned"))["condition"] == trigger()["condition"]
    page = ok(await client.get(TRIGGERS, params={"limit": 1}))
    assert ([t["key"] for t in page["items"]], page["next"]) == (["assigned"], "assigned")
    rest = ok(await client.get(TRIGGERS, params={"after": "assigned"}))
    assert [t["key"] for t in rest["items"]] == ["other"]
    changed = ok(await client.patch(f"{TRIGGERS}/assigned", json={"throttle_minutes": 5}))
    assert (changed["version"], changed["throttle_minutes"]) == (2, 5)
    assert changed["condition"] == trigger()["condition"]
    assert (await client.delete(f"{TRIGGERS}/assigned")).status_code == 204
    error_of(await client.get(f"{TRIGGERS}/assigned"), 404, "not_found")
    error_of(await client.post(TRIGGERS, json=trigger(key="other")), 409)
    audit = ok(await client.get("/v1/audit", params={"action": "trigger.create"}))
    assert len(audit["items"]) == 2


@pytest.mark.usefixtures("with_type")
@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"condition": "event.record.fields.priority <="}, "condition", "Syntax error"),
        ({"condition": "priority == 1"}, "condition", "undeclared reference"),
        ({"condition": "event.record.fields.l.map(x, x).size() > 0"}, "condition", "map()"),
        ({"condition": "1 + 2"}, "condition", "true or false"),
        ({"type": "nope"}, "type", "no notification type"),
        ({"cancel_on": "true"}, "cancel_on", "delay_minutes"),
        ({"delay_minutes": 5, "cancel_on": "event.x +"}, "cancel_on", "Syntax error"),
    ],
)
async def test_a_trigger_that_cannot_work_is_refused_naming_the_field(
    client: httpx.AsyncClient, changes: dict[str, Any], field: str, words: str
) -> None:
    answer = await client.post(TRIGGERS, json=trigger(**changes))
    assert field_of(answer) == field
    assert words in answer.json()["error"]["message"]


@pytest.mark.usefixtures("with_type")
@pytest.mark.parametrize(
    "changes",
    [
        {"recipients": {"kind": "field", "path": "record.assigned_to"}},
        {"recipients": {"kind": "field", "path": "record.fields."}},
        {"recipients": {"kind": "field", "path": "record.fields.a b"}},
        {"recipients": {"kind": "tags", "tags": "a && "}},
        {"recipients": {"kind": "everyone"}},
        {"events": []},
        {"operations": ["upsert"]},
        {"throttle_minutes": 0},
    ],
)
async def test_malformed_triggers_are_422(
    client: httpx.AsyncClient, changes: dict[str, Any]
) -> None:
    error_of(await client.post(TRIGGERS, json=trigger(**changes)), 422)


@pytest.mark.usefixtures("with_type")
async def test_a_change_is_checked_as_a_whole_trigger(client: httpx.AsyncClient) -> None:
    ok(await client.post(TRIGGERS, json=trigger()), 201)
    assert field_of(await client.patch(f"{TRIGGERS}/assigned", json={"type": "gone"})) == "type"
    answer = await client.patch(f"{TRIGGERS}/assigned", json={"condition": "event.("})
    assert field_of(answer) == "condition"
    assert ok(await client.get(f"{TRIGGERS}/assigned"))["version"] == 1


@pytest.mark.usefixtures("with_type")
async def test_a_test_run_shows_match_recipients_and_text_and_sends_nothing(
    client: httpx.AsyncClient, services: Services
) -> None:
    ok(await client.post(TRIGGERS, json=trigger()), 201)
    run = ok(await client.post(f"{TRIGGERS}/assigned/test", json={"event": event()}))
    assert run["matched"] is True
    assert run["recipients"] == {"users": ["alice"]}
    assert run["rendered"] == {"title": "INC1", "body": "Printer"}
    low = event(record={"type": "incident", "id": "INC2", "fields": {"priority": 5}})
    run = ok(await client.post(f"{TRIGGERS}/assigned/test", json={"event": low}))
    assert (run["matched"], run["reason"]) == (False, "condition false")
    broken = event(record={"type": "incident", "id": "INC3", "fields": {}})
    run = ok(await client.post(f"{TRIGGERS}/assigned/test", json={"event": broken}))
    assert run["matched"] is False
    assert run["reason"].startswith("condition failed:")
    other = ok(await client.post(f"{TRIGGERS}/assigned/test", json={"event": event(name="x")}))
    assert other["matched"] is False
    listed = ok(await client.get("/v1/notifications"))
    assert listed["items"] == []


@pytest.mark.usefixtures("with_type")
async def test_events_refused_before_they_are_stored(client: httpx.AsyncClient) -> None:
    assert field_of(await client.post("/v1/events", json=event(name="has space"))).startswith(
        "name"
    )
    error_of(await client.post("/v1/events", json=event(app="nope")), 404, "not_found")
    error_of(await client.post("/v1/events", json=event(operation="upsert")), 422)
    big = event(data={"x": "a" * 70_000})
    error_of(await client.post("/v1/events", json=big), 422)
    too_many = {"events": [event()] * (MAX_BATCH + 1)}
    error_of(await client.post("/v1/events:batch", json=too_many), 422)
    error_of(await client.get("/v1/events/nope"), 404, "not_found")


@pytest.mark.usefixtures("with_type")
async def test_a_send_key_records_events_but_does_not_define_triggers(
    client: httpx.AsyncClient, make_key: MakeKey, other_tenant: str
) -> None:
    sender = bearer(await make_key("send"))
    error_of(await client.post(TRIGGERS, json=trigger(), headers=sender), 403, "forbidden")
    answer = await client.post("/v1/events", json=event(), headers=sender)
    assert answer.status_code == 202, answer.text
    assert ok(await client.get(f"/v1/events/{answer.json()['id']}", headers=sender))
    theirs = bearer(await make_key("send", tenant=other_tenant))
    error_of(await client.get(f"/v1/events/{answer.json()['id']}", headers=theirs), 404)
    error_of(await client.get(f"{TRIGGERS}/assigned", headers=theirs), 404)
    assert ok(await client.get("/v1/events", headers=theirs))["items"] == []


async def test_the_event_log_lists_newest_first_by_name_and_record_in_pages(
    client: httpx.AsyncClient,
) -> None:
    made = []
    for name, record in [
        ("incident.created", "INC1"),
        ("incident.assigned", "INC1"),
        ("incident.assigned", "INC2"),
        ("incident.closed", "INC1"),
    ]:
        body = event(name=name, record={"type": "incident", "id": record, "fields": {}})
        made.append(ok(await client.post("/v1/events", json=body), 202)["id"])
    listed = ok(await client.get("/v1/events"))
    assert [e["id"] for e in listed["items"]] == made[::-1]
    first = listed["items"][0]
    shown = (first["name"], first["record_id"], first["state"])
    assert shown == ("incident.closed", "INC1", "pending")
    assert (first["triggers"], first["matched"], first["notifications"]) == (0, 0, 0)
    named = ok(await client.get("/v1/events", params={"name": "incident.assigned"}))
    assert [e["id"] for e in named["items"]] == [made[2], made[1]]
    record = {"record_type": "incident", "record_id": "INC1"}
    on_record = ok(await client.get("/v1/events", params=record))
    assert [e["id"] for e in on_record["items"]] == [made[3], made[1], made[0]]
    page = ok(await client.get("/v1/events", params={"limit": 3}))
    assert page["next"] == made[1]
    rest = ok(await client.get("/v1/events", params={"limit": 3, "after": page["next"]}))
    assert ([e["id"] for e in rest["items"]], rest["next"]) == ([made[0]], None)
    field = field_of(await client.get("/v1/events", params={"record_id": "INC1"}))
    assert field == "record_id"
