"""Rate limits: set and cleared through the API, who may set them, 429 once a bucket is
spent (with Retry-After and the RateLimit headers), recovery as the clock moves, a tenant's
bucket shared by its keys, sends a second and deliveries a day, and buckets in Redis shared
by two API processes."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from pushgate.core.ratelimit import DAY_MS
from pushgate.wiring import Services, build_services
from tests.api.expect import error_of, field_of, ok
from tests.api.material import registration_token
from tests.conftest import api_client, empty_postgres, make_settings
from tests.services import REDIS_HOST, REDIS_PORT, REDIS_URL, require_service


class ManualClock:
    """Wall-clock seconds that move only when a test says so."""

    def __init__(self, now: float | None = None) -> None:
        self.now = datetime.now(UTC).timestamp() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Clocked:
    services: Services
    clock: ManualClock
    admin: httpx.AsyncClient

    async def key(self, *scopes: str, tenant: str | None = None) -> tuple[str, str]:
        """A new key: (id, the key itself)."""
        body: dict[str, object] = {"name": "limited", "scopes": list(scopes)}
        if tenant is not None:
            body["tenant"] = tenant
        made = ok(await self.admin.post("/v1/keys", json=body), 201)
        return str(made["id"]), str(made["key"])


@pytest.fixture
async def clocked(database_url: str, tmp_path: Path) -> AsyncIterator[Clocked]:
    """Services whose rate limits run on a clock the test steps; an instance admin client."""
    if database_url.startswith("postgresql"):
        await empty_postgres(database_url)
    # Mid-day (UTC), so stepping a few seconds never crosses into another day.
    day_start = (datetime.now(UTC).timestamp() * 1000 // DAY_MS) * DAY_MS / 1000
    clock = ManualClock(day_start + 12 * 3600)
    built = await build_services(make_settings(tmp_path, database_url), limits_clock=clock)
    made = await built.access.bootstrap_admin_key()
    assert made is not None
    try:
        async with api_client(built, made.plaintext) as admin:
            yield Clocked(built, clock, admin)
    finally:
        await built.close()


def policy(answer: httpx.Response) -> tuple[str, str]:
    return answer.headers.get("RateLimit-Policy", ""), answer.headers.get("RateLimit", "")


async def limit_key(admin: httpx.AsyncClient, key_id: str, per_second: float, burst: int) -> Any:
    limit = {"per_second": per_second, "burst": burst}
    return ok(await admin.patch(f"/v1/keys/{key_id}", json={"rate_limit": limit}))


async def test_a_key_limit_is_set_listed_and_cleared(clocked: Clocked) -> None:
    admin = clocked.admin
    key_id, _ = await clocked.key("send")
    changed = await limit_key(admin, key_id, 5, 5)
    assert changed["rate_limit"] == {"per_second": 5.0, "burst": 5}
    listed = {k["id"]: k for k in ok(await admin.get("/v1/keys"))}
    assert listed[key_id]["rate_limit"] == {"per_second": 5.0, "burst": 5}
    # A body without the field changes nothing; null clears.
    assert ok(await admin.patch(f"/v1/keys/{key_id}", json={}))["rate_limit"] is not None
    cleared = ok(await admin.patch(f"/v1/keys/{key_id}", json={"rate_limit": None}))
    assert cleared["rate_limit"] is None
    for bad, field in [
        ({"rate_limit": {"per_second": 0, "burst": 5}}, "rate_limit.per_second"),
        ({"rate_limit": {"per_second": 1, "burst": 0}}, "rate_limit.burst"),
        ({"rate_limit": {"per_second": 1}}, "rate_limit.burst"),
        ({"rate_limit": {"per_second": 1, "burst": 1, "x": 1}}, "rate_limit.x"),
        ({"limit": 5}, "limit"),
    ]:
        assert field_of(await admin.patch(f"/v1/keys/{key_id}", json=bad)) == field, bad
    error_of(await admin.patch("/v1/keys/nope", json={"rate_limit": None}), 404, "not_found")


async def test_tenant_limits_are_set_in_part_and_cleared(clocked: Clocked) -> None:
    admin = clocked.admin
    ok(await admin.post("/v1/tenants", json={"name": "acme"}), 201)
    body = {
        "rate_limit": {"per_second": 10, "burst": 20},
        "send_rate_limit": {"per_second": 0.5, "burst": 2},
        "deliveries_per_day": 1000,
    }
    changed = ok(await admin.patch("/v1/tenants/acme", json=body))
    assert changed["rate_limit"] == {"per_second": 10.0, "burst": 20}
    assert changed["send_rate_limit"] == {"per_second": 0.5, "burst": 2}
    assert changed["deliveries_per_day"] == 1000
    # Only what is given changes; a rename keeps the limits.
    ok(await admin.patch("/v1/tenants/acme", json={"deliveries_per_day": None}))
    renamed = ok(await admin.patch("/v1/tenants/acme", json={"name": "acme2"}))
    assert renamed["name"] == "acme2"
    assert renamed["rate_limit"] == {"per_second": 10.0, "burst": 20}
    assert renamed["deliveries_per_day"] is None
    listed = {t["name"]: t for t in ok(await admin.get("/v1/tenants"))}
    assert listed["acme2"]["send_rate_limit"] == {"per_second": 0.5, "burst": 2}
    assert listed["default"]["rate_limit"] is None
    for bad, field in [
        ({"deliveries_per_day": 0}, "deliveries_per_day"),
        ({"send_rate_limit": {"per_second": -1, "burst": 1}}, "send_rate_limit.per_second"),
        ({"name": None}, "name"),
    ]:
        assert field_of(await admin.patch("/v1/tenants/acme2", json=bad)) == field, bad


async def test_who_may_set_limits(clocked: Clocked) -> None:
    admin = clocked.admin
    ok(await admin.post("/v1/tenants", json={"name": "acme"}), 201)
    _, acme_admin = await clocked.key("admin", tenant="acme")
    acme_sender_id, acme_sender = await clocked.key("send", tenant="acme")
    default_key_id, _ = await clocked.key("send")
    limit = {"rate_limit": {"per_second": 1, "burst": 1}}
    async with api_client(clocked.services, acme_admin) as tenant_admin:
        # A tenant's admin limits its tenant's keys, not others', nor its tenant.
        changed = ok(await tenant_admin.patch(f"/v1/keys/{acme_sender_id}", json=limit))
        assert changed["rate_limit"] == {"per_second": 1.0, "burst": 1}
        error_of(await tenant_admin.patch(f"/v1/keys/{default_key_id}", json=limit), 404)
        error_of(await tenant_admin.patch("/v1/tenants/acme", json=limit), 403, "forbidden")
    async with api_client(clocked.services, acme_sender) as sender:
        error_of(await sender.patch(f"/v1/keys/{acme_sender_id}", json=limit), 403)


async def test_a_spent_key_is_answered_429_until_its_bucket_refills(clocked: Clocked) -> None:
    key_id, key = await clocked.key("admin")
    await limit_key(clocked.admin, key_id, 1, 3)
    async with api_client(clocked.services, key) as limited:
        seen = []
        for _ in range(3):
            answer = await limited.get("/v1/apps")
            assert answer.status_code == 200, answer.text
            seen.append(policy(answer))
        assert seen == [
            ('"key";q=3;w=3', '"key";r=2;t=1'),
            ('"key";q=3;w=3', '"key";r=1;t=2'),
            ('"key";q=3;w=3', '"key";r=0;t=3'),
        ]
        refused = await limited.get("/v1/apps")
        error = error_of(refused, 429, "rate_limited")
        assert error["details"] == {"limit": "key", "per_second": 1.0, "burst": 3, "retry_after": 1}
        assert refused.headers["Retry-After"] == "1"
        assert policy(refused) == ('"key";q=3;w=3', '"key";r=0;t=3')
        # A request with a body is refused before its body is read, the same way.
        posted = await limited.post("/v1/apps", json={"name": "never"})
        error_of(posted, 429, "rate_limited")
        assert posted.headers["Retry-After"] == "1"
        clocked.clock.advance(0.5)
        assert (await limited.get("/v1/apps")).headers["Retry-After"] == "1"
        clocked.clock.advance(0.5)
        again = await limited.get("/v1/apps")
        assert again.status_code == 200, again.text
        assert "Retry-After" not in again.headers
        clocked.clock.advance(3)
        assert policy(await limited.get("/v1/apps"))[1] == '"key";r=2;t=1'
    # Unlimited keys carry no RateLimit headers; cleared, the key is unlimited again.
    assert policy(await clocked.admin.get("/v1/apps")) == ("", "")
    ok(await clocked.admin.patch(f"/v1/keys/{key_id}", json={"rate_limit": None}))
    async with api_client(clocked.services, key) as unlimited:
        for _ in range(10):
            ok(await unlimited.get("/v1/apps"))


async def test_a_tenant_limit_is_shared_by_its_keys(clocked: Clocked) -> None:
    admin = clocked.admin
    ok(await admin.post("/v1/tenants", json={"name": "acme"}), 201)
    limit = {"per_second": 0.5, "burst": 2}
    ok(await admin.patch("/v1/tenants/acme", json={"rate_limit": limit}))
    _, first = await clocked.key("admin", tenant="acme")
    _, second = await clocked.key("admin", tenant="acme")
    _, elsewhere = await clocked.key("admin")
    async with (
        api_client(clocked.services, first) as one,
        api_client(clocked.services, second) as two,
    ):
        ok(await one.get("/v1/apps"))
        answer = await two.get("/v1/apps")
        assert policy(answer) == ('"tenant";q=2;w=4', '"tenant";r=0;t=4')
        refused = await one.get("/v1/apps")
        assert error_of(refused, 429)["details"]["limit"] == "tenant"
        assert refused.headers["Retry-After"] == "2"
        error_of(await two.get("/v1/apps"), 429)
        # Another tenant's key, and instance admins, are not in this tenant's bucket.
        async with api_client(clocked.services, elsewhere) as other:
            ok(await other.get("/v1/apps"))
        ok(await admin.get("/v1/apps?tenant=acme"))
        clocked.clock.advance(2)
        ok(await two.get("/v1/apps"))


async def test_sends_a_second_and_deliveries_a_day(clocked: Clocked) -> None:
    admin = clocked.admin
    ok(await admin.post("/v1/apps", json={"name": "mobile"}), 201)
    for _ in range(3):
        device = {"provider": "fcm", "token": registration_token()}
        ok(await admin.post("/v1/apps/mobile/devices", json=device), 201)
    limits = {"send_rate_limit": {"per_second": 1, "burst": 2}, "deliveries_per_day": 7}
    ok(await admin.patch("/v1/tenants/default", json=limits))
    broadcast = {"app": "mobile", "audience": {"everyone": True}, "title": "hi"}

    first = await admin.post("/v1/notifications", json=broadcast)
    assert ok(first, 202)["targeted"] == 3
    assert policy(first) == (
        '"sends";q=2;w=2, "deliveries_per_day";q=7;w=86400',
        f'"sends";r=1;t=1, "deliveries_per_day";r=4;t={12 * 3600}',
    )
    ok(await admin.post("/v1/notifications", json=broadcast), 202)
    spent = await admin.post("/v1/notifications", json=broadcast)
    assert error_of(spent, 429, "rate_limited")["details"]["limit"] == "sends"
    assert spent.headers["Retry-After"] == "1"
    # Reads are not sends.
    ok(await admin.get("/v1/notifications"))

    clocked.clock.advance(2)
    # 6 of 7 used: a broadcast to 3 more is refused whole, and counts nothing.
    refused = await admin.post("/v1/notifications", json=broadcast)
    error = error_of(refused, 429, "rate_limited")
    assert error["details"] == {
        "limit": "deliveries_per_day",
        "deliveries_per_day": 7,
        "remaining": 1,
        "targeted": 3,
        "retry_after": 12 * 3600 - 2,
    }
    assert refused.headers["Retry-After"] == str(12 * 3600 - 2)
    listed = ok(await admin.get("/v1/notifications"))["items"]
    assert len(listed) == 2
    device_id = ok(await admin.get("/v1/devices"))["items"][0]["id"]
    to_one = {**broadcast, "audience": {"devices": [device_id]}}
    one = await admin.post("/v1/notifications", json=to_one)
    assert ok(one, 202)["targeted"] == 1
    # The next UTC day starts afresh.
    clocked.clock.advance(12 * 3600)
    ok(await admin.post("/v1/notifications", json=broadcast), 202)


async def test_limit_changes_are_audited(clocked: Clocked) -> None:
    admin = clocked.admin
    key_id, _ = await clocked.key("send")
    await limit_key(admin, key_id, 2, 4)
    ok(await admin.patch(f"/v1/keys/{key_id}", json={"rate_limit": None}))
    ok(await admin.patch("/v1/tenants/default", json={"deliveries_per_day": 50}))
    events = ok(await admin.get("/v1/audit?limit=10"))["items"]
    by_action = [(e["action"], e["object_id"], e["details"]) for e in events]
    tenant_id = ok(await admin.get("/v1/tenants"))[0]["id"]
    updates = [(a, o, d) for a, o, d in by_action if a in ("key.update", "tenant.update")]
    assert [(a, o) for a, o, _ in updates] == [
        ("tenant.update", tenant_id),
        ("key.update", key_id),
        ("key.update", key_id),
    ]
    assert updates[0][2]["deliveries_per_day"] == 50
    assert updates[0][2]["rate_limit"] is None
    assert updates[1][2]["rate_limit"] is None
    assert updates[2][2]["rate_limit"] == {"per_second": 2.0, "burst": 4}


# -- scale mode: buckets in Redis ---------------------------------------------------------


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the shared Redis (db 15), its keys deleted after."""
    require_service("redis", REDIS_HOST, REDIS_PORT)
    prefix = f"test-limits-{secrets.token_hex(6)}"
    yield prefix
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        async for key in client.scan_iter(match=f"{{{prefix}}}*", count=1000):
            await client.delete(key)
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_two_api_processes_share_buckets_in_redis(
    database_url: str, tmp_path: Path, redis_prefix: str
) -> None:
    if database_url.startswith("postgresql"):
        await empty_postgres(database_url)
    clock = ManualClock()
    settings = make_settings(tmp_path, database_url, queue_url=REDIS_URL, queue_prefix=redis_prefix)
    one = await build_services(settings, limits_clock=clock)
    two = await build_services(settings, limits_clock=clock)
    try:
        made = await one.access.bootstrap_admin_key()
        assert made is not None
        async with api_client(one, made.plaintext) as admin:
            key = ok(await admin.post("/v1/keys", json={"name": "k", "scopes": ["admin"]}), 201)
            # One request per 100 s: Redis expires a bucket by its own clock once the
            # bucket would be full again (here 400 s), which the manual clock never
            # reaches, however slowly a loaded machine runs these requests.
            await limit_key(admin, key["id"], 0.01, 4)
        async with api_client(one, key["key"]) as here, api_client(two, key["key"]) as there:
            for client in (here, there, here, there):
                ok(await client.get("/v1/apps"))
            refused = await there.get("/v1/apps")
            error_of(refused, 429, "rate_limited")
            assert policy(refused)[1] == '"key";r=0;t=400'
            error_of(await here.get("/v1/apps"), 429, "rate_limited")
            clock.advance(100)
            ok(await here.get("/v1/apps"))
            error_of(await there.get("/v1/apps"), 429, "rate_limited")
    finally:
        await one.close()
        await two.close()
