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
