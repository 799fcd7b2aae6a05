"""The user-token rule: with a user-auth secret set, device keys must prove the user (HS256)."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, ok
from tests.api.material import apns_token

SECRET = "host-system-signing-secret-0123456789abcdef"


def user_token(sub: str, *, lifetime: int = 300, secret: str = SECRET, **extra: object) -> str:
    claims: dict[str, object] = {"sub": sub, "exp": int(time.time()) + lifetime, **extra}
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.fixture
async def register_key(client: httpx.AsyncClient, app_name: str, make_key: MakeKey) -> str:
    ok(await client.patch("/v1/apps/mobile", json={"user_auth_secret": SECRET}))
    return await make_key("devices:register")


async def _register(
    client: httpx.AsyncClient, key: str, user: str | None, token: str | None
) -> httpx.Response:
    headers = bearer(key)
    if token is not None:
        headers["Pushgate-User-Token"] = token
    body: dict[str, object] = {"provider": "apns", "token": apns_token()}
    if user is not None:
        body["user"] = user
    return await client.post("/v1/apps/mobile/devices", json=body, headers=headers)


async def test_the_named_user_may_register(client: httpx.AsyncClient, register_key: str) -> None:
    device = ok(await _register(client, register_key, "emp-1", user_token("emp-1")), 201)
    assert device["user_id"] == ok(await client.get("/v1/users/emp-1"))["id"]


async def test_a_missing_token_is_401(client: httpx.AsyncClient, register_key: str) -> None:
    error = error_of(await _register(client, register_key, "emp-1", None), 401, "unauthenticated")
    assert error["details"] == {"header": "Pushgate-User-Token"}


async def test_bad_tokens_are_401(client: httpx.AsyncClient, register_key: str) -> None:
    unsigned = jwt.encode({"sub": "emp-1", "exp": int(time.time()) + 60}, None, algorithm="none")
    for token in [
        user_token("emp-1", lifetime=-60),
        user_token("emp-1", secret="another-secret-of-enough-length-000000"),
        jwt.encode({"sub": "emp-1"}, SECRET, algorithm="HS256"),
        unsigned,
        "not.a.jwt",
    ]:
        answer = await _register(client, register_key, "emp-1", token)
        error_of(answer, 401, "unauthenticated")
    assert ok(await client.get("/v1/devices"))["items"] == []


async def test_another_users_token_is_403(client: httpx.AsyncClient, register_key: str) -> None:
    answer = await _register(client, register_key, "emp-1", user_token("emp-2"))
    error_of(answer, 403, "forbidden")
    answer = await _register(client, register_key, None, user_token("emp-2"))
    error_of(answer, 403, "forbidden")
    assert ok(await client.get("/v1/devices"))["items"] == []


async def test_refused_registrations_leave_no_user_behind(
    client: httpx.AsyncClient, register_key: str
) -> None:
    await _register(client, register_key, "victim", user_token("mallory"))
    await _register(client, register_key, "victim", user_token("victim", lifetime=-60))
    await _register(client, register_key, "victim", None)
    error_of(await client.get("/v1/users/victim"), 404, "not_found")


async def test_admin_and_send_keys_need_no_user_token(
    client: httpx.AsyncClient, register_key: str, make_key: MakeKey
) -> None:
    ok(await _register(client, (await make_key("admin")), "emp-1", None), 201)
    sender = await make_key("send", "devices:register")
    ok(await _register(client, sender, "emp-2", None), 201)


async def test_without_a_secret_no_token_is_needed(
    client: httpx.AsyncClient, register_key: str
) -> None:
    ok(await client.patch("/v1/apps/mobile", json={"clear_user_auth_secret": True}))
    ok(await _register(client, register_key, "emp-1", None), 201)


# -- a register key acts only for the user its token names ----------------------------------


async def _device_of(
    client: httpx.AsyncClient, key: str, user: str, token: str | None = None
) -> dict[str, object]:
    headers = {**bearer(key), "Pushgate-User-Token": user_token(user)}
    body: dict[str, object] = {"provider": "apns", "token": token or apns_token(), "user": user}
    return ok(await client.post("/v1/apps/mobile/devices", json=body, headers=headers), 201)


async def test_a_register_key_reads_and_deletes_only_its_users_devices(
    client: httpx.AsyncClient, register_key: str
) -> None:
    alice = await _device_of(client, register_key, "alice")
    bob = await _device_of(client, register_key, "bob")
    as_alice = {**bearer(register_key), "Pushgate-User-Token": user_token("alice")}
    assert ok(await client.get(f"/v1/devices/{alice['id']}", headers=as_alice))["id"] == alice["id"]
    assert ok(await client.get(f"/v1/devices/{alice['id']}/history", headers=as_alice)) == []
    for method, path in [
        ("GET", f"/v1/devices/{bob['id']}"),
        ("GET", f"/v1/devices/{bob['id']}/history"),
        ("DELETE", f"/v1/devices/{bob['id']}"),
    ]:
        error_of(await client.request(method, path, headers=as_alice), 404, "not_found")
        # Without a user token the key reaches no device of the app at all.
        answer = await client.request(method, path, headers=bearer(register_key))
        error_of(answer, 401, "unauthenticated")
    assert ok(await client.get(f"/v1/devices/{bob['id']}"))["state"] == "active"
    gone = ok(await client.delete(f"/v1/devices/{alice['id']}", headers=as_alice))
    assert gone["state"] == "unregistered"


async def test_a_token_move_across_users_is_refused(
    client: httpx.AsyncClient, register_key: str
) -> None:
    bob_token = apns_token()
    bob = await _device_of(client, register_key, "bob", bob_token)
    headers = {**bearer(register_key), "Pushgate-User-Token": user_token("alice")}
    body = {"provider": "apns", "token": apns_token(), "old_token": bob_token, "user": "alice"}
    answer = await client.post("/v1/apps/mobile/devices", json=body, headers=headers)
    assert error_of(answer, 403, "forbidden")["details"] == {"field": "old_token"}
    kept = ok(await client.get(f"/v1/devices/{bob['id']}"))
    assert (kept["token"], kept["user_id"], kept["state"]) == (bob_token, bob["user_id"], "active")
    assert ok(await client.get(f"/v1/devices/{bob['id']}/history")) == []
    # Moving one's own registration to a new token still works.
    moved_to = apns_token()
    as_bob = {**bearer(register_key), "Pushgate-User-Token": user_token("bob")}
    body = {"provider": "apns", "token": moved_to, "old_token": bob_token, "user": "bob"}
    moved = ok(await client.post("/v1/apps/mobile/devices", json=body, headers=as_bob))
    assert (moved["id"], moved["token"]) == (bob["id"], moved_to)


async def test_user_tokens_live_at_most_a_day(client: httpx.AsyncClient, register_key: str) -> None:
    now = int(time.time())
    for token in [
        user_token("emp-1", lifetime=25 * 3600),
        user_token("emp-1", lifetime=3600, iat=now - 10 * 86_400),
        user_token("emp-1", lifetime=10 * 365 * 86_400),
    ]:
        error = error_of(await _register(client, register_key, "emp-1", token), 401)
        assert error["details"]["max_seconds"] == 86_400
    ok(await _register(client, register_key, "emp-1", user_token("emp-1", lifetime=23 * 3600)), 201)
    fresh = user_token("emp-1", lifetime=24 * 3600 - 60, iat=now)
    ok(await _register(client, register_key, "emp-1", fresh), 201)
