"""Errors and bounds: one error shape everywhere, bounded bodies, no 500 on odd input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.api.expect import bearer, error_of, field_of, ok
from tests.api.live import LiveServer, live_server

MIB = 1024 * 1024
WRITES = [
    ("POST", "/v1/tenants"),
    ("PATCH", "/v1/tenants/default"),
    ("POST", "/v1/keys"),
    ("POST", "/v1/apps"),
    ("PATCH", "/v1/apps/mobile"),
    ("PUT", "/v1/apps/mobile/credentials/apns"),
    ("PUT", "/v1/users/u-1"),
    ("PUT", "/v1/users/u-1/aliases"),
    ("POST", "/v1/apps/mobile/devices"),
]


def big_user(size: int) -> bytes:
    return json.dumps({"attributes": {"blob": "x" * size}}).encode()


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


async def test_a_body_over_1_mib_is_413(client: httpx.AsyncClient) -> None:
    body = big_user(MIB + 10)
    answer = await client.put(
        "/v1/users/u", content=body, headers={"content-type": "application/json"}
    )
    error = error_of(answer, 413, "payload_too_large")
    assert error["details"] == {"max_bytes": MIB}
    error_of(await client.get("/v1/users/u"), 404)


async def test_a_streamed_body_over_1_mib_is_413(client: httpx.AsyncClient) -> None:
    answer = await client.put(
        "/v1/users/u", content=chunks(MIB + 1), headers={"content-type": "application/json"}
    )
    error_of(answer, 413, "payload_too_large")
    error_of(await client.get("/v1/users/u"), 404)


async def test_a_body_just_under_the_bound_is_read(client: httpx.AsyncClient) -> None:
    padded = b" " * (MIB - 100) + b"{}"
    answer = await client.put(
        "/v1/users/u", content=padded, headers={"content-type": "application/json"}
    )
    assert ok(answer, 201)["external_id"] == "u"


async def test_malformed_json_is_400(client: httpx.AsyncClient, app_name: str) -> None:
    for method, path in WRITES:
        for raw in [b"{", b'{"name": }', b"\xff\xfe", b"{'single': 1}"]:
            answer = await client.request(
                method, path, content=raw, headers={"content-type": "application/json"}
            )
            error_of(answer, 400, "malformed_json")


async def test_wrong_json_types_are_422(client: httpx.AsyncClient, app_name: str) -> None:
    for method, path in WRITES:
        for body in [[], "text", 12, None, [{"name": "x"}]]:
            answer = await client.request(method, path, json=body)
            assert answer.status_code in (400, 422), (method, path, body, answer.text)
            error_of(answer, answer.status_code)


async def test_deeply_nested_json_is_refused_without_a_500(
    client: httpx.AsyncClient, app_name: str
) -> None:
    deep = b'{"attributes": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    answer = await client.put(
        "/v1/users/u", content=deep, headers={"content-type": "application/json"}
    )
    assert answer.status_code in (400, 422), answer.text
    error_of(answer, answer.status_code)


async def test_over_long_strings_and_lists_are_422(
    client: httpx.AsyncClient, app_name: str
) -> None:
    assert (
        field_of(await client.post("/v1/apps", json={"name": "a", "description": "d" * 600}))
        == "description"
    )
    assert (
        field_of(await client.post("/v1/keys", json={"name": "k" * 200, "scopes": ["send"]}))
        == "name"
    )
    scopes = {"name": "k", "scopes": ["send"] * 5}
    assert field_of(await client.post("/v1/keys", json=scopes)) == "scopes"
    long_token = {"provider": "fcm", "token": "a" * 3000}
    assert field_of(await client.post("/v1/apps/mobile/devices", json=long_token)) == "token"
    many = {"provider": "fcm", "token": "a" * 20, "topics": ["t"] * 1000}
    assert field_of(await client.post("/v1/apps/mobile/devices", json=many)) == "topics"


async def test_unknown_routes_are_404_with_the_shape(client: httpx.AsyncClient) -> None:
    for path in ["/v2/apps", "/v1/nothing", "/v1/apps/mobile/devices/x/y", "/"]:
        error_of(await client.get(path), 404, "not_found")
    error_of(await client.get("/v1/nothing", headers={"Authorization": ""}), 404)


async def test_wrong_methods_are_405_with_the_shape(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("PUT", "/v1/apps"),
        ("DELETE", "/v1/tenants"),
        ("POST", "/v1/users/u"),
        ("PATCH", "/v1/devices"),
        ("POST", "/healthz"),
    ]:
        answer = await client.request(method, path)
        error_of(answer, 405, "method_not_allowed")
        assert answer.headers["allow"]


# -- over real sockets ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("live")) as running:
        yield running


async def test_413_over_tcp_with_content_length_and_chunked(server: LiveServer) -> None:
    headers = {**bearer(server.admin_key), "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=10) as http:
        sized = await http.put("/v1/users/u", content=big_user(server.max_body_bytes))
        error_of(sized, 413, "payload_too_large")
        streamed = await http.put("/v1/users/u", content=chunks(server.max_body_bytes + 1))
        assert "content-length" not in streamed.request.headers
        assert streamed.request.headers["transfer-encoding"] == "chunked"
        error_of(streamed, 413, "payload_too_large")
        # The server is still healthy and stored nothing.
        error_of(await http.get("/v1/users/u"), 404, "not_found")
        assert ok(await http.put("/v1/users/u", json={}), 201)["external_id"] == "u"
