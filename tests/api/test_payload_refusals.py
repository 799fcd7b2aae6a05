"""A payload a provider of the app would refuse is a 422 naming the provider and the field,
never a 500, and no error answer costs the client its keep-alive connection."""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from pushgate.api import errors
from tests.api.expect import bearer, error_of, ok
from tests.api.live import LiveServer, live_server
from tests.api.test_credentials import every_kind

SEND = {"app": "mobile", "audience": {"everyone": True}, "title": "t"}
FCM_RESERVED = ["from", "message_type", "gcm", "google.c.a.e", "gcm.notification.title"]
# (provider, what the request adds to SEND, the field the answer names)
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    *(("fcm", {"data": {key: "x"}}, f"data.{key}") for key in FCM_RESERVED),
    ("apns", {"overrides": {"apns": {"push_type": "pager"}}}, "overrides.apns.push_type"),
    ("apns", {"overrides": {"apns": {"priority": 7}}}, "overrides.apns.priority"),
    ("apns", {"overrides": {"apns": {"aps": 5}}}, "overrides.apns.aps"),
    ("apns", {"overrides": {"apns": {"payload": [1]}}}, "overrides.apns.payload"),
    ("apns", {"collapse_key": "é" * 33}, "collapse_key"),  # 66 bytes, over APNs' 64
    ("wns", {"overrides": {"wns": {"type": "pager"}}}, "overrides.wns.type"),
    ("wns", {"overrides": {"wns": {"type": "tile"}}}, "overrides.wns.payload"),
    ("wns", {"overrides": {"wns": {"payload": 5}}}, "overrides.wns.payload"),
    (
        "wns",
        {"overrides": {"wns": {"type": "tile", "payload": "<tile/>", "tag": "no tag!"}}},
        "overrides.wns.tag",
    ),
]


@functools.cache
def _one_of_each_kind() -> dict[str, dict[str, Any]]:
    """Credentials of each provider kind (one auth mode each), made once: keys take time."""
    made: dict[str, dict[str, Any]] = {}
    for kind, body, _ in every_kind():
        made.setdefault(kind, body)
    return made


async def _credentials_of_every_kind(client: httpx.AsyncClient) -> None:
    """The app ``mobile`` with credentials for every provider kind."""
    ok(await client.post("/v1/apps", json={"name": "mobile"}), 201)
    for kind, body in _one_of_each_kind().items():
        ok(await client.put(f"/v1/apps/mobile/credentials/{kind}", json=body))


@pytest.mark.parametrize(("provider", "extra", "field"), REFUSED)
async def test_a_field_a_provider_refuses_is_named_in_a_422(
    client: httpx.AsyncClient, provider: str, extra: dict[str, Any], field: str
) -> None:
    await _credentials_of_every_kind(client)
    answer = await client.post("/v1/notifications", json={**SEND, **extra})
    error = error_of(answer, 422, "payload_refused")
    assert error["details"]["provider"] == provider
    assert error["details"]["field"] == field
    assert provider in error["message"]
    assert field in error["message"]
    listed = ok(await client.get("/v1/notifications"))
    assert listed["items"] == []


async def test_a_reserved_fcm_key_is_fine_without_fcm_credentials(
    client: httpx.AsyncClient,
) -> None:
    ok(await client.post("/v1/apps", json={"name": "mobile"}), 201)
    for kind, body in _one_of_each_kind().items():
        if kind != "fcm":
            ok(await client.put(f"/v1/apps/mobile/credentials/{kind}", json=body))
    ok(await client.post("/v1/notifications", json={**SEND, "data": {"from": "x"}}), 202)


@pytest.mark.parametrize("field", ["data", "overrides"])
async def test_a_number_no_payload_can_carry_is_a_422(
    client: httpx.AsyncClient, field: str
) -> None:
    ok(await client.post("/v1/apps", json={"name": "mobile"}), 201)
    huge = {"n": 2**70}  # valid JSON, but beyond the 64-bit integers of every encoder
    value = huge if field == "data" else {"hms": huge}
    answer = await client.post("/v1/notifications", json={**SEND, field: value})
    # Refused by the input rules every body meets, naming the number's place.
    assert error_of(answer, 422, "validation_failed")["details"]["field"].startswith(field)


# -- over a real socket ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("live")) as running:
        yield running


def _local_port(answer: httpx.Response) -> int:
    """The client-side port of the connection that carried ``answer``."""
    stream = answer.extensions["network_stream"]
    return int(stream.get_extra_info("client_addr")[1])


async def test_a_refused_payload_keeps_the_connection(server: LiveServer) -> None:
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=bearer(server.admin_key), timeout=10
    ) as http:
        await _credentials_of_every_kind(http)
        refused = await http.post("/v1/notifications", json={**SEND, "data": {"from": "x"}})
        error_of(refused, 422, "payload_refused")
        accepted = await http.post("/v1/notifications", json=SEND)
        ok(accepted, 202)
        assert _local_port(accepted) == _local_port(refused)


@pytest.fixture
async def failing_app() -> AsyncIterator[str]:
    """An app with the API's error handling and one route that fails unexpectedly, served by
    uvicorn on a free loopback port; yields its base URL."""
    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/fine")
    async def fine() -> dict[str, str]:
        return {"status": "ok"}

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, log_level="critical", lifespan="off", http="h11", timeout_graceful_shutdown=1
    )
    served = uvicorn.Server(config)
    task = asyncio.create_task(served.serve(sockets=[sock]))
    async with asyncio.timeout(10):
        # uvicorn reports readiness only as a flag, so poll it (bounded by the timeout).
        while not served.started:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    served.should_exit = True
    await asyncio.wait_for(task, 10)
    sock.close()


async def test_an_unexpected_error_is_a_500_that_keeps_the_connection(failing_app: str) -> None:
    async with httpx.AsyncClient(base_url=failing_app, timeout=10) as http:
        failed = await http.get("/boom")
        error = error_of(failed, 500, "internal_error")
        assert "a bug" not in failed.text  # the answer tells nothing of the code
        assert error["details"] == {}
        fine = await http.get("/fine")
        assert ok(fine) == {"status": "ok"}
        assert _local_port(fine) == _local_port(failed)
