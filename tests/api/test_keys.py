"""API keys: created and shown once, stored only as hashes, listed, revoked."""

from __future__ import annotations

import hashlib

import httpx
import sqlalchemy as sa

from pushgate.storage.tables import api_keys
from pushgate.wiring import Services
from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, field_of, ok


async def test_a_key_is_shown_once_and_stored_as_a_hash(
    client: httpx.AsyncClient, services: Services
) -> None:
    made = ok(await client.post("/v1/keys", json={"name": "ci", "scopes": ["send"]}), 201)
    plaintext = made["key"]
    assert plaintext.startswith(f"pgk_{made['prefix']}_")
    assert made["scopes"] == ["send"]
    assert made["revoked_at"] is None
    default = ok(await client.get("/v1/tenants"))[0]
    assert made["tenant_id"] == default["id"]

    listing = await client.get("/v1/keys")
    assert plaintext not in listing.text
    listed = {k["id"]: k for k in ok(listing)}
    assert "key" not in listed[made["id"]]
    assert listed[made["id"]]["name"] == "ci"

    async with services.engine.connect() as connection:
        stored = (await connection.execute(sa.select(api_keys))).all()
    assert all(plaintext not in repr(tuple(row)) for row in stored)
    row = next(r for r in stored if r.id == made["id"])
    assert row.secret_hash == hashlib.sha256(plaintext.encode()).hexdigest()


async def test_every_scope_can_be_granted(client: httpx.AsyncClient) -> None:
    scopes = ["admin", "devices:register", "relay", "send"]
    made = ok(await client.post("/v1/keys", json={"name": "all", "scopes": scopes}), 201)
    assert made["scopes"] == scopes


async def test_invalid_key_requests_name_the_field(client: httpx.AsyncClient) -> None:
    cases = [
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["root"]}, "scopes.0"),
        ({"name": "", "scopes": ["send"]}, "name"),
        ({"name": "x" * 129, "scopes": ["send"]}, "name"),
        ({"scopes": ["send"]}, "name"),
        ({"name": "x", "scopes": ["send"], "tenant": "Bad Name"}, "tenant"),
        ({"name": "x", "scopes": ["send"], "instance_wide": True}, "scopes"),
    ]
    for body, field in cases:
        assert field_of(await client.post("/v1/keys", json=body)) == field, body
    assert ok(await client.get("/v1/keys"))[-1]["name"] == "bootstrap admin"


async def test_instance_wide_admin_keys(client: httpx.AsyncClient) -> None:
    body = {"name": "ops", "scopes": ["admin"], "instance_wide": True}
    made = ok(await client.post("/v1/keys", json=body), 201)
    assert made["tenant_id"] is None
    ok(await client.post("/v1/tenants", json={"name": "acme"}, headers=bearer(made["key"])), 201)


async def test_a_key_for_another_tenant(client: httpx.AsyncClient) -> None:
    ok(await client.post("/v1/tenants", json={"name": "acme"}), 201)
    body = {"name": "acme ci", "scopes": ["send"], "tenant": "acme"}
    made = ok(await client.post("/v1/keys", json=body), 201)
    acme = next(t for t in ok(await client.get("/v1/tenants")) if t["name"] == "acme")
    assert made["tenant_id"] == acme["id"]
    listed = ok(await client.get("/v1/keys?tenant=acme"))
    assert [k["id"] for k in listed] == [made["id"]]
    error_of(await client.post("/v1/keys", json={**body, "tenant": "nope"}), 404, "not_found")


async def test_revoked_keys_are_refused(client: httpx.AsyncClient, make_key: MakeKey) -> None:
    key = await make_key("admin")
    ok(await client.get("/v1/apps", headers=bearer(key)))
    key_id = next(k["id"] for k in ok(await client.get("/v1/keys")) if k["name"] == "test key")
    revoked = ok(await client.delete(f"/v1/keys/{key_id}"))
    assert revoked["revoked_at"] is not None
    error = error_of(await client.get("/v1/apps", headers=bearer(key)), 401, "unauthenticated")
    assert "revoked" in error["message"]
    listed = {k["id"]: k for k in ok(await client.get("/v1/keys"))}
    assert listed[key_id]["revoked_at"] == revoked["revoked_at"]
    # Revoking again keeps the first revocation time.
    assert ok(await client.delete(f"/v1/keys/{key_id}"))["revoked_at"] == revoked["revoked_at"]


async def test_revoking_an_unknown_key_is_404(client: httpx.AsyncClient) -> None:
    error_of(await client.delete("/v1/keys/does-not-exist"), 404, "not_found")


async def test_tenant_admins_manage_only_their_own_keys(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    ok(await client.post("/v1/tenants", json={"name": "acme"}), 201)
    acme_admin = bearer(await make_key("admin", tenant="acme", name="acme admin"))
    default_key = await make_key("send", name="default sender")
    default_id = next(
        k["id"] for k in ok(await client.get("/v1/keys")) if k["name"] == "default sender"
    )

    own = ok(
        await client.post("/v1/keys", json={"name": "a", "scopes": ["send"]}, headers=acme_admin),
        201,
    )
    acme = next(t for t in ok(await client.get("/v1/tenants")) if t["name"] == "acme")
    assert own["tenant_id"] == acme["id"]
    listed = ok(await client.get("/v1/keys", headers=acme_admin))
    assert sorted(k["name"] for k in listed) == ["a", "acme admin"]

    wide = {"name": "w", "scopes": ["admin"], "instance_wide": True}
    error_of(await client.post("/v1/keys", json=wide, headers=acme_admin), 403, "forbidden")
    elsewhere = {"name": "x", "scopes": ["send"], "tenant": "default"}
    error_of(await client.post("/v1/keys", json=elsewhere, headers=acme_admin), 404)
    error_of(await client.get("/v1/keys?tenant=default", headers=acme_admin), 404)
    error_of(await client.delete(f"/v1/keys/{default_id}", headers=acme_admin), 404)
    ok(await client.get("/v1/apps", headers=bearer(default_key)))  # still valid


async def test_keys_without_admin_cannot_manage_keys(
    client: httpx.AsyncClient, make_key: MakeKey
) -> None:
    for scope in ["send", "devices:register", "relay"]:
        headers = bearer(await make_key(scope))
        body = {"name": "x", "scopes": ["send"]}
        error_of(await client.post("/v1/keys", json=body, headers=headers), 403, "forbidden")
        error_of(await client.get("/v1/keys", headers=headers), 403, "forbidden")
