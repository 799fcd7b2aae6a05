"""A notification names an action set or lists action keys; at accept they resolve to a copy
of the actions in its content, which later changes to the actions leave alone
(docs/actions.md, "Model")."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.expect import error_of, field_of, ok
from tests.api.test_credentials import every_kind

ACTIONS = "/v1/apps/mobile/actions"
SETS = "/v1/apps/mobile/action-sets"


async def _define(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    made = {}
    for key, extra in [
        ("approve", {"titles": {"de": "Genehmigen"}, "foreground": True}),
        ("reject", {"destructive": True, "text_input": {"placeholder": "Why?"}}),
        ("later", {}),
    ]:
        body = {"key": key, "title": key.title(), "handler": {"kind": "record"}, **extra}
        made[key] = ok(await client.post(ACTIONS, json=body), 201)
    ok(await client.post(SETS, json={"key": "approval", "actions": ["approve", "reject"]}), 201)
    return made


async def _send(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    body = {"app": "mobile", "audience": {"users": ["alice"]}, "title": "CHG0042", **fields}
    return await client.post("/v1/notifications", json=body)


async def _content(client: httpx.AsyncClient, answer: httpx.Response) -> dict[str, Any]:
    notification = ok(await client.get(f"/v1/notifications/{ok(answer, 202)['id']}"))
    content: dict[str, Any] = notification["content"]
    return content


async def test_an_action_set_is_copied_into_the_content(
    client: httpx.AsyncClient, app_name: str
) -> None:
    made = await _define(client)
    content = await _content(client, await _send(client, action_set="approval"))
    assert content["action_set"] == "approval"
    assert content["actions"] == [
        {
            "id": made["approve"]["id"],
            "key": "approve",
            "title": "Approve",
            "titles": {"de": "Genehmigen"},
            "foreground": True,
            "destructive": False,
            "authentication_required": False,
            "input": None,
        },
        {
            "id": made["reject"]["id"],
            "key": "reject",
            "title": "Reject",
            "titles": {},
            "foreground": False,
            "destructive": True,
            "authentication_required": False,
            "input": {"placeholder": "Why?", "button_title": None},
        },
    ]


async def test_inline_keys_keep_their_order(client: httpx.AsyncClient, app_name: str) -> None:
    await _define(client)
    content = await _content(client, await _send(client, actions=["later", "approve"]))
    assert content["action_set"] is None
    assert [a["key"] for a in content["actions"]] == ["later", "approve"]


async def test_no_actions_named_stores_none(client: httpx.AsyncClient, app_name: str) -> None:
    await _define(client)
    content = await _content(client, await _send(client, category="plain"))
    assert content["actions"] == []
    assert "action_set" not in content
    assert content["category"] == "plain"


async def test_unknown_or_conflicting_names_are_422(
    client: httpx.AsyncClient, app_name: str
) -> None:
    await _define(client)
    error = error_of(await _send(client, action_set="ghost"), 422)
    assert error["details"]["field"] == "action_set"
    assert "ghost" in error["message"]
    error = error_of(await _send(client, actions=["approve", "later", "ghost"]), 422)
    assert error["details"]["field"] == "actions[2]"
    assert field_of(await _send(client, action_set="approval", actions=["later"])) == "actions"
    assert field_of(await _send(client, action_set="approval", category="x")) == "category"
    five = ["approve", "reject", "later", "a", "b"]
    assert field_of(await _send(client, actions=five)) == "actions"
    assert field_of(await _send(client, actions=["later", "later"])) == "actions"
    assert field_of(await _send(client, actions=["Not A Key"])).startswith("actions")
    assert ok(await client.get("/v1/notifications"))["items"] == []


async def test_another_apps_actions_are_unknown(client: httpx.AsyncClient, app_name: str) -> None:
    await _define(client)
    ok(await client.post("/v1/apps", json={"name": "desk"}), 201)
    body = {"app": "desk", "audience": {"users": ["alice"]}, "title": "x", "actions": ["approve"]}
    answer = await client.post("/v1/notifications", json=body)
    assert field_of(answer) == "actions[0]"


async def test_later_changes_leave_accepted_notifications_alone(
    client: httpx.AsyncClient, app_name: str
) -> None:
    await _define(client)
    by_set = await _send(client, action_set="approval")
    inline = await _send(client, actions=["later"])
    before = [await _content(client, by_set), await _content(client, inline)]
    ok(await client.patch(f"{ACTIONS}/approve", json={"title": "Yes", "titles": {}}))
    ok(await client.patch(f"{SETS}/approval", json={"actions": ["later"]}))
    ok(await client.delete(f"{ACTIONS}/reject"), 204)
    ok(await client.delete(f"{ACTIONS}/approve"), 204)
    ok(await client.delete(f"{SETS}/approval"), 204)
    ok(await client.delete(f"{ACTIONS}/later"), 204)
    after = [await _content(client, by_set), await _content(client, inline)]
    assert after == before
    assert before[0]["actions"][0]["title"] == "Approve"


async def test_the_payload_check_runs_on_the_resolved_actions(
    client: httpx.AsyncClient, app_name: str
) -> None:
    """With credentials set, the provider renders the copied actions before accepting
    (core/sending.py), and the shape it reads is the one stored."""
    webhook = {"url": "https://hooks.example.com/x", "generate_signing_secret": True}
    ok(await client.put("/v1/apps/mobile/credentials/webhook", json=webhook))
    await _define(client)
    content = await _content(client, await _send(client, action_set="approval"))
    assert [a["key"] for a in content["actions"]] == ["approve", "reject"]


async def test_actions_that_push_a_payload_over_a_limit_are_refused_at_accept(
    client: httpx.AsyncClient, app_name: str
) -> None:
    """The same text is accepted alone and refused with four long buttons: the accept-time
    check renders the actions and the largest identity they bring (the token, the answer
    URL), and names the provider (docs/actions.md, "Payload identity")."""
    apns = next(body for kind, body, _ in every_kind() if kind == "apns")
    ok(await client.put("/v1/apps/mobile/credentials/apns", json=apns))
    keys = [f"choice-{n}" for n in range(4)]
    for key in keys:
        body = {"key": key, "title": key.ljust(64, "x"), "handler": {"kind": "record"}}
        ok(await client.post(ACTIONS, json=body), 201)
    ok(await client.post(SETS, json={"key": "wide", "actions": keys}), 201)
    filled = {"body": "y" * 2000, "data": {"ref": "z" * 1000}}
    ok(await _send(client, **filled), 202)
    error = error_of(await _send(client, **filled, action_set="wide"), 413)
    assert "apns" in error["message"].lower()
