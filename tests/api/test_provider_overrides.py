"""Provider URL overrides are an instance admin's to set (docs/architecture.md §6)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pushgate.wiring import Services, build_services
from tests.api import material
from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, field_of, ok
from tests.conftest import api_client, make_settings


def kinds_with(url: str) -> list[tuple[str, dict[str, Any], str]]:
    """(kind, body with one URL override, the overriding field) for every such field."""
    account = material.fcm_service_account()
    apns = {
        "team_id": "ABCDE12345",
        "key_id": "KEY1234567",
        "private_key": material.apns_p8(),
        "bundle_id": "com.example.app",
        "environment": "sandbox",
    }
    wns = {"package_sid": "ms-app://s-1-15-2-1234-5678", "client_secret": secrets.token_hex(8)}
    hms = {"app_id": "104857612", "client_secret": secrets.token_hex(8)}
    return [
        ("apns", {**apns, "base_url": url}, "base_url"),
        ("fcm", {"service_account": account, "base_url": url}, "base_url"),
        (
            "fcm",
            {"service_account": {**account, "token_uri": f"{url}/token"}},
            "service_account.token_uri",
        ),
        ("wns", {**wns, "base_url": url}, "base_url"),
        ("wns", {**wns, "token_url": f"{url}/token"}, "token_url"),
        ("hms", {**hms, "base_url": url}, "base_url"),
        ("hms", {**hms, "token_url": f"{url}/token"}, "token_url"),
    ]


async def test_a_tenant_admin_may_not_override_provider_urls(
    client: httpx.AsyncClient, app_name: str, make_key: MakeKey
) -> None:
    tenant_admin = bearer(await make_key("admin", tenant="default"))
    for kind, body, field in kinds_with("https://push.example.net"):
        path = f"/v1/apps/{app_name}/credentials/{kind}"
        error = error_of(await client.put(path, json=body, headers=tenant_admin), 403, "forbidden")
        assert error["details"]["fields"] == [f"{kind}.{field}"], error
        # The instance admin may (the URL is https to a public name).
        ok(await client.put(path, json=body))
    # Without overrides a tenant admin sets every kind; Google's own token_uri is no override.
    account = material.fcm_service_account()
    assert account["token_uri"] == "https://oauth2.googleapis.com/token"
    path = f"/v1/apps/{app_name}/credentials/fcm"
    ok(await client.put(path, json={"service_account": account}, headers=tenant_admin))


@pytest.fixture
async def strict_services(tmp_path: Path) -> AsyncIterator[Services]:
    """An instance without ``allow_private_targets`` (the production default)."""
    settings = make_settings(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'strict.db'}", allow_private_targets=False
    )
    built = await build_services(settings)
    try:
        yield built
    finally:
        await built.close()


@pytest.mark.parametrize(
    "url",
    ["http://push.example.net", "https://127.0.0.1:8443", "https://localhost", "https://10.1.2.3"],
)
async def test_an_instance_admin_override_needs_the_setting_for_internal_or_plain_targets(
    strict_services: Services, url: str
) -> None:
    made = await strict_services.access.bootstrap_admin_key()
    assert made is not None
    async with api_client(strict_services, made.plaintext) as admin:
        ok(await admin.post("/v1/apps", json={"name": "mobile"}), 201)
        for kind, body, field in kinds_with(url):
            answer = await admin.put(f"/v1/apps/mobile/credentials/{kind}", json=body)
            assert field_of(answer) == f"{kind}.{field}"
