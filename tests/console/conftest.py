"""Fixtures of the console suite: the whole app on SQLite, reached without an API key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pushgate.api.app import create_app
from pushgate.wiring import build_services
from tests.conftest import fresh_sqlite, make_settings


@pytest.fixture
async def http(tmp_path: Path, migrated_sqlite_template: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the full ASGI app (console and API), as a browser without a key sees it."""
    database_url = fresh_sqlite(migrated_sqlite_template, tmp_path)
    services = await build_services(make_settings(tmp_path, database_url))
    try:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://pushgate.test") as c:
            yield c
    finally:
        await services.close()
