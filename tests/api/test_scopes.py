"""Authentication and scopes: every endpoint refuses keys whose scopes do not allow it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, ok
from tests.api.material import apns_token

ADMIN, SEND, REGISTER = "admin", "send", "devices:register"
WEBHOOK_CREDENTIALS = {"url": "https://hooks.example.com/in", "generate_signing_secret": True}

# (method, path, body, scopes that may call it besides admin). ``{device}`` is filled in.
ROUTES: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("GET", "/v1/apps", None, {SEND}),
    ("POST", "/v1/apps", {"name": "second"}, set()),
    ("GET", "/v1/apps/mobile", None, {SEND}),
    ("PATCH", "/v1/apps/mobile", {"description": "changed"}, set()),
    ("GET", "/v1/apps/mobile/credentials", None, set()),
    ("PUT", "/v1/apps/mobile/credentials/webhook", WEBHOOK_CREDENTIALS, set()),
    ("DELETE", "/v1/apps/mobile/credentials/webhook", None, set()),
    ("GET", "/v1/users", None, {SEND}),
    ("PUT", "/v1/users/u-1", {"locale": "fr"}, {SEND}),
    ("GET", "/v1/users/u-1", None, {SEND}),
    ("GET", "/v1/users/u-1/devices", None, {SEND}),
    ("PUT", "/v1/users/u-1/aliases", {"app": "mobile", "alias": "a-2"}, {SEND}),
    ("GET", "/v1/users/u-1/aliases", None, {SEND}),
    ("GET", "/v1/apps/mobile/aliases/a-1", None, {SEND}),
    ("DELETE", "/v1/users/u-1/aliases/mobile/a-2", None, {SEND}),
    ("GET", "/v1/devices", None, {SEND}),
    ("GET", "/v1/notifications", None, {SEND}),
    ("GET", "/v1/devices/{device}", None, {SEND, REGISTER}),
    ("GET", "/v1/devices/{device}/history", None, {SEND, REGISTER}),
    ("POST", "/v1/apps/mobile/devices", {"provider": "apns", "token": "ab" * 32}, {REGISTER}),
    ("GET", "/v1/keys", None, set()),
    ("POST", "/v1/keys", {"name": "k", "scopes": ["send"]}, set()),
    ("POST", "/v1/tenants", {"name": "t"}, set()),
    ("PATCH", "/v1/tenants/default", {"name": "t"}, set()),
    ("DELETE", "/v1/tenants/default", None, set()),
    ("DELETE", "/v1/devices/{device}", None, {SEND, REGISTER}),
    ("DELETE", "/v1/users/u-1", None, {SEND}),
    ("GET", "/v1/queue", None, set()),
    ("GET", "/v1/queue/send/dead", None, set()),
    ("DELETE", "/v1/apps/mobile", None, set()),
]
# Tenant administration and the instance's queue need an instance-wide admin key, not
# only the admin scope.
INSTANCE_ADMIN_ONLY = {"/v1/tenants", "/v1/tenants/default", "/v1/queue", "/v1/queue/send/dead"}


async def _seed(client: httpx.AsyncClient) -> str:
    ok(await client.post("/v1/apps", json={"name": "mobile"}), 201)
    ok(await client.put("/v1/users/u-1", json={"locale": "de"}), 201)
    ok(await client.put("/v1/users/u-1/aliases", json={"app": "mobile", "alias": "a-1"}), 204)
    body = {"provider": "apns", "token": apns_token(), "user": "u-1"}
    return str(ok(await client.post("/v1/apps/mobile/devices", json=body), 201)["id"])


@pytest.mark.parametrize("scope", [SEND, REGISTER, "relay"])
async def test_a_key_can_do_only_what_its_scope_allows(
    client: httpx.AsyncClient, make_key: MakeKey, scope: str
) -> None:
    device = await _seed(client)
    headers = bearer(await make_key(scope))
    for method, path, body, allowed in ROUTES:
        url = path.format(device=device)
        answer = await client.request(method, url, json=body, headers=headers)
        if scope in allowed:
            assert answer.status_code < 400, (method, url, answer.text)
        else:
            error = error_of(answer, 403, "forbidden")
            assert "scope" in error["message"] or "instance-wide" in error["message"], error


async def test_refused_requests_change_nothing(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    device = await _seed(client)
    headers = bearer(await make_key("relay"))
    for method, path, body, _ in ROUTES:
        await client.request(method, path.format(device=device), json=body, headers=headers)
    assert ok(await client.get("/v1/apps/mobile"))["description"] == ""
    assert [a["name"] for a in ok(await client.get("/v1/apps"))] == ["mobile"]
    assert ok(await client.get("/v1/users/u-1"))["locale"] == "de"
    assert ok(await client.get(f"/v1/devices/{device}"))["state"] == "active"
    assert ok(await client.get("/v1/apps/mobile/credentials")) == []
    assert [k["name"] for k in ok(await client.get("/v1/keys"))] == ["bootstrap admin", "test key"]


async def test_a_tenant_admin_key_does_all_but_tenant_administration(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    device = await _seed(client)
    headers = bearer(await make_key(ADMIN))
    for method, path, body, _ in ROUTES:
        answer = await client.request(
            method, path.format(device=device), json=body, headers=headers
        )
        if path in INSTANCE_ADMIN_ONLY:
            error_of(answer, 403, "forbidden")
        else:
            assert answer.status_code < 400, (method, path, answer.text)


async def test_the_instance_admin_key_does_everything(client: httpx.AsyncClient) -> None:
    device = await _seed(client)
    ok(await client.post("/v1/tenants", json={"name": "spare"}), 201)
    for method, path, body, _ in ROUTES:
        url = path.format(device=device).replace("/v1/tenants/default", "/v1/tenants/spare")
        if method == "PATCH" and url == "/v1/tenants/spare":
            body = {"name": "spare"}
        answer = await client.request(method, url, json=body)
        assert answer.status_code < 400, (method, url, answer.text)


GARBAGE_AUTHORIZATION = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "Bearer not-a-key",
    "Bearer pgk_000000000000_" + "A" * 32,
    "Token pgk_000000000000_abc",
]


async def test_absent_or_garbage_authorization_is_401(client: httpx.AsyncClient) -> None:
    for authorization in GARBAGE_AUTHORIZATION:
        headers = {} if authorization is None else {"Authorization": authorization}
        for method, path in [("GET", "/v1/apps"), ("GET", "/v1/instance"), ("POST", "/v1/keys")]:
            request = client.build_request(method, path, headers=headers, json={})
            if authorization is None:
                del request.headers["Authorization"]
            answer = await client.send(request)
            error_of(answer, 401, "unauthenticated")
            assert answer.headers["www-authenticate"] == "Bearer"


async def test_a_known_prefix_with_a_wrong_secret_is_401(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key(ADMIN)
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    error_of(await client.get("/v1/apps", headers=bearer(forged)), 401, "unauthenticated")
    ok(await client.get("/v1/apps", headers={"Authorization": f"bearer {key}"}))
