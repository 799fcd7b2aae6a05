"""Fixtures of the console suite: the whole app on SQLite, reached without an API key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pushgate.api.app import create_app
from pushgate.wiring import build_services
from tests.conftest import make_settings


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the full ASGI app (console and API), as a browser without a key sees it."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'pushgate.db'}"
    services = await build_services(make_settings(tmp_path, database_url))
    try:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://pushgate.test") as c:
            yield c
    finally:
        await services.close()
