"""Tenants: the default tenant, create, list, rename, delete (instance admins only)."""

from __future__ import annotations

import httpx

from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, field_of, ok


def names(tenants: list[dict[str, str]]) -> list[str]:
    return [t["name"] for t in tenants]


async def test_the_default_tenant_always_exists(client: httpx.AsyncClient) -> None:
    assert names(ok(await client.get("/v1/tenants"))) == ["default"]


async def test_create_list_rename_delete(client: httpx.AsyncClient) -> None:
    made = ok(await client.post("/v1/tenants", json={"name": "acme"}), 201)
    assert made["name"] == "acme"
    assert made["created_at"]
    assert names(ok(await client.get("/v1/tenants"))) == ["acme", "default"]

    renamed = ok(await client.patch("/v1/tenants/acme", json={"name": "acme-eu"}))
    assert (renamed["id"], renamed["name"]) == (made["id"], "acme-eu")
    assert names(ok(await client.get("/v1/tenants"))) == ["acme-eu", "default"]
    ok(await client.get("/v1/apps?tenant=acme-eu"))
    error_of(await client.get("/v1/apps?tenant=acme"), 404, "not_found")

    assert (await client.delete("/v1/tenants/acme-eu")).status_code == 204
    assert names(ok(await client.get("/v1/tenants"))) == ["default"]
    error_of(await client.delete("/v1/tenants/acme-eu"), 404, "not_found")


async def test_deleting_a_tenant_deletes_its_apps_and_keys(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    ok(await client.post("/v1/tenants", json={"name": "acme"}), 201)
    ok(await client.post("/v1/apps?tenant=acme", json={"name": "mobile"}), 201)
    key = await make_key("admin", tenant="acme")
    assert (await client.delete("/v1/tenants/acme")).status_code == 204
    error_of(await client.get("/v1/apps", headers=bearer(key)), 401, "unauthenticated")
    # A new tenant of the same name starts empty.
    ok(await client.post("/v1/tenants", json={"name": "acme"}), 201)
    assert ok(await client.get("/v1/apps?tenant=acme")) == []


async def test_duplicate_names_conflict(client: httpx.AsyncClient) -> None:
    ok(await client.post("/v1/tenants", json={"name": "acme"}), 201)
    ok(await client.post("/v1/tenants", json={"name": "beta"}), 201)
    error_of(await client.post("/v1/tenants", json={"name": "acme"}), 409, "conflict")
    error_of(await client.patch("/v1/tenants/beta", json={"name": "acme"}), 409, "conflict")
    assert names(ok(await client.get("/v1/tenants"))) == ["acme", "beta", "default"]


async def test_the_default_tenant_cannot_be_renamed_or_deleted(client: httpx.AsyncClient) -> None:
    assert field_of(await client.patch("/v1/tenants/default", json={"name": "other"})) == "name"
    error_of(await client.delete("/v1/tenants/default"), 422, "validation_failed")
    assert names(ok(await client.get("/v1/tenants"))) == ["default"]


async def test_tenant_names_are_url_safe(client: httpx.AsyncClient) -> None:
    for bad in ["Acme", "a b", "-lead", "x" * 65, "", "ünï"]:
        assert field_of(await client.post("/v1/tenants", json={"name": bad})) == "name", bad
    assert field_of(await client.post("/v1/tenants", json={})) == "name"
    assert field_of(await client.post("/v1/tenants", json={"name": "ok", "extra": 1})) == "extra"
    error_of(await client.patch("/v1/tenants/Not%20Valid", json={"name": "x"}), 422)
    error_of(await client.patch("/v1/tenants/missing", json={"name": "x"}), 404, "not_found")


async def test_only_instance_admins_manage_tenants(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    ok(await client.post("/v1/tenants", json={"name": "acme"}), 201)
    tenant_admin = bearer(await make_key("admin", tenant="acme"))
    error_of(await client.post("/v1/tenants", json={"name": "b"}, headers=tenant_admin), 403)
    error_of(await client.patch("/v1/tenants/acme", json={"name": "b"}, headers=tenant_admin), 403)
    error_of(await client.delete("/v1/tenants/acme", headers=tenant_admin), 403, "forbidden")
    # A tenant's own key sees only its own tenant.
    assert names(ok(await client.get("/v1/tenants", headers=tenant_admin))) == ["acme"]
    assert names(ok(await client.get("/v1/tenants"))) == ["acme", "default"]
