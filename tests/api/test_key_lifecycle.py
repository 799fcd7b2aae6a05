"""API keys over their life: expiry, last use, rotation with overlap, revocation seen by
every process within a second, and who may read ``/metrics``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from pushgate.api.app import create_app
from pushgate.core.access import KEY_CACHE_SECONDS, Access
from pushgate.core.inputs import KeyInput
from pushgate.errors import Unauthenticated
from pushgate.wiring import Services, build_services
from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, field_of, ok
from tests.conftest import api_client, make_settings


class ManualClock:
    """Wall-clock seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def iso_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def parsed(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_key_may_carry_an_expiry(client: httpx.AsyncClient) -> None:
    made = ok(
        await client.post(
            "/v1/keys", json={"name": "ci", "scopes": ["send"], "expires_at": iso_in(3600)}
        ),
        201,
    )
    assert abs((parsed(made["expires_at"]) - datetime.now(UTC)).total_seconds() - 3600) < 60
    assert made["last_used_at"] is None
    for when, problem in [(iso_in(-60), "past"), ("2030-01-01T00:00:00", "time zone")]:
        body = {"name": "ci", "scopes": ["send"], "expires_at": when}
        answer = await client.post("/v1/keys", json=body)
        assert field_of(answer) == "expires_at", answer.text
        assert problem in error_of(answer, 422)["message"]


async def test_an_expired_key_is_refused_once_its_time_passes(services: Services) -> None:
    clock = ManualClock()
    access = Access(services.accounts, audit=services.audit, clock=clock)
    admin = await access.bootstrap_admin_key()
    assert admin is not None
    caller = await access.authenticate(f"Bearer {admin.plaintext}")
    expires = datetime.fromtimestamp(clock.now + 60, UTC)
    made = await access.create_key(
        caller, KeyInput(name="short", scopes=["send"], expires_at=expires)
    )
    await access.authenticate(f"Bearer {made.plaintext}")
    clock.advance(61)
    with pytest.raises(Unauthenticated, match="expired"):
        await access.authenticate(f"Bearer {made.plaintext}")


async def test_a_revocation_reaches_another_process_within_a_second(
    services: Services,
) -> None:
    """Two ``Access`` objects on one database are two processes of one instance."""
    clock = ManualClock()
    here = Access(services.accounts, audit=services.audit, clock=clock)
    elsewhere = Access(services.accounts, audit=services.audit, clock=clock)
    admin = await here.bootstrap_admin_key()
    assert admin is not None
    caller = await here.authenticate(f"Bearer {admin.plaintext}")
    made = await here.create_key(caller, KeyInput(name="leaky", scopes=["send"]))
    await elsewhere.authenticate(f"Bearer {made.plaintext}")  # now cached there

    await here.revoke_key(caller, made.key.id)
    with pytest.raises(Unauthenticated, match="revoked"):
        await here.authenticate(f"Bearer {made.plaintext}")  # this process: at once
    clock.advance(KEY_CACHE_SECONDS / 2)
    await elsewhere.authenticate(f"Bearer {made.plaintext}")  # still within the bound
    clock.advance(KEY_CACHE_SECONDS / 2)
    with pytest.raises(Unauthenticated, match="revoked"):
        await elsewhere.authenticate(f"Bearer {made.plaintext}")
    assert KEY_CACHE_SECONDS <= 1.0


async def test_last_use_is_recorded_once_a_minute(services: Services) -> None:
    clock = ManualClock()
    access = Access(services.accounts, audit=services.audit, clock=clock)
    admin = await access.bootstrap_admin_key()
    assert admin is not None
    caller = await access.authenticate(f"Bearer {admin.plaintext}")
    first = (await services.accounts.key_by_id(caller.key.id)).last_used_at  # type: ignore[union-attr]
    assert first == int(clock.now * 1000)
    clock.advance(30)
    await access.authenticate(f"Bearer {admin.plaintext}")
    unchanged = await services.accounts.key_by_id(caller.key.id)
    assert unchanged is not None
    assert unchanged.last_used_at == first
    clock.advance(31)
    await access.authenticate(f"Bearer {admin.plaintext}")
    later = await services.accounts.key_by_id(caller.key.id)
    assert later is not None
    assert later.last_used_at == int(clock.now * 1000)


async def test_rotation_keeps_the_old_key_for_the_overlap(
    client: httpx.AsyncClient, services: Services
) -> None:
    old = ok(await client.post("/v1/keys", json={"name": "backend", "scopes": ["send"]}), 201)
    rotated = ok(
        await client.post(f"/v1/keys/{old['id']}/rotate", json={"overlap_seconds": 3600}), 201
    )
    assert rotated["id"] != old["id"]
    assert (rotated["name"], rotated["scopes"], rotated["tenant_id"]) == (
        old["name"],
        old["scopes"],
        old["tenant_id"],
    )
    assert rotated["key"] != old["key"]
    previous = rotated["previous"]
    assert previous["id"] == old["id"]
    overlap_ends = parsed(previous["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=58) < overlap_ends <= timedelta(hours=1)
    # Both work during the overlap.
    for key in (old["key"], rotated["key"]):
        ok(await client.get("/v1/apps", headers=bearer(key)))
    listed = {k["id"]: k for k in ok(await client.get("/v1/keys"))}
    assert listed[old["id"]]["expires_at"] == previous["expires_at"]
    assert listed[old["id"]]["last_used_at"] is not None

    # Without an overlap the old key stops at once.
    again = ok(
        await client.post(f"/v1/keys/{rotated['id']}/rotate", json={"overlap_seconds": 0}), 201
    )
    refused = await client.get("/v1/apps", headers=bearer(rotated["key"]))
    assert "expired" in error_of(refused, 401)["message"]
    ok(await client.get("/v1/apps", headers=bearer(again["key"])))
    # A key that no longer works cannot be rotated: that would revive it.
    error_of(await client.post(f"/v1/keys/{rotated['id']}/rotate"), 409)


async def test_rotation_refusals(
    client: httpx.AsyncClient, make_key: MakeKey, other_tenant: str
) -> None:
    error_of(await client.post("/v1/keys/nope/rotate"), 404)
    made = ok(await client.post("/v1/keys", json={"name": "x", "scopes": ["send"]}), 201)
    revoked = ok(await client.delete(f"/v1/keys/{made['id']}"))
    error_of(await client.post(f"/v1/keys/{revoked['id']}/rotate"), 409)
    # Another tenant's admin does not see the key at all.
    acme_admin = await make_key("admin", tenant=other_tenant)
    theirs = ok(await client.post("/v1/keys", json={"name": "y", "scopes": ["send"]}), 201)
    hidden = await client.post(f"/v1/keys/{theirs['id']}/rotate", headers=bearer(acme_admin))
    error_of(hidden, 404)
    sender = await make_key("send")
    error_of(await client.post(f"/v1/keys/{theirs['id']}/rotate", headers=bearer(sender)), 403)
    too_long = {"overlap_seconds": 31 * 24 * 3600}
    assert field_of(await client.post(f"/v1/keys/{theirs['id']}/rotate", json=too_long)) == (
        "overlap_seconds"
    )


def metric_lines(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(name)]


async def test_metrics_show_tenant_series_to_instance_admins_only(
    client: httpx.AsyncClient, make_key: MakeKey, app_name: str, services: Services
) -> None:
    tenant_admin = await make_key("admin")
    ok(
        await client.post(
            "/v1/notifications",
            json={"app": app_name, "audience": {"everyone": True}, "title": "m"},
        ),
        202,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(services)), base_url="http://pushgate.test"
    ) as anonymous:
        plain = await anonymous.get("/metrics")
    assert plain.status_code == 200
    assert metric_lines(plain.text, "pushgate_notifications_accepted_total")
    assert not metric_lines(plain.text, "pushgate_tenant_")
    as_tenant = await client.get("/metrics", headers=bearer(tenant_admin))
    assert not metric_lines(as_tenant.text, "pushgate_tenant_")
    as_instance = (await client.get("/metrics")).text
    tenant = ok(await client.get("/v1/tenants"))[0]["id"]
    assert f'pushgate_tenant_notifications_accepted_total{{tenant="{tenant}"}} 1.0' in as_instance


async def test_metrics_can_require_a_key(
    database_url: str, tmp_path: Path, services: Services, admin_key: str
) -> None:
    """A second process of the same instance, started with ``metrics_require_key``."""
    guarded = await build_services(make_settings(tmp_path, database_url, metrics_require_key=True))
    try:
        async with api_client(guarded, admin_key) as http:
            sender = ok(await http.post("/v1/keys", json={"name": "s", "scopes": ["send"]}), 201)
            error_of(await http.get("/metrics", headers={"Authorization": ""}), 401)
            error_of(await http.get("/metrics", headers=bearer(sender["key"])), 403)
            shown = await http.get("/metrics")
            assert shown.status_code == 200
            assert metric_lines(shown.text, "pushgate_notifications_accepted_total")
    finally:
        await guarded.close()
