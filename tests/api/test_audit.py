"""The audit log: every change, send and cancel names who, what, which object, when and
from where, and never a secret."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from pushgate.core.ids import now_ms
from pushgate.storage.tables import audit_events
from pushgate.wiring import Services
from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, ok
from tests.conftest import api_client


async def events(client: httpx.AsyncClient, query: str = "") -> list[dict[str, object]]:
    page = ok(await client.get(f"/v1/audit{query}"))
    items: list[dict[str, object]] = page["items"]
    return items


async def test_changes_sends_and_cancels_are_recorded_without_secrets(
    client: httpx.AsyncClient, services: Services
) -> None:
    hms_secret, user_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    ok(await client.post("/v1/apps", json={"name": "mobile"}), 201)
    hms = {"app_id": "104857612", "client_secret": hms_secret}
    ok(await client.put("/v1/apps/mobile/credentials/hms", json=hms))
    ok(await client.patch("/v1/apps/mobile", json={"user_auth_secret": user_secret}))
    key = ok(await client.post("/v1/keys", json={"name": "backend", "scopes": ["send"]}), 201)
    rotated = ok(await client.post(f"/v1/keys/{key['id']}/rotate"), 201)
    ok(await client.delete(f"/v1/keys/{rotated['id']}"))
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    sent = ok(
        await client.post(
            "/v1/notifications",
            json={"app": "mobile", "audience": {"everyone": True}, "title": "t", "send_at": later},
        ),
        202,
    )
    ok(await client.delete(f"/v1/notifications/{sent['id']}"))
    ok(await client.delete("/v1/apps/mobile/credentials/hms"), 204)

    listed = await events(client)
    assert [e["action"] for e in listed] == [
        "credentials.delete",
        "notification.cancel",
        "notification.send",
        "key.revoke",
        "key.rotate",
        "key.create",
        "app.update",
        "credentials.set",
        "app.create",
    ]
    admin = ok(await client.get("/v1/keys"))[0]
    for event in listed:
        assert event["key_id"] == admin["id"]
        assert event["key_name"] == "bootstrap admin"
        assert event["origin"] == "127.0.0.1"
        assert event["object_type"] == str(event["action"]).split(".")[0]
    by_action = {e["action"]: e for e in listed}
    assert by_action["notification.send"]["object_id"] == sent["id"]
    assert by_action["key.rotate"]["object_id"] == key["id"]
    assert by_action["key.rotate"]["details"]["new_key"] == rotated["id"]  # type: ignore[index]
    set_details = by_action["credentials.set"]["details"]
    assert set_details["kind"] == "hms"  # type: ignore[index]
    assert set_details["fields"] == ["app_id", "client_secret"]  # type: ignore[index]
    assert by_action["app.update"]["details"]["changed"] == ["user_auth_secret"]  # type: ignore[index]

    # No secret anywhere: not in the answer, not in the table.
    answer = (await client.get("/v1/audit")).text
    async with services.engine.connect() as connection:
        stored = repr((await connection.execute(sa.select(audit_events))).all())
    for secret in (hms_secret, user_secret, key["key"], rotated["key"]):
        assert secret not in answer
        assert secret not in stored


async def test_tenants_see_their_own_events_and_instance_admins_all(
    client: httpx.AsyncClient, make_key: MakeKey, other_tenant: str, services: Services
) -> None:
    ok(await client.post("/v1/apps", json={"name": "web"}), 201)
    acme_admin = await make_key("admin", tenant=other_tenant)
    async with api_client(services, acme_admin) as acme:
        ok(await acme.post("/v1/apps", json={"name": "shop"}), 201)
        theirs = await events(acme)
        assert [(e["action"], e["details"]["name"]) for e in theirs] == [  # type: ignore[index]
            ("app.create", "shop"),
            ("key.create", "test key"),
            ("app.create", "mobile"),
        ]
        error_of(await acme.get("/v1/audit?tenant=default"), 404)
    everything = await events(client)
    assert {"tenant.create", "app.create", "key.create"} <= {e["action"] for e in everything}
    # The instance's own events (a tenant made) belong to no tenant.
    made = next(e for e in everything if e["action"] == "tenant.create")
    assert made["tenant_id"] is None
    only_acme = await events(client, f"?tenant={other_tenant}")
    assert {e["details"]["name"] for e in only_acme} == {"shop", "mobile", "test key"}  # type: ignore[index]
    sender = await make_key("send")
    error_of(await client.get("/v1/audit", headers=bearer(sender)), 403)


async def test_paging_and_filtering(client: httpx.AsyncClient) -> None:
    for name in ("a1", "a2", "a3"):
        ok(await client.post("/v1/apps", json={"name": name}), 201)
    ok(await client.post("/v1/keys", json={"name": "k", "scopes": ["send"]}), 201)
    first = ok(await client.get("/v1/audit?action=app.create&limit=2"))
    assert [e["details"]["name"] for e in first["items"]] == ["a3", "a2"]
    second = ok(await client.get(f"/v1/audit?action=app.create&limit=2&after={first['next']}"))
    assert [e["details"]["name"] for e in second["items"]] == ["a1"]
    assert second["next"] is None
    error_of(await client.get("/v1/audit?action=app.explode"), 422)


async def test_old_events_are_purged_after_the_retention(
    client: httpx.AsyncClient, services: Services
) -> None:
    ok(await client.post("/v1/apps", json={"name": "old"}), 201)
    assert await services.audit.purge(now_ms() - 60_000) == 0
    assert len(await events(client)) == 1
    assert await services.audit.purge(now_ms() + 1) == 1
    assert await events(client) == []
