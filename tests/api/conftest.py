"""Fixtures of the API suite: keys of each scope, a second tenant, an app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.api.expect import ok

MakeKey = Callable[..., Awaitable[str]]


@pytest.fixture
def make_key(client: httpx.AsyncClient) -> MakeKey:
    """Create an API key through the API; returns the key itself."""

    async def make(*scopes: str, tenant: str | None = None, name: str = "test key") -> str:
        body: dict[str, object] = {"name": name, "scopes": list(scopes)}
        if tenant is not None:
            body["tenant"] = tenant
        made = ok(await client.post("/v1/keys", json=body), 201)
        return str(made["key"])

    return make


@pytest.fixture
async def app_name(client: httpx.AsyncClient) -> str:
    """An app named ``mobile`` in the default tenant."""
    ok(await client.post("/v1/apps", json={"name": "mobile"}), 201)
    return "mobile"


@pytest.fixture
async def other_tenant(client: httpx.AsyncClient) -> str:
    """A second tenant, ``acme``, with an app of its own named ``mobile`` too."""
    ok(await client.post("/v1/tenants", json={"name": "acme"}), 201)
    ok(await client.post("/v1/apps?tenant=acme", json={"name": "mobile"}), 201)
    return "acme"
