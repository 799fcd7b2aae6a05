"""GET /v1/operational-events: newest first, paged, filtered by kind and app, each tenant
its own; and the operational webhook set through PATCH /v1/tenants/{name}."""

from __future__ import annotations

import httpx

from pushgate.core.operational_events import EventKind, OperationalEvent
from pushgate.wiring import Services
from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, ok


async def _record(services: Services, tenant: str, kind: EventKind, app: str | None) -> str:
    found = await services.accounts.tenant_by_name(tenant)
    assert found is not None
    app_id = None
    if app is not None:
        made = await services.accounts.app_by_name(found.id, app)
        assert made is not None
        app_id = made.id
    event: OperationalEvent = services.operational_events.new(
        kind, app_id or "subject", tenant_id=found.id, app_id=app_id
    )
    await services.operational_events.record(event)
    return event.id


async def test_paged_newest_first_filtered_and_kept_to_the_tenant(
    client: httpx.AsyncClient,
    services: Services,
    app_name: str,
    other_tenant: str,
    make_key: MakeKey,
) -> None:
    mine = [
        await _record(services, "default", EventKind.CREDENTIALS_PAUSED, app_name),
        await _record(services, "default", EventKind.NOTIFICATION_FAILED, None),
        await _record(services, "default", EventKind.CREDENTIALS_RESUMED, app_name),
    ]
    theirs = await _record(services, other_tenant, EventKind.CREDENTIALS_PAUSED, "mobile")
    newest = sorted(mine, reverse=True)

    first = ok(await client.get("/v1/operational-events?tenant=default&limit=2"))
    assert [e["id"] for e in first["items"]] == newest[:2]
    rest = ok(await client.get(f"/v1/operational-events?tenant=default&after={first['next']}"))
    assert [e["id"] for e in rest["items"]] == newest[2:]
    assert rest["next"] is None
    everything = ok(await client.get("/v1/operational-events"))["items"]
    assert {e["id"] for e in everything} == {*mine, theirs}

    paused = ok(await client.get("/v1/operational-events?tenant=default&kind=credentials.paused"))
    assert [e["id"] for e in paused["items"]] == [mine[0]]
    by_app = ok(await client.get(f"/v1/operational-events?tenant=default&app={app_name}"))
    assert {e["id"] for e in by_app["items"]} == {mine[0], mine[2]}

    tenant_admin = bearer(await make_key("admin", tenant=other_tenant))
    own = ok(await client.get("/v1/operational-events", headers=tenant_admin))
    assert [e["id"] for e in own["items"]] == [theirs]
    error_of(await client.get("/v1/operational-events?tenant=default", headers=tenant_admin), 404)
    sender = bearer(await make_key("send", tenant=other_tenant))
    error_of(await client.get("/v1/operational-events", headers=sender), 403)


async def test_bad_filters_are_clear_4xx(client: httpx.AsyncClient, app_name: str) -> None:
    error_of(await client.get("/v1/operational-events?kind=nope"), 422)
    error_of(await client.get(f"/v1/operational-events?app={app_name}"), 422, "validation_failed")
    error_of(await client.get("/v1/operational-events?tenant=default&app=none"), 404)
    error_of(await client.get("/v1/operational-events?limit=0"), 422)


async def test_a_tenant_admin_sets_its_webhook_and_sees_a_generated_secret_once(
    client: httpx.AsyncClient, other_tenant: str, make_key: MakeKey
) -> None:
    admin = bearer(await make_key("admin", tenant=other_tenant))
    hook = {"url": "https://hooks.example.com/ops"}
    body = ok(
        await client.patch(
            f"/v1/tenants/{other_tenant}", json={"operational_webhook": hook}, headers=admin
        )
    )
    assert body["operational_webhook"]["url"] == hook["url"]
    assert body["operational_webhook"]["secret"].startswith("whsec_")
    again = ok(await client.patch(f"/v1/tenants/{other_tenant}", json={}, headers=admin))
    assert again["operational_webhook"] == {"url": hook["url"], "secret": None}
    # Its limits stay the instance admins'.
    limits = {"deliveries_per_day": 10, "operational_webhook": hook}
    error_of(await client.patch(f"/v1/tenants/{other_tenant}", json=limits, headers=admin), 403)
    error_of(
        await client.patch(
            "/v1/tenants/default", json={"operational_webhook": hook}, headers=admin
        ),
        404,
    )
    sender = bearer(await make_key("send", tenant=other_tenant))
    hooked = {"operational_webhook": hook}
    error_of(await client.patch(f"/v1/tenants/{other_tenant}", json=hooked, headers=sender), 403)
    bad = {"operational_webhook": {"url": "ftp://x"}}
    error_of(await client.patch(f"/v1/tenants/{other_tenant}", json=bad, headers=admin), 422)
    weak = {"operational_webhook": {**hook, "secret": "whsec_short"}}
    error_of(await client.patch(f"/v1/tenants/{other_tenant}", json=weak, headers=admin), 422)
    cleared = ok(
        await client.patch(
            f"/v1/tenants/{other_tenant}", json={"operational_webhook": None}, headers=admin
        )
    )
    assert cleared["operational_webhook"] is None
    audit = ok(await client.get(f"/v1/audit?tenant={other_tenant}&action=tenant.update"))
    assert [e["details"]["operational_webhook"] for e in audit["items"]] == [
        None,
        {"url": hook["url"], "secret": "generated"},
    ]
