"""Operations endpoints: liveness, readiness and the instance's identity."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx

from pushgate import __version__
from pushgate.api.app import create_app
from pushgate.storage.engine import create_engine
from pushgate.wiring import Services, build_services
from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, ok
from tests.conftest import make_settings


async def _client_for(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://pushgate.test") as http:
        yield http


async def test_healthz_needs_no_key(client: httpx.AsyncClient) -> None:
    answer = ok(await client.get("/healthz", headers={"Authorization": ""}))
    assert answer["status"] == "ok"


async def test_readyz_reports_a_current_database(client: httpx.AsyncClient) -> None:
    answer = ok(await client.get("/readyz", headers={"Authorization": ""}))
    assert answer == {
        "status": "ready",
        "detail": "ok",
        "checks": {"database": "ok", "queue": "ok"},
    }


async def test_readyz_refuses_an_unmigrated_database(services: Services, tmp_path: Path) -> None:
    empty = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        async for http in _client_for(replace(services, engine=empty)):
            error = error_of(await http.get("/readyz"), 503, "not_ready")
            assert "migrations pending" in error["message"]
    finally:
        await empty.dispose()


async def test_readyz_refuses_an_unreachable_database(services: Services) -> None:
    with socket.socket() as probe:  # a port nobody listens on once this socket closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = create_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{port}/none")
    try:
        async for http in _client_for(replace(services, engine=gone)):
            error = error_of(await http.get("/readyz"), 503, "not_ready")
            assert "unreachable" in error["message"]
    finally:
        await gone.dispose()


async def test_instance_needs_a_key(client: httpx.AsyncClient) -> None:
    error_of(await client.get("/v1/instance", headers={"Authorization": ""}), 401)


async def test_instance_shows_id_and_name(client: httpx.AsyncClient) -> None:
    answer = ok(await client.get("/v1/instance"))
    assert uuid.UUID(answer["instance_id"]).version == 4
    assert answer["instance_name"] == "http://127.0.0.1:8080"
    assert answer["version"] == __version__


async def test_any_scope_may_read_the_instance(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    key = await make_key("devices:register")
    answer = ok(await client.get("/v1/instance", headers=bearer(key)))
    assert answer["instance_id"] == ok(await client.get("/v1/instance"))["instance_id"]


async def test_instance_id_is_stable_across_restarts(
    client: httpx.AsyncClient, admin_key: str, database_url: str, tmp_path: Path
) -> None:
    first = ok(await client.get("/v1/instance"))["instance_id"]
    # A second start on the same database, with other settings and a new data folder.
    settings = make_settings(
        tmp_path / "restarted", database_url, instance_name="https://push.example.com/"
    )
    again = await build_services(settings)
    try:
        async for http in _client_for(again):
            answer = ok(await http.get("/v1/instance", headers=bearer(admin_key)))
    finally:
        await again.close()
    assert answer["instance_id"] == first
    assert answer["instance_name"] == "https://push.example.com"
