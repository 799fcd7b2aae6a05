"""Units and settings by scope through the API: nesting, refusals, resolution and the
effective view (docs/settings.md)."""

from __future__ import annotations

from typing import Any

import httpx

from pushgate.wiring import Services
from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, ok


async def _units(client: httpx.AsyncClient, *chain: tuple[str, str | None]) -> None:
    for key, parent in chain:
        ok(
            await client.post(
                "/v1/units", json={"key": key, "name": key.title(), "parent": parent}
            ),
            201,
        )


def _effective(body: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    return {item["name"]: (item["value"], item["source"]) for item in body["settings"]}


async def test_units_nest_and_refuse_cycles_and_deleting_what_is_in_use(
    client: httpx.AsyncClient,
) -> None:
    await _units(client, ("north", None), ("depot-7", "north"), ("van-3", "depot-7"))
    assert ok(await client.get("/v1/units/van-3"))["parent"] == "depot-7"
    assert [u["key"] for u in ok(await client.get("/v1/units"))] == ["depot-7", "north", "van-3"]
    error_of(await client.post("/v1/units", json={"key": "north", "name": "N"}), 409, "conflict")
    refused = error_of(await client.patch("/v1/units/north", json={"parent": "van-3"}), 422)
    assert refused["details"]["cycle"] == ["north", "van-3", "depot-7", "north"]
    error_of(await client.patch("/v1/units/north", json={"parent": "north"}), 422)
    error_of(await client.post("/v1/units", json={"key": "x", "name": "X", "parent": "nope"}), 422)
    ok(await client.put("/v1/users/ann", json={"unit": "van-3"}), 201)
    assert ok(await client.get("/v1/users/ann"))["unit"] == "van-3"
    error_of(await client.put("/v1/users/bob", json={"unit": "nope"}), 422)
    in_use = error_of(await client.delete("/v1/units/depot-7"), 409, "conflict")
    assert in_use["details"]["children"] == ["van-3"]
    in_use = error_of(await client.delete("/v1/units/van-3"), 409, "conflict")
    assert (in_use["details"]["members"], in_use["details"]["some_members"]) == (1, ["ann"])
    ok(await client.put("/v1/users/ann", json={"unit": None}))
    assert (await client.delete("/v1/units/van-3")).status_code == 204
    error_of(await client.get("/v1/units/van-3"), 404)
    ok(await client.patch("/v1/units/depot-7", json={"name": "Depot Seven", "parent": None}))
    assert ok(await client.get("/v1/units/depot-7"))["parent"] is None
    actions = [e["action"] for e in ok(await client.get("/v1/audit"))["items"]]
    assert {"unit.create", "unit.update", "unit.delete"} <= set(actions)


async def test_type_switch_resolves_at_the_nearest_scope(client: httpx.AsyncClient) -> None:
    """Global on, a unit off, a unit nested in it on again; the view names each source."""
    await _units(client, ("north", None), ("depot-7", "north"), ("van-3", "depot-7"))
    ok(await client.put("/v1/settings", json={"values": {"types.visit.enabled": True}}))
    ok(
        await client.put(
            "/v1/units/north/settings", json={"values": {"types.visit.enabled": False}}
        )
    )
    ok(
        await client.patch(
            "/v1/units/van-3/settings", json={"name": "types.visit.enabled", "value": True}
        )
    )
    north = _effective(ok(await client.get("/v1/units/north/settings/effective")))
    depot = _effective(ok(await client.get("/v1/units/depot-7/settings/effective")))
    van = _effective(ok(await client.get("/v1/units/van-3/settings/effective")))
    top = _effective(ok(await client.get("/v1/settings/effective")))
    assert north["types.visit.enabled"] == (False, "unit:north")
    assert depot["types.visit.enabled"] == (False, "unit:north")
    assert van["types.visit.enabled"] == (True, "unit:van-3")
    assert top["types.visit.enabled"] == (True, "global")
    # General settings come from the global scope or their default.
    assert van["retention_days"] == (30, "default")
    assert van["webhook.url"] == (None, "default")
    ok(await client.put("/v1/users/ann", json={"unit": "depot-7"}), 201)
    ann = ok(await client.get("/v1/users/ann/settings/effective"))
    assert (ann["unit"], ann["scope"]) == ("depot-7", "unit:depot-7")
    assert _effective(ann)["types.visit.enabled"] == (False, "unit:north")
    # Unset at the global scope: the type's own default (on) answers.
    ok(await client.put("/v1/settings", json={"values": {}}))
    assert _effective(ok(await client.get("/v1/settings/effective")))["types.visit.enabled"] == (
        True,
        "default",
    )


async def test_general_settings_are_global_only_and_checked(
    client: httpx.AsyncClient, services: Services
) -> None:
    await _units(client, ("north", None))
    for name, value in [
        ("retention_days", 10),
        ("webhook.url", "https://hooks.example/in"),
        ("quiet_hours.start", "22:00"),
    ]:
        refused = error_of(
            await client.put("/v1/units/north/settings", json={"values": {name: value}}),
            422,
            "setting_scope",
        )
        assert refused["details"]["setting"] == name
        assert refused["details"]["allowed"] == ["global"]
    unknown = error_of(await client.put("/v1/settings", json={"values": {"colour": "red"}}), 422)
    assert unknown["details"]["setting"] == "colour"
    for name, value in [
        ("retention_days", 0),
        ("retention_days", 3651),
        ("retention_days", True),
        ("default_timezone", "Mars/Olympus"),
        ("quiet_hours.end", "24:00"),
        ("webhook.url", "ftp://x"),
        ("types.visit.enabled", "yes"),
        ("types.Bad Key.enabled", True),
    ]:
        refused = error_of(
            await client.patch("/v1/settings", json={"name": name, "value": value}), 422
        )
        assert refused["details"]["setting"] == name
    values = {
        "retention_days": 7,
        "default_timezone": "Europe/Berlin",
        "quiet_hours.start": "22:00",
        "quiet_hours.end": "06:30",
        "webhook.url": "https://hooks.example/in",
        "webhook.authorization": "Bearer s3cret",
    }
    shown = ok(await client.put("/v1/settings", json={"values": values}))["values"]
    assert shown["webhook.authorization"] == "********"
    assert shown["retention_days"] == 7
    # Sent back as read (masked), the secret is kept, not replaced by the mask.
    again = ok(await client.put("/v1/settings", json={"values": shown}))["values"]
    assert again == shown
    stored = await _raw_secret(services)
    assert stored is not None
    assert b"s3cret" not in stored
    top = _effective(ok(await client.get("/v1/settings/effective")))
    assert top["retention_days"] == (7, "global")
    assert top["webhook.authorization"] == ("********", "global")


async def _raw_secret(services: Services) -> bytes | None:
    tenant = await services.accounts.tenant_by_name("default")
    assert tenant is not None
    stored = await services.scopes.scope_settings(tenant.id, "global")
    [item] = [s for s in stored if s.name == "webhook.authorization"]
    sealed: bytes | None = item.sealed
    return sealed


async def test_settings_need_admin_and_stay_in_their_tenant(
    client: httpx.AsyncClient, make_key: MakeKey, other_tenant: str
) -> None:
    await _units(client, ("north", None))
    sender = await make_key("send")
    error_of(await client.get("/v1/settings", headers=bearer(sender)), 403)
    error_of(await client.put("/v1/settings", json={"values": {}}, headers=bearer(sender)), 403)
    error_of(await client.get(f"/v1/units/north?tenant={other_tenant}"), 404)
    ok(
        await client.put(
            f"/v1/settings?tenant={other_tenant}", json={"values": {"retention_days": 3}}
        )
    )
    assert ok(await client.get("/v1/settings"))["values"] == {}


async def test_a_types_own_switch_is_the_default_and_its_providers_name_what_it_needs(
    client: httpx.AsyncClient, app_name: str
) -> None:
    """Where no scope sets ``types.<key>.enabled``, the type's own ``enabled`` decides; a
    type sending with the webhook provider is turned on only once ``webhook.url`` is set."""
    quiet = {"key": "quiet", "enabled": False}
    ok(await client.post(f"/v1/apps/{app_name}/types", json=quiet), 201)
    hooked = {"key": "hooked", "providers": ["webhook"]}
    ok(await client.post(f"/v1/apps/{app_name}/types", json=hooked), 201)
    top = _effective(ok(await client.get("/v1/settings/effective")))
    assert top["types.quiet.enabled"] == (False, "default")
    assert top["types.hooked.enabled"] == (True, "default")
    missing = error_of(
        await client.patch("/v1/settings", json={"name": "types.hooked.enabled", "value": True}),
        422,
        "settings_missing",
    )
    assert "webhook.url" in str(missing)
    ok(
        await client.patch(
            "/v1/settings", json={"name": "webhook.url", "value": "https://h.example/in"}
        )
    )
    ok(await client.patch("/v1/settings", json={"name": "types.hooked.enabled", "value": True}))
    ok(await client.patch("/v1/settings", json={"name": "types.quiet.enabled", "value": True}))
    top = _effective(ok(await client.get("/v1/settings/effective")))
    assert top["types.quiet.enabled"] == (True, "global")
