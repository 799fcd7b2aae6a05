"""The storage contract of the registry, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pushgate.core.ids import new_id, now_ms
from pushgate.core.models import (
    App,
    Device,
    DeviceState,
    Platform,
    Provider,
    StoredCredential,
    Tenant,
    User,
)
from pushgate.errors import Conflict
from pushgate.wiring import Services


async def _tenant_and_app(services: Services, name: str = "acme") -> tuple[Tenant, App]:
    tenant = Tenant(new_id(), name, now_ms())
    await services.accounts.insert_tenant(tenant)
    at = now_ms()
    app = App(new_id(), tenant.id, "mobile", "", False, at, at)
    await services.accounts.insert_app(app)
    return tenant, app


def _device(tenant: Tenant, app: App, token: str, **changes: object) -> Device:
    at = now_ms()
    device = Device(
        id=new_id(),
        tenant_id=tenant.id,
        app_id=app.id,
        provider=Provider.APNS,
        token=token,
        keys=None,
        platform=Platform.IOS,
        user_id=None,
        locale=None,
        timezone=None,
        topics=["news"],
        tags=[],
        state_changed_at=at,
        created_at=at,
        updated_at=at,
    )
    return replace(device, **changes)  # type: ignore[arg-type]


async def test_instance_value_is_stored_once(services: Services) -> None:
    first = await services.accounts.instance_value("probe", "one")
    second = await services.accounts.instance_value("probe", "two")
    assert (first, second) == ("one", "one")


async def test_duplicate_names_conflict(services: Services) -> None:
    _, app = await _tenant_and_app(services)
    with pytest.raises(Conflict):
        await services.accounts.insert_tenant(Tenant(new_id(), "acme", now_ms()))
    with pytest.raises(Conflict):
        await services.accounts.insert_app(replace(app, id=new_id()))
    # The same app name in another tenant is fine.
    other = Tenant(new_id(), "other", now_ms())
    await services.accounts.insert_tenant(other)
    await services.accounts.insert_app(replace(app, id=new_id(), tenant_id=other.id))
    assert [a.name for a in await services.accounts.list_apps(other.id)] == ["mobile"]


async def test_app_name_by_id_follows_a_rename(services: Services) -> None:
    _, app = await _tenant_and_app(services)
    assert await services.accounts.app_name(app.id) == "mobile"
    await services.accounts.update_app(app.id, {"name": "phones"})
    assert await services.accounts.app_name(app.id) == "phones"
    assert await services.accounts.app_name(new_id()) is None


async def test_credentials_replace_and_delete(services: Services) -> None:
    _, app = await _tenant_and_app(services)
    first = StoredCredential(app.id, "apns", {"team_id": "A"}, {"private_key": "aa"}, b"x", 1)
    await services.accounts.put_credential(first)
    await services.accounts.put_credential(replace(first, public={"team_id": "B"}, sealed=b"y"))
    stored = await services.accounts.list_credentials(app.id)
    assert [(c.kind, c.public, c.sealed) for c in stored] == [("apns", {"team_id": "B"}, b"y")]
    # What a sender checks before each batch: the version, and the pause when there is one.
    assert await services.accounts.credential_version(app.id, "apns") == (1, None, None)
    assert await services.accounts.credential_version(app.id, "fcm") is None
    await services.notifications.pause_credentials(app.id, "apns", "bad key", 5)
    assert await services.accounts.credential_version(app.id, "apns") == (1, 5, "bad key")
    await services.accounts.put_credential(replace(first, updated_at=7))
    assert await services.accounts.credential_version(app.id, "apns") == (7, None, None)
    assert await services.accounts.delete_credential(app.id, "apns")
    assert not await services.accounts.delete_credential(app.id, "apns")
    assert await services.accounts.credential_version(app.id, "apns") is None


async def test_user_upsert_updates_only_named_fields(services: Services) -> None:
    tenant, _ = await _tenant_and_app(services)
    at = now_ms()
    user = User(new_id(), tenant.id, "u-1", "de", "Europe/Berlin", {"a": 1}, at, at)
    made, created = await services.people.upsert_user(user, fields=[])
    assert created
    again, created = await services.people.upsert_user(
        replace(user, id=new_id(), locale="fr", timezone=None), fields=["locale"]
    )
    assert not created
    assert again.id == made.id
    assert (again.locale, again.timezone, again.attributes) == ("fr", "Europe/Berlin", {"a": 1})


async def test_device_upsert_refreshes_same_token(services: Services) -> None:
    tenant, app = await _tenant_and_app(services)
    first, created = await services.people.save_device(_device(tenant, app, "aa" * 32))
    assert created
    await services.people.set_device_state(first.id, DeviceState.INVALID, "Unregistered", 5)
    second, created = await services.people.save_device(
        _device(tenant, app, "aa" * 32, topics=["sports"])
    )
    assert not created
    assert second.id == first.id
    assert second.topics == ["sports"]
    assert second.state is DeviceState.ACTIVE  # registering again revives it
    assert second.created_at == first.created_at


async def test_token_change_moves_the_registration(services: Services) -> None:
    tenant, app = await _tenant_and_app(services)
    old, _ = await services.people.save_device(_device(tenant, app, "aa" * 32))
    moved, created = await services.people.save_device(
        _device(tenant, app, "bb" * 32), old_token="aa" * 32
    )
    assert not created
    assert moved.id == old.id
    assert moved.token == "bb" * 32
    assert await services.people.device_by_token(app.id, "apns", "aa" * 32) is None
    history = await services.people.token_history(old.id)
    assert [(h.old_token, h.new_token) for h in history] == [("aa" * 32, "bb" * 32)]


async def test_token_change_onto_existing_token_retires_the_old_row(services: Services) -> None:
    tenant, app = await _tenant_and_app(services)
    old, _ = await services.people.save_device(_device(tenant, app, "aa" * 32))
    existing, _ = await services.people.save_device(_device(tenant, app, "bb" * 32))
    moved, _ = await services.people.save_device(
        _device(tenant, app, "bb" * 32), old_token="aa" * 32
    )
    assert moved.id == existing.id
    retired = await services.people.device_by_id(tenant.id, old.id)
    assert retired is not None
    assert retired.state is DeviceState.UNREGISTERED
    assert retired.state_reason == "token replaced"


async def test_delete_user_unregisters_devices(services: Services) -> None:
    tenant, app = await _tenant_and_app(services)
    at = now_ms()
    user, _ = await services.people.upsert_user(
        User(new_id(), tenant.id, "u-1", None, None, {}, at, at), fields=[]
    )
    device, _ = await services.people.save_device(_device(tenant, app, "cc" * 32, user_id=user.id))
    await services.people.delete_user(user.id, now_ms())
    after = await services.people.device_by_id(tenant.id, device.id)
    assert after is not None
    assert (after.state, after.user_id) == (DeviceState.UNREGISTERED, None)
    assert await services.people.user_by_id(user.id) is None


async def test_bulk_upsert_and_ensure_users(services: Services) -> None:
    tenant, app = await _tenant_and_app(services)
    ids = await services.people.ensure_users(tenant.id, ["a", "b", "a"], now_ms())
    assert sorted(ids) == ["a", "b"]
    again = await services.people.ensure_users(tenant.id, ["b", "c"], now_ms())
    assert again["b"] == ids["b"]
    items = [_device(tenant, app, f"{i:064x}", user_id=ids["a"]) for i in range(250)]
    await services.people.upsert_devices(items)
    await services.people.upsert_devices([replace(items[0], id=new_id(), topics=["x"])])
    listed = await services.people.list_devices(tenant.id, {"app_id": app.id}, None, 500)
    assert len(listed) == 250
    refreshed = await services.people.device_by_token(app.id, "apns", items[0].token)
    assert refreshed is not None
    assert (refreshed.id, refreshed.topics) == (items[0].id, ["x"])


async def test_device_listing_pages_by_id(services: Services) -> None:
    tenant, app = await _tenant_and_app(services)
    for i in range(7):
        await services.people.save_device(_device(tenant, app, f"{i:064x}"))
    seen: list[str] = []
    after = None
    while True:
        page = await services.people.list_devices(tenant.id, {}, after, 3)
        seen += [d.id for d in page]
        if len(page) < 3:
            break
        after = page[-1].id
    assert len(seen) == len(set(seen)) == 7
