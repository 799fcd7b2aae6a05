"""Packages over the API (docs/packages.md): an export installs into another tenant and
reads back the same; a dry run writes nothing; an upgrade applies the bundle's changes but
keeps what the tenant changed, reported as conflicts; uninstall removes what the package
installed and keeps what was changed; a bundle that cannot be installed is a 422 naming
its path, and nothing of it is written."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from pushgate.core.event_inputs import TriggerInput
from pushgate.core.ids import new_id
from pushgate.core.packages import InstallRecord, PackageWrites
from pushgate.core.triggers import Trigger
from pushgate.core.type_inputs import NotificationType
from pushgate.errors import Conflict
from pushgate.wiring import Services
from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, field_of, ok

APP = "/v1/apps/mobile"
TEMPLATE = {"title": "{{ data.event.record.id }}", "body": "{{ data.event.record.fields.what }}"}


async def configure(client: httpx.AsyncClient) -> None:
    """The source app: two actions (one a webhook, with a secret), a set, a type showing
    it, a trigger sending it, and the type's switch globally and in a unit."""
    ok(
        await client.post(
            f"{APP}/actions",
            json={
                "key": "approve",
                "title": "Approve",
                "handler": {"kind": "webhook", "url": "https://desk.example.com/approve"},
            },
        ),
        201,
    )
    ok(
        await client.post(
            f"{APP}/actions",
            json={"key": "reject", "title": "Reject", "handler": {"kind": "record"}},
        ),
        201,
    )
    ok(
        await client.post(
            f"{APP}/action-sets", json={"key": "approval", "actions": ["approve", "reject"]}
        ),
        201,
    )
    ok(
        await client.post(
            f"{APP}/types",
            json={"key": "incident", "template": TEMPLATE, "action_set": "approval", "ttl": 600},
        ),
        201,
    )
    ok(
        await client.post(
            f"{APP}/triggers",
            json={
                "key": "assigned",
                "events": ["incident.assigned"],
                "condition": "event.record.fields.priority <= 2",
                "recipients": {"kind": "field", "path": "record.fields.assigned_to"},
                "type": "incident",
            },
        ),
        201,
    )
    ok(await client.post("/v1/units", json={"key": "emea", "name": "EMEA"}), 201)
    ok(await client.patch("/v1/settings", json={"name": "types.incident.enabled", "value": True}))
    ok(
        await client.patch(
            "/v1/units/emea/settings", json={"name": "types.incident.enabled", "value": False}
        )
    )


async def exported(client: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(await client.get(f"{APP}/package", params=params))
    return found


async def install(
    client: httpx.AsyncClient, bundle: dict[str, Any], *, dry_run: bool = False
) -> dict[str, Any]:
    body = {"app": "mobile", "bundle": bundle, "dry_run": dry_run}
    found: dict[str, Any] = ok(await client.post("/v1/packages:install?tenant=acme", json=body))
    return found


def changes(outcome: dict[str, Any]) -> dict[str, str]:
    return {f"{c['kind']}/{c['key']}": c["change"] for c in outcome["changes"]}


async def acme_items(client: httpx.AsyncClient) -> dict[str, Any]:
    found: dict[str, Any] = ok(await client.get(f"{APP}/package?tenant=acme"))["items"]
    return found


@pytest.mark.usefixtures("app_name", "other_tenant")
async def test_an_export_installs_into_another_tenant_and_reads_back_the_same(
    client: httpx.AsyncClient,
) -> None:
    await configure(client)
    bundle = await exported(client, name="desk", version="1.0.0")
    assert (bundle["format"], bundle["name"], bundle["version"]) == (1, "desk", "1.0.0")
    assert bundle["source"]["app"] == "mobile"
    assert "secret" not in bundle["items"]["actions"]["approve"]["handler"]
    assert "whsec_" not in str(bundle)
    assert {"name": "actions.approve.handler.secret", "kind": "webhook_signing_secret"}.items() <= (
        bundle["placeholders"][0].items()
    )
    assert bundle["items"]["type_flags"] == {
        "global": {"incident": True},
        "unit:emea": {"incident": False},
    }

    planned = await install(client, bundle, dry_run=True)
    assert set(changes(planned).values()) == {"create", "conflict"}
    assert await acme_items(client) == {
        "actions": {},
        "action_sets": {},
        "types": {},
        "triggers": {},
        "sources": {},
        "type_flags": {},
    }
    assert ok(await client.get("/v1/packages?tenant=acme"))["items"] == []

    done = await install(client, bundle)
    assert changes(done) == changes(planned)
    # acme has no unit emea: that switch is not set, and says why.
    [conflict] = [c for c in done["changes"] if c["change"] == "conflict"]
    assert conflict["key"] == "unit:emea/incident"
    assert "no unit 'emea'" in conflict["reason"]
    [secret] = [p for p in done["placeholders"] if p["kind"] == "webhook_signing_secret"]
    assert secret["filled"] is False
    theirs = await acme_items(client)
    ours = bundle["items"]
    assert theirs == {**ours, "type_flags": {"global": {"incident": True}}}
    listed = ok(await client.get("/v1/packages?tenant=acme"))["items"]
    assert [(p["name"], p["version"], p["app"]) for p in listed] == [("desk", "1.0.0", "mobile")]
    assert "types/incident" in listed[0]["items"]
    assert "type_flags/unit:emea/incident" not in listed[0]["items"]
    # The same bundle again changes nothing.
    again = await install(client, bundle)
    assert set(changes(again).values()) == {"unchanged", "conflict"}


@pytest.mark.usefixtures("app_name", "other_tenant")
async def test_an_upgrade_applies_the_diff_and_keeps_what_the_tenant_changed(
    client: httpx.AsyncClient,
) -> None:
    await configure(client)
    first = await exported(client, name="desk", version="1.0.0")
    await install(client, first)
    # The tenant changes the type's TTL; the publisher changes the type and the trigger
    # and drops the reject action from the set and the package.
    ok(await client.patch(f"{APP}/types/incident?tenant=acme", json={"ttl": 60}))
    second = copy.deepcopy(first)
    second["version"] = "1.1.0"
    second["items"]["types"]["incident"]["ttl"] = 1200
    second["items"]["triggers"]["assigned"]["condition"] = "event.record.fields.priority <= 3"
    second["items"]["action_sets"]["approval"]["actions"] = ["approve"]
    del second["items"]["actions"]["reject"]

    planned = await install(client, second, dry_run=True)
    expected = {
        "types/incident": "conflict",
        "triggers/assigned": "update",
        "action_sets/approval": "update",
        "actions/reject": "delete",
        "actions/approve": "unchanged",
        "type_flags/global/incident": "unchanged",
        "type_flags/unit:emea/incident": "conflict",
    }
    assert changes(planned) == expected
    assert ok(await client.get(f"{APP}/triggers/assigned?tenant=acme"))["condition"].endswith("2")

    done = await install(client, second)
    assert (done["version"], done["previous_version"]) == ("1.1.0", "1.0.0")
    assert changes(done) == expected
    [kept] = [c for c in done["changes"] if c["key"] == "incident" and c["kind"] == "types"]
    assert "changed in this tenant" in kept["reason"]
    assert ok(await client.get(f"{APP}/types/incident?tenant=acme"))["ttl"] == 60
    assert ok(await client.get(f"{APP}/triggers/assigned?tenant=acme"))["condition"].endswith("3")
    error_of(await client.get(f"{APP}/actions/reject?tenant=acme"), 404)
    assert ok(await client.get("/v1/packages?tenant=acme"))["items"][0]["version"] == "1.1.0"
    # The type stays the tenant's on later upgrades too: the record kept the hash installed.
    third = copy.deepcopy(second)
    third["version"] = "1.2.0"
    third["items"]["types"]["incident"]["ttl"] = 1800
    assert changes(await install(client, third))["types/incident"] == "conflict"
    # Going back to an older version is refused.
    older = await client.post(
        "/v1/packages:install?tenant=acme", json={"app": "mobile", "bundle": first}
    )
    error_of(older, 409, "conflict")


@pytest.mark.usefixtures("app_name", "other_tenant")
async def test_uninstall_removes_what_the_package_installed_but_not_local_changes(
    client: httpx.AsyncClient,
) -> None:
    await configure(client)
    bundle = await exported(client, name="desk")
    await install(client, bundle)
    ok(await client.patch(f"{APP}/actions/reject?tenant=acme", json={"title": "No"}))
    body = {"app": "mobile", "name": "desk"}
    planned = ok(
        await client.post("/v1/packages:uninstall?tenant=acme", json={**body, "dry_run": True})
    )
    assert ok(await client.get("/v1/packages?tenant=acme"))["items"] != []
    done = ok(await client.post("/v1/packages:uninstall?tenant=acme", json=body))
    assert changes(done) == changes(planned)
    assert changes(done) == {
        "actions/approve": "delete",
        "actions/reject": "conflict",
        "action_sets/approval": "delete",
        "types/incident": "delete",
        "triggers/assigned": "delete",
        "type_flags/global/incident": "delete",
    }
    left = await acme_items(client)
    assert list(left["actions"]) == ["reject"]
    assert (left["types"], left["triggers"], left["action_sets"]) == ({}, {}, {})
    assert left["type_flags"] == {}
    assert ok(await client.get("/v1/packages?tenant=acme"))["items"] == []
    error_of(await client.post("/v1/packages:uninstall?tenant=acme", json=body), 404)


def _bundle() -> dict[str, Any]:
    return {
        "format": 1,
        "name": "desk",
        "version": "1.0.0",
        "source": {"app": "mobile"},
        "items": {
            "actions": {"ack": {"title": "OK", "handler": {"kind": "record"}}},
            "action_sets": {"acks": {"actions": ["ack"]}},
            "types": {"incident": {"template": TEMPLATE, "action_set": "acks"}},
            "triggers": {
                "assigned": {
                    "events": ["incident.assigned"],
                    "recipients": {"kind": "users", "users": ["alice"]},
                    "type": "incident",
                }
            },
            "type_flags": {"global": {"incident": True}},
        },
    }


SOURCE: dict[str, Any] = {
    "kind": "datanotifier",
    "verification": {"alg": "HS256"},
    "mapping": {"name": "Type", "record_type": "incident", "record_id": "Id"},
}
SECRET_GIVEN = {"alg": "HS256", "secret": "x" * 40}


def _with(path: str, value: Any) -> dict[str, Any]:
    bundle = _bundle()
    *parents, last = path.split(".")
    where: Any = bundle
    for part in parents:
        where = where[part]
    where[last] = value
    return bundle


@pytest.mark.usefixtures("app_name", "other_tenant")
@pytest.mark.parametrize(
    ("bundle", "field"),
    [
        (_with("format", 2), "bundle.format"),
        (_with("version", "1.0"), "bundle.version"),
        (
            _with("items.sources", {"feed": {**SOURCE, "verification": SECRET_GIVEN}}),
            "bundle.items.sources.feed.verification.secret",
        ),
        (
            _with("items.sources", {"feed": {**SOURCE, "app": "other"}}),
            "bundle.items.sources.feed.app",
        ),
        (
            _with("items.sources", {"feed": {**SOURCE, "mapping": {"name": "Type"}}}),
            "bundle.items.sources.feed.mapping.record_type",
        ),
        (_with("items.types.incident.ttl", -1), "bundle.items.types.incident.ttl"),
        (
            _with("items.types.incident.template", {"title": "{{ data.x "}),
            "bundle.items.types.incident.template.title",
        ),
        (
            _with("items.types.incident.action_set", "gone"),
            "bundle.items.types.incident.action_set",
        ),
        (
            _with("items.action_sets.acks.actions", ["gone"]),
            "bundle.items.action_sets.acks.actions[0]",
        ),
        (_with("items.triggers.assigned.type", "gone"), "bundle.items.triggers.assigned.type"),
        (
            _with("items.triggers.assigned.condition", "event.("),
            "bundle.items.triggers.assigned.condition",
        ),
        (
            _with(
                "items.actions.ack.handler",
                {"kind": "webhook", "url": "https://x.example.com", "secret": "whsec_abc"},
            ),
            "bundle.items.actions.ack.handler.secret",
        ),
        (_with("items.type_flags.global.other", True), "bundle.items.type_flags.global.other"),
        (_with("items.type_flags.nowhere", {}), "bundle.items.type_flags.nowhere.[key]"),
    ],
)
async def test_a_bundle_that_cannot_be_installed_is_a_422_naming_its_path(
    client: httpx.AsyncClient, bundle: dict[str, Any], field: str
) -> None:
    body = {"app": "mobile", "bundle": bundle}
    answer = await client.post("/v1/packages:install?tenant=acme", json=body)
    assert field_of(answer) == field
    assert await acme_items(client) == {
        "actions": {},
        "action_sets": {},
        "types": {},
        "triggers": {},
        "sources": {},
        "type_flags": {},
    }


@pytest.mark.usefixtures("app_name", "other_tenant")
async def test_packages_need_an_admin_key_of_the_tenant(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    sender = bearer(await make_key("send"))
    error_of(await client.get(f"{APP}/package", headers=sender), 403, "forbidden")
    body = {"app": "mobile", "bundle": _bundle()}
    error_of(await client.post("/v1/packages:install", json=body, headers=sender), 403)
    theirs = bearer(await make_key("admin", tenant="acme"))
    ok(await client.post("/v1/packages:install", json=body, headers=theirs))
    assert [p["app"] for p in ok(await client.get("/v1/packages", headers=theirs))["items"]] == [
        "mobile"
    ]
    assert ok(await client.get("/v1/packages"))["items"] == []
    missing = {"app": "nope", "bundle": _bundle()}
    error_of(await client.post("/v1/packages:install", json=missing, headers=theirs), 404)


@pytest.mark.usefixtures("app_name")
async def test_an_install_that_fails_midway_writes_nothing(
    client: httpx.AsyncClient, services: Services
) -> None:
    """A write the plan could not foresee (a trigger made after it was read) fails the
    install's one transaction: the type written before it is not there either."""
    ok(await client.post(f"{APP}/types", json={"key": "incident"}), 201)
    spec = _bundle()["items"]["triggers"]["assigned"]
    ok(await client.post(f"{APP}/triggers", json={**spec, "key": "assigned"}), 201)
    tenant = await services.accounts.tenant_by_name("default")
    assert tenant is not None
    app = await services.accounts.app_by_name(tenant.id, "mobile")
    assert app is not None
    now = 1_700_000_000_000
    record = InstallRecord(new_id(), tenant.id, app.id, "mobile", "desk", "1.0.0", {}, now, now)
    writes = PackageWrites(record, now)
    writes.types.append(
        (
            NotificationType(
                new_id(),
                app.id,
                "other",
                "other",
                "",
                True,
                None,
                None,
                None,
                None,
                (),
                True,
                None,
                1,
                now,
                now,
            ),
            True,
        )
    )
    trigger = TriggerInput.model_validate({**spec, "key": "assigned"})
    writes.triggers.append((Trigger(new_id(), tenant.id, app.id, trigger, 1, now, now), True))
    with pytest.raises(Conflict):
        await services.packages.store.apply(writes)
    error_of(await client.get(f"{APP}/types/other"), 404)
    assert ok(await client.get("/v1/packages"))["items"] == []
