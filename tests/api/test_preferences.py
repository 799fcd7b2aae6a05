"""Preferences through the API: what is stored and answered, what is refused, and what a
device key with a user token may do (docs/preferences.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, ok
from tests.api.material import apns_token
from tests.api.test_user_tokens import SECRET, user_token

ANN = {
    "default": "out",
    "types": {"visit": {"choice": "in", "providers_out": ["webhook", "apns"]}},
    "quiet_hours": {"start": "22:00", "end": "07:00", "urgent_passes": True},
}


@pytest.fixture
async def typed_app(client: httpx.AsyncClient, app_name: str) -> str:
    for key in ("visit", "alert"):
        ok(await client.post(f"/v1/apps/{app_name}/types", json={"key": key}), 201)
    return app_name


async def _device(client: httpx.AsyncClient, app: str, user: str) -> str:
    body = {"provider": "apns", "token": apns_token(), "user": user}
    made: dict[str, Any] = ok(await client.post(f"/v1/apps/{app}/devices", json=body), 201)
    return str(made["id"])


async def test_a_users_preferences_are_stored_and_answered(
    client: httpx.AsyncClient, typed_app: str
) -> None:
    ok(await client.put("/v1/users/ann", json={}), 201)
    fresh = ok(await client.get("/v1/users/ann/preferences"))
    assert fresh == {"user": "ann", "default": "in", "types": {}, "quiet_hours": None}
    stored = ok(await client.put("/v1/users/ann/preferences", json=ANN))
    expected = {
        "user": "ann",
        "default": "out",
        "types": {"visit": {"choice": "in", "providers_out": ["apns", "webhook"]}},
        "quiet_hours": ANN["quiet_hours"],
    }
    assert stored == expected
    assert ok(await client.get("/v1/users/ann/preferences")) == expected
    # A PUT replaces everything: what is left out takes its default.
    ok(await client.put("/v1/users/ann/preferences", json={"types": {"alert": {}}}))
    again = ok(await client.get("/v1/users/ann/preferences"))
    assert again["default"] == "in"
    assert again["quiet_hours"] is None
    assert again["types"] == {"alert": {"choice": None, "providers_out": []}}


async def test_a_devices_preferences_are_stored_and_answered(
    client: httpx.AsyncClient, typed_app: str
) -> None:
    device = await _device(client, typed_app, "ann")
    path = f"/v1/devices/{device}/preferences"
    assert ok(await client.get(path)) == {"device": device, "enabled": True, "muted_types": []}
    body = {"enabled": False, "muted_types": ["visit", "alert", "visit"]}
    stored = ok(await client.put(path, json=body))
    assert stored == {"device": device, "enabled": False, "muted_types": ["alert", "visit"]}
    assert ok(await client.get(path)) == stored


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quiet_hours": {"start": "24:00", "end": "07:00"}}, "quiet_hours.start"),
        ({"quiet_hours": {"start": "22:00", "end": "7:00"}}, "quiet_hours.end"),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "22:00"}}, "quiet_hours.end"),
        ({"default": "maybe"}, "default"),
        ({"types": {"visit": {"choice": "sometimes"}}}, "types.visit.choice"),
        ({"types": {"visit": {"providers_out": ["pigeon"]}}}, "types.visit.providers_out.0"),
        ({"types": {"Not A Key": {}}}, "types.Not A Key.[key]"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_bad_user_preferences_are_422_naming_the_field(
    client: httpx.AsyncClient, typed_app: str, body: dict[str, Any], field: str
) -> None:
    ok(await client.put("/v1/users/ann", json={}), 201)
    error = error_of(await client.put("/v1/users/ann/preferences", json=body), 422)
    assert field in str(error["details"]), error
    assert ok(await client.get("/v1/users/ann/preferences"))["default"] == "in"


async def test_unknown_type_keys_are_422_naming_them(
    client: httpx.AsyncClient, typed_app: str
) -> None:
    ok(await client.put("/v1/users/ann", json={}), 201)
    body = {"types": {"visit": {}, "vist": {"choice": "out"}, "zzz": {}}}
    error = error_of(await client.put("/v1/users/ann/preferences", json=body), 422)
    assert error["details"]["field"] == "types.vist"
    assert error["details"]["unknown"] == ["vist", "zzz"]
    device = await _device(client, typed_app, "ann")
    answer = await client.put(f"/v1/devices/{device}/preferences", json={"muted_types": ["x"]})
    error = error_of(answer, 422)
    assert (error["details"]["field"], error["details"]["unknown"]) == ("muted_types", ["x"])
    assert ok(await client.get(f"/v1/devices/{device}/preferences"))["muted_types"] == []


async def test_unknown_users_and_devices_are_404(
    client: httpx.AsyncClient, typed_app: str, other_tenant: str
) -> None:
    error_of(await client.get("/v1/users/nobody/preferences"), 404, "not_found")
    error_of(await client.put("/v1/users/nobody/preferences", json={}), 404, "not_found")
    error_of(await client.get("/v1/devices/nope/preferences"), 404, "not_found")
    # Another tenant's device is not found.
    device = await _device(client, typed_app, "ann")
    answer = await client.get(f"/v1/devices/{device}/preferences?tenant={other_tenant}")
    error_of(answer, 404, "not_found")


async def test_keys_by_scope(client: httpx.AsyncClient, typed_app: str, make_key: MakeKey) -> None:
    ok(await client.put("/v1/users/ann", json={}), 201)
    device = await _device(client, typed_app, "ann")
    send = bearer(await make_key("send"))
    ok(await client.put("/v1/users/ann/preferences", json=ANN, headers=send))
    ok(await client.put(f"/v1/devices/{device}/preferences", json={}, headers=send))
    relay = bearer(await make_key("relay"))
    error_of(await client.get("/v1/users/ann/preferences", headers=relay), 403, "forbidden")
    answer = await client.get(f"/v1/devices/{device}/preferences", headers=relay)
    error_of(answer, 403, "forbidden")


@pytest.fixture
async def device_key(client: httpx.AsyncClient, typed_app: str, make_key: MakeKey) -> str:
    ok(await client.patch(f"/v1/apps/{typed_app}", json={"user_auth_secret": SECRET}))
    return await make_key("devices:register")


def _as(key: str, token: str | None) -> dict[str, str]:
    headers = bearer(key)
    if token is not None:
        headers["Pushgate-User-Token"] = token
    return headers


async def test_an_apps_settings_screen_sets_its_own_users(
    client: httpx.AsyncClient, typed_app: str, device_key: str
) -> None:
    """A device key with ann's token reads and sets ann's preferences and her devices'."""
    tablet = await _device(client, typed_app, "ann")
    ann = _as(device_key, user_token("ann"))
    path = f"/v1/users/ann/preferences?app={typed_app}"
    ok(await client.put(path, json=ANN, headers=ann))
    assert ok(await client.get(path, headers=ann))["default"] == "out"
    muted = {"muted_types": ["visit"]}
    ok(await client.put(f"/v1/devices/{tablet}/preferences", json=muted, headers=ann))
    got = ok(await client.get(f"/v1/devices/{tablet}/preferences", headers=ann))
    assert got["muted_types"] == ["visit"]
    assert ok(await client.get("/v1/users/ann/preferences"))["default"] == "out"


async def test_an_apps_settings_screen_is_refused_elsewhere(
    client: httpx.AsyncClient, typed_app: str, device_key: str, app_name: str
) -> None:
    ok(await client.put("/v1/users/bob", json={}), 201)
    bobs = await _device(client, typed_app, "bob")
    ann = _as(device_key, user_token("ann"))
    path = f"/v1/users/bob/preferences?app={typed_app}"
    # Another user's preferences, another user's device: 403.
    error_of(await client.put(path, json=ANN, headers=ann), 403, "forbidden")
    error_of(await client.get(path, headers=ann), 403, "forbidden")
    answer = await client.put(f"/v1/devices/{bobs}/preferences", json={}, headers=ann)
    error_of(answer, 403, "forbidden")
    # No token: 401; no app to check the token against: 422 naming app.
    answer = await client.get(path, headers=_as(device_key, None))
    error_of(answer, 401, "unauthenticated")
    answer = await client.get("/v1/users/ann/preferences", headers=ann)
    assert error_of(answer, 422)["details"]["field"] == "app"
    # An app without a user-auth secret proves nobody.
    ok(await client.post("/v1/apps", json={"name": "kiosk"}), 201)
    answer = await client.get("/v1/users/ann/preferences?app=kiosk", headers=ann)
    error_of(answer, 403, "forbidden")
    assert ok(await client.get("/v1/users/bob/preferences"))["default"] == "in"
