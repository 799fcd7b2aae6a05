"""Tenant isolation: a tenant's key sees nothing of another tenant.

Naming a tenant with ``?tenant=`` is for instance-wide admin keys only.
"""

from __future__ import annotations

import httpx

from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, ok
from tests.api.material import apns_token
from tests.clock import in_200_days


async def _populate(client: httpx.AsyncClient, tenant: str) -> dict[str, str]:
    """An app, a user with an alias and a device in ``tenant``; returns their ids."""
    query = f"?tenant={tenant}"
    ok(await client.put(f"/v1/users/u-{tenant}{query}", json={"locale": "en"}), 201)
    alias = {"app": "mobile", "alias": f"al-{tenant}"}
    ok(await client.put(f"/v1/users/u-{tenant}/aliases{query}", json=alias), 204)
    device = {"provider": "apns", "token": apns_token(), "user": f"u-{tenant}"}
    made = ok(await client.post(f"/v1/apps/mobile/devices{query}", json=device), 201)
    webhook = {"url": "https://hooks.example.com/x", "generate_signing_secret": True}
    ok(await client.put(f"/v1/apps/mobile/credentials/webhook{query}", json=webhook))
    key = {"name": f"{tenant} sender", "scopes": ["send"], "tenant": tenant}
    key_id = ok(await client.post("/v1/keys", json=key), 201)["id"]
    return {"device": made["id"], "user": f"u-{tenant}", "alias": f"al-{tenant}", "key": key_id}


async def test_a_tenant_key_gets_404_for_another_tenants_objects(
    client: httpx.AsyncClient, app_name: str, other_tenant: str, make_key: MakeKey
) -> None:
    b_admin = await make_key("admin", tenant=other_tenant)
    theirs = await _populate(client, other_tenant)
    mine = await _populate(client, "default")
    a_admin = bearer(await make_key("admin", tenant="default"))

    # The same app name exists in both tenants; each key reaches only its own.
    b_devices = ok(await client.get("/v1/devices", headers=bearer(b_admin)))["items"]
    assert [d["id"] for d in b_devices] == [theirs["device"]]
    a_devices = ok(await client.get("/v1/devices", headers=a_admin))["items"]
    assert [d["id"] for d in a_devices] == [mine["device"]]

    # A scheduled notification in each tenant: each key lists and reads only its own.
    later = {
        "app": "mobile",
        "audience": {"everyone": True},
        "title": "t",
        "send_at": in_200_days(),
    }
    b_note = ok(await client.post("/v1/notifications", json=later, headers=bearer(b_admin)), 202)
    a_note = ok(await client.post("/v1/notifications", json=later, headers=a_admin), 202)
    b_listed = ok(await client.get("/v1/notifications", headers=bearer(b_admin)))["items"]
    assert [n["id"] for n in b_listed] == [b_note["id"]]
    a_listed = ok(await client.get("/v1/notifications", headers=a_admin))["items"]
    assert [n["id"] for n in a_listed] == [a_note["id"]]

    hidden = [
        ("GET", f"/v1/notifications/{b_note['id']}"),
        ("GET", f"/v1/notifications/{b_note['id']}/deliveries"),
        ("DELETE", f"/v1/notifications/{b_note['id']}"),
        ("GET", f"/v1/devices/{theirs['device']}"),
        ("GET", f"/v1/devices/{theirs['device']}/history"),
        ("DELETE", f"/v1/devices/{theirs['device']}"),
        ("GET", f"/v1/users/{theirs['user']}"),
        ("GET", f"/v1/users/{theirs['user']}/devices"),
        ("GET", f"/v1/users/{theirs['user']}/aliases"),
        ("DELETE", f"/v1/users/{theirs['user']}"),
        ("GET", f"/v1/apps/mobile/aliases/{theirs['alias']}"),
        ("DELETE", f"/v1/keys/{theirs['key']}"),
    ]
    for method, path in hidden:
        error_of(await client.request(method, path, headers=a_admin), 404, "not_found")

    # Everything of tenant B is still there and unchanged.
    device = ok(await client.get(f"/v1/devices/{theirs['device']}", headers=bearer(b_admin)))
    assert device["state"] == "active"
    ok(await client.get(f"/v1/users/{theirs['user']}", headers=bearer(b_admin)))
    assert all(k["revoked_at"] is None for k in ok(await client.get("/v1/keys?tenant=acme")))


async def test_naming_another_tenant_with_a_tenant_key_is_404(
    client: httpx.AsyncClient, app_name: str, other_tenant: str, make_key: MakeKey
) -> None:
    for scope in ["admin", "send", "devices:register"]:
        headers = bearer(await make_key(scope, tenant="default"))
        for method, path, body in [
            ("GET", "/v1/apps?tenant=acme", None),
            ("GET", "/v1/apps/mobile?tenant=acme", None),
            ("GET", "/v1/users?tenant=acme", None),
            ("GET", "/v1/devices?tenant=acme", None),
            ("PUT", "/v1/users/x?tenant=acme", {}),
            (
                "POST",
                "/v1/apps/mobile/devices?tenant=acme",
                {"provider": "apns", "token": "ab" * 8},
            ),
        ]:
            answer = await client.request(method, path, json=body, headers=headers)
            error = error_of(answer, 404, "not_found")
            assert error["details"] == {"tenant": "acme"}, (scope, path)
        # Naming its own tenant is allowed.
        assert (
            await client.get("/v1/devices/none?tenant=default", headers=headers)
        ).status_code == 404
    assert ok(await client.get("/v1/users?tenant=acme"))["items"] == []
    assert ok(await client.get("/v1/devices?tenant=acme"))["items"] == []


async def test_an_instance_admin_acts_in_any_tenant(
    client: httpx.AsyncClient, app_name: str, other_tenant: str
) -> None:
    ok(await client.patch("/v1/apps/mobile?tenant=acme", json={"description": "acme's"}))
    assert ok(await client.get("/v1/apps/mobile?tenant=acme"))["description"] == "acme's"
    assert ok(await client.get("/v1/apps/mobile"))["description"] == ""
    ours = await _populate(client, "acme")
    assert ok(await client.get(f"/v1/devices/{ours['device']}?tenant=acme"))["state"] == "active"
    # Without ?tenant= the instance admin acts in the default tenant.
    error_of(await client.get(f"/v1/devices/{ours['device']}"), 404, "not_found")
    error_of(await client.get("/v1/apps?tenant=nowhere"), 404, "not_found")


async def test_same_external_id_in_two_tenants_are_two_users(
    client: httpx.AsyncClient, other_tenant: str
) -> None:
    a = ok(await client.put("/v1/users/shared", json={"locale": "de"}), 201)
    b = ok(await client.put("/v1/users/shared?tenant=acme", json={"locale": "fr"}), 201)
    assert a["id"] != b["id"]
    assert ok(await client.get("/v1/users/shared"))["locale"] == "de"
    assert ok(await client.get("/v1/users/shared?tenant=acme"))["locale"] == "fr"
