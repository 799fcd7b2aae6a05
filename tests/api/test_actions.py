"""Actions and action sets over the API: define, read, change, delete; the rules they keep;
webhook secrets shown once; tenants and scopes (docs/actions.md, "Managing actions")."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from pushgate.wiring import Services
from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, field_of, ok

ACTIONS = "/v1/apps/mobile/actions"
SETS = "/v1/apps/mobile/action-sets"
HOOK = "https://hooks.example.com/answers"


def _action(key: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"key": key, "title": key.title(), "handler": {"kind": "record"}}
    body.update(changes)
    return body


async def _define(client: httpx.AsyncClient, *keys: str) -> list[dict[str, Any]]:
    return [ok(await client.post(ACTIONS, json=_action(key)), 201) for key in keys]


async def test_create_read_list_update_delete(client: httpx.AsyncClient, app_name: str) -> None:
    body = _action(
        "approve",
        title="Approve",
        titles={"de": "Genehmigen", "fr-CA": "Approuver"},
        foreground=True,
        authentication_required=True,
        text_input={"placeholder": "Why?", "button_title": "Send"},
        deadline_seconds=7200,
    )
    made = ok(await client.post(ACTIONS, json=body), 201)
    assert made["key"] == "approve"
    assert made["titles"] == {"de": "Genehmigen", "fr-CA": "Approuver"}
    assert (made["foreground"], made["destructive"], made["authentication_required"]) == (
        True,
        False,
        True,
    )
    assert made["text_input"] == {"placeholder": "Why?", "button_title": "Send"}
    assert (made["allow_repeats"], made["deadline_seconds"]) == (False, 7200)
    assert made["handler"] == {"kind": "record"}
    assert made["secret"] is None
    shown = {k: v for k, v in made.items() if k != "secret"}
    assert ok(await client.get(f"{ACTIONS}/approve")) == shown
    assert ok(await client.get(f"{ACTIONS}/{made['id']}")) == shown
    await _define(client, "reject")
    assert [a["key"] for a in ok(await client.get(ACTIONS))] == ["approve", "reject"]

    changed = ok(
        await client.patch(
            f"{ACTIONS}/approve", json={"title": "OK", "text_input": None, "destructive": True}
        )
    )
    assert (changed["title"], changed["text_input"], changed["destructive"]) == ("OK", None, True)
    assert changed["titles"] == made["titles"]  # left out: kept
    assert changed["foreground"] is True
    assert ok(await client.get(f"{ACTIONS}/{made['id']}"))["title"] == "OK"

    assert (await client.delete(f"{ACTIONS}/{made['id']}")).status_code == 204
    error = error_of(await client.get(f"{ACTIONS}/approve"), 404, "not_found")
    assert error["details"] == {"action": "approve"}
    error_of(await client.delete(f"{ACTIONS}/approve"), 404, "not_found")
    error_of(await client.patch(f"{ACTIONS}/approve", json={"title": "x"}), 404, "not_found")
    assert [a["key"] for a in ok(await client.get(ACTIONS))] == ["reject"]


async def test_keys_are_unique_per_app_and_fixed(client: httpx.AsyncClient, app_name: str) -> None:
    await _define(client, "approve")
    error_of(await client.post(ACTIONS, json=_action("approve")), 409, "conflict")
    ok(await client.post("/v1/apps", json={"name": "desk"}), 201)
    ok(await client.post("/v1/apps/desk/actions", json=_action("approve")), 201)
    assert field_of(await client.patch(f"{ACTIONS}/approve", json={"key": "other"})) == "key"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"key": "Approve"}, "key"),
        ({"key": "a" * 65}, "key"),
        ({"key": "0190a8e2-3c4d-7e5f-8a6b-1c2d3e4f5a6b"}, "key"),  # shaped like an id
        ({"title": ""}, "title"),
        ({"title": "t" * 65}, "title"),
        ({"titles": {"not a locale": "x"}}, "titles.not a locale.[key]"),
        ({"titles": {"de": "t" * 65}}, "titles.de"),
        ({"handler": {"kind": "email"}}, "handler"),
        ({"handler": {"kind": "webhook"}}, "handler.webhook.url"),
        ({"handler": {"kind": "webhook", "url": "http://hooks.example.com/x"}}, "handler.url"),
        ({"handler": {"kind": "webhook", "url": "ftp://hooks.example.com/x"}}, "handler.url"),
        ({"handler": {"kind": "webhook", "url": HOOK, "timeout_seconds": 0}}, "handler.webhook"),
        ({"handler": {"kind": "webhook", "url": HOOK, "timeout_seconds": 31}}, "handler.webhook"),
        ({"handler": {"kind": "webhook", "url": HOOK, "secret": "plain"}}, "handler.webhook"),
        ({"handler": {"kind": "webhook", "url": HOOK, "contract": "xml"}}, "handler.webhook"),
        ({"handler": {"kind": "python", "name": "not-installed"}}, "handler.name"),
        ({"handler": {"kind": "python", "name": "demo-approve", "timeout_seconds": 60}}, "handler"),
        ({"deadline_seconds": 0}, "deadline_seconds"),
        ({"deadline_seconds": 7 * 24 * 3600 + 1}, "deadline_seconds"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invalid_actions_are_422_naming_the_field(
    client: httpx.AsyncClient, app_name: str, changes: dict[str, Any], field: str
) -> None:
    answer = await client.post(ACTIONS, json={**_action("approve"), **changes})
    assert field_of(answer).startswith(field), answer.text
    assert ok(await client.get(ACTIONS)) == []


async def test_an_installed_python_handler_is_taken(
    client: httpx.AsyncClient, app_name: str
) -> None:
    handler = {"kind": "python", "name": "demo-approve", "timeout_seconds": 5}
    made = ok(await client.post(ACTIONS, json=_action("approve", handler=handler)), 201)
    assert made["handler"] == {"kind": "python", "name": "demo-approve", "timeout_seconds": 5.0}
    assert made["secret"] is None


async def test_webhook_secret_is_shown_once_and_opens_for_the_response_loop(
    client: httpx.AsyncClient, app_name: str, services: Services
) -> None:
    handler = {"kind": "webhook", "url": HOOK, "contract": "success_code_message"}
    made = ok(await client.post(ACTIONS, json=_action("approve", handler=handler)), 201)
    secret = made["secret"]
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 32
    assert made["handler"] == {
        "kind": "webhook",
        "url": HOOK,
        "contract": "success_code_message",
        "timeout_seconds": 10.0,
    }
    for read in (await client.get(ACTIONS), await client.get(f"{ACTIONS}/approve")):
        assert secret.removeprefix("whsec_") not in read.text
        assert "secret" not in read.text
    assert await services.catalog.webhook_secret(made["id"]) == secret

    kept = ok(await client.patch(f"{ACTIONS}/approve", json={"title": "Yes"}))
    assert kept["secret"] is None
    assert await services.catalog.webhook_secret(made["id"]) == secret

    rotated = ok(await client.patch(f"{ACTIONS}/approve", json={"rotate_secret": True}))
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != secret
    assert await services.catalog.webhook_secret(made["id"]) == rotated["secret"]

    recorded = ok(await client.patch(f"{ACTIONS}/approve", json={"handler": {"kind": "record"}}))
    assert recorded["secret"] is None
    assert await services.catalog.webhook_secret(made["id"]) is None
    refused = await client.patch(f"{ACTIONS}/approve", json={"rotate_secret": True})
    assert field_of(refused) == "rotate_secret"

    own = "whsec_" + base64.b64encode(b"k" * 24).decode()
    again = {"handler": {"kind": "webhook", "url": HOOK, "secret": own}}
    assert ok(await client.patch(f"{ACTIONS}/approve", json=again))["secret"] == own
    assert await services.catalog.webhook_secret(made["id"]) == own


async def test_action_sets(client: httpx.AsyncClient, app_name: str) -> None:
    await _define(client, "approve", "reject", "later", "comment", "escalate")
    made = ok(
        await client.post(SETS, json={"key": "approval", "actions": ["reject", "approve"]}), 201
    )
    assert made["actions"] == ["reject", "approve"]
    assert ok(await client.get(f"{SETS}/approval")) == made
    assert ok(await client.get(SETS)) == [made]
    error_of(await client.post(SETS, json={"key": "approval", "actions": ["later"]}), 409)

    changed = ok(await client.patch(f"{SETS}/approval", json={"actions": ["approve", "later"]}))
    assert changed["actions"] == ["approve", "later"]
    assert ok(await client.get(f"{SETS}/approval"))["actions"] == ["approve", "later"]

    five = ["approve", "reject", "later", "comment", "escalate"]
    assert field_of(await client.post(SETS, json={"key": "big", "actions": five})) == "actions"
    assert field_of(await client.post(SETS, json={"key": "none", "actions": []})) == "actions"
    twice = {"key": "twice", "actions": ["approve", "reject", "approve"]}
    assert field_of(await client.post(SETS, json=twice)) == "actions[2]"
    ghost = {"key": "ghost", "actions": ["approve", "ghost"]}
    error = error_of(await client.post(SETS, json=ghost), 422)
    assert error["details"] == {"field": "actions[1]", "missing": ["ghost"]}
    assert "ghost" in error["message"]
    refused = await client.patch(f"{SETS}/approval", json={"actions": ["approve", "ghost"]})
    assert field_of(refused) == "actions[1]"
    assert [s["key"] for s in ok(await client.get(SETS))] == ["approval"]
    assert ok(await client.get(f"{SETS}/approval"))["actions"] == ["approve", "later"]

    assert (await client.delete(f"{SETS}/approval")).status_code == 204
    error_of(await client.get(f"{SETS}/approval"), 404, "not_found")
    error_of(await client.delete(f"{SETS}/approval"), 404, "not_found")


async def test_an_action_a_set_uses_cannot_be_deleted(
    client: httpx.AsyncClient, app_name: str
) -> None:
    await _define(client, "approve", "reject")
    ok(await client.post(SETS, json={"key": "approval", "actions": ["approve", "reject"]}), 201)
    ok(await client.post(SETS, json={"key": "quick", "actions": ["approve"]}), 201)
    error = error_of(await client.delete(f"{ACTIONS}/approve"), 409, "conflict")
    assert error["details"] == {"action": "approve", "action_sets": ["approval", "quick"]}
    assert ok(await client.get(f"{ACTIONS}/approve"))["key"] == "approve"
    ok(await client.delete(f"{SETS}/quick"), 204)
    ok(await client.patch(f"{SETS}/approval", json={"actions": ["reject"]}))
    ok(await client.delete(f"{ACTIONS}/approve"), 204)


async def test_other_tenants_see_none_of_it(
    client: httpx.AsyncClient, app_name: str, other_tenant: str, make_key: MakeKey
) -> None:
    [approve] = await _define(client, "approve")
    ok(await client.post(SETS, json={"key": "approval", "actions": ["approve"]}), 201)
    theirs = bearer(await make_key("admin", tenant=other_tenant))
    # Their tenant has an app named ``mobile`` too: its actions are its own.
    assert ok(await client.get(ACTIONS, headers=theirs)) == []
    assert ok(await client.get(SETS, headers=theirs)) == []
    for ref in ("approve", approve["id"]):
        error_of(await client.get(f"{ACTIONS}/{ref}", headers=theirs), 404, "not_found")
        error_of(await client.delete(f"{ACTIONS}/{ref}", headers=theirs), 404, "not_found")
        patch = await client.patch(f"{ACTIONS}/{ref}", json={"title": "x"}, headers=theirs)
        error_of(patch, 404, "not_found")
    error_of(await client.get(f"{SETS}/approval", headers=theirs), 404, "not_found")
    error_of(await client.delete(f"{SETS}/approval", headers=theirs), 404, "not_found")
    cross = {"key": "approval", "actions": ["approve"]}
    assert field_of(await client.post(SETS, json=cross, headers=theirs)) == "actions[0]"
    error_of(await client.get("/v1/apps/ghost/actions"), 404, "not_found")
    assert ok(await client.get(f"{ACTIONS}/approve"))["id"] == approve["id"]


async def test_send_keys_read_and_admin_keys_change(
    client: httpx.AsyncClient, app_name: str, make_key: MakeKey
) -> None:
    await _define(client, "approve")
    sender = bearer(await make_key("send"))
    assert [a["key"] for a in ok(await client.get(ACTIONS, headers=sender))] == ["approve"]
    ok(await client.get(f"{ACTIONS}/approve", headers=sender))
    error_of(await client.post(ACTIONS, json=_action("x"), headers=sender), 403, "forbidden")
    error_of(await client.delete(f"{ACTIONS}/approve", headers=sender), 403, "forbidden")
    body = {"key": "s", "actions": ["approve"]}
    error_of(await client.post(SETS, json=body, headers=sender), 403, "forbidden")
    registrar = bearer(await make_key("devices:register"))
    error_of(await client.get(ACTIONS, headers=registrar), 403, "forbidden")


async def test_changes_are_audited_without_the_secret(
    client: httpx.AsyncClient, app_name: str
) -> None:
    handler = {"kind": "webhook", "url": HOOK}
    made = ok(await client.post(ACTIONS, json=_action("approve", handler=handler)), 201)
    ok(await client.patch(f"{ACTIONS}/approve", json={"rotate_secret": True}))
    ok(await client.post(SETS, json={"key": "approval", "actions": ["approve"]}), 201)
    ok(await client.delete(f"{SETS}/approval"), 204)
    ok(await client.delete(f"{ACTIONS}/approve"), 204)
    answer = await client.get("/v1/audit")
    assert made["secret"].removeprefix("whsec_") not in answer.text
    events = [(e["action"], e["details"]) for e in ok(answer)["items"] if "action" in e["action"]]
    assert [action for action, _ in reversed(events)] == [
        "action.create",
        "action.update",
        "action_set.create",
        "action_set.delete",
        "action.delete",
    ]
    assert dict(reversed(events))["action.update"]["changed"] == ["secret"]
    assert dict(reversed(events))["action_set.create"]["actions"] == ["approve"]
