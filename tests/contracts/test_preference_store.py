"""The storage contract of preferences, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import sqlalchemy as sa

from pushgate.core.audience import DevicesAudience
from pushgate.core.ids import new_id, now_ms
from pushgate.core.models import App, Tenant, User
from pushgate.core.preferences import (
    Choice,
    DevicePreferences,
    PagePreferences,
    TypeChoice,
    UserPreferences,
)
from pushgate.storage.tables import devices
from pushgate.wiring import Services
from tests.contracts.test_registry_store import _device


async def _people(services: Services, name: str = "acme") -> tuple[Tenant, list[str], list[str]]:
    """A tenant with two users and a device of each: (tenant, user ids, device ids)."""
    tenant = Tenant(new_id(), name, now_ms())
    await services.accounts.insert_tenant(tenant)
    at = now_ms()
    app = App(new_id(), tenant.id, "mobile", "", False, at, at)
    await services.accounts.insert_app(app)
    users, devices = [], []
    for n, external_id in enumerate(["ann", "bob"]):
        user = User(new_id(), tenant.id, external_id, None, None, {}, at, at)
        saved, _ = await services.people.upsert_user(user, fields=[])
        users.append(saved.id)
        device = _device(tenant, app, f"{n:064x}", user_id=saved.id)
        stored, _ = await services.people.save_device(device)
        devices.append(stored.id)
    return tenant, users, devices


QUIET = {"start": "22:00", "end": "07:00", "urgent_passes": True}
ANN = UserPreferences(
    Choice.OUT,
    {"visit": TypeChoice(Choice.IN, ("apns",)), "alert": TypeChoice(None, ())},
    QUIET,
)


async def test_preferences_round_trip_and_defaults_leave_no_row(services: Services) -> None:
    store = services.preference_store
    tenant, (ann, _bob), (tablet, phone) = await _people(services)
    assert await store.user_preferences(ann) is None
    assert not await store.has_preferences(tenant.id)
    await store.put_user_preferences(tenant.id, ann, ANN, now_ms())
    assert await store.user_preferences(ann) == ANN
    assert await store.has_preferences(tenant.id)
    muted = DevicePreferences(True, ("visit",))
    await store.put_device_preferences(tenant.id, tablet, muted, now_ms())
    await store.put_device_preferences(tenant.id, phone, DevicePreferences(False), now_ms())
    assert await store.device_preferences(tablet) == muted
    assert await store.device_preferences(phone) == DevicePreferences(False, ())
    page = await _page_of(services, tenant.id, [tablet, phone])
    assert dict(page.users) == {ann: ANN}
    assert dict(page.devices) == {tablet: muted, phone: DevicePreferences(False, ())}
    # Storing the defaults forgets the row; with none left, the tenant has none.
    await store.put_user_preferences(tenant.id, ann, UserPreferences(), now_ms())
    await store.put_device_preferences(tenant.id, tablet, DevicePreferences(), now_ms())
    await store.put_device_preferences(tenant.id, phone, DevicePreferences(), now_ms())
    assert await store.user_preferences(ann) is None
    assert not await store.has_preferences(tenant.id)


async def test_a_page_reads_its_devices_users_and_zones_at_once(services: Services) -> None:
    """The audience page, and in the same read each device's user's preferences, the
    device's own, and the zone the device names, else its user's; devices with none of
    these are left out."""
    store = services.preference_store
    tenant = Tenant(new_id(), "acme", now_ms())
    await services.accounts.insert_tenant(tenant)
    at = now_ms()
    app = App(new_id(), tenant.id, "mobile", "", False, at, at)
    await services.accounts.insert_app(app)
    people = {}
    for name, zone in (("ann", "Europe/Berlin"), ("bob", None), ("cat", None)):
        user = User(new_id(), tenant.id, name, None, zone, {}, at, at)
        people[name] = (await services.people.upsert_user(user, fields=[]))[0].id
    owned = {
        "tablet": ("ann", None),
        "phone": ("ann", "Asia/Tokyo"),
        "bob-1": ("bob", None),
        "cat-1": ("cat", None),
    }
    ids = {}
    for n, (name, (owner, zone)) in enumerate(owned.items()):
        device = _device(tenant, app, f"{n:064x}", user_id=people[owner], timezone=zone)
        ids[name] = (await services.people.save_device(device))[0].id
    await store.put_user_preferences(tenant.id, people["ann"], ANN, now_ms())
    await store.put_user_preferences(tenant.id, people["bob"], ANN, now_ms())
    await store.put_device_preferences(tenant.id, ids["bob-1"], DevicePreferences(False), now_ms())
    members, page = await services.notifications.audience_page_with_preferences(
        DevicesAudience(devices=list(ids.values())), tenant.id, app.id, None, 100
    )
    # The page itself is the one audience_page reads.
    plain = await services.notifications.audience_page(
        DevicesAudience(devices=list(ids.values())), tenant.id, app.id, None, 100
    )
    assert members == plain
    assert len(members) == len(ids)
    assert dict(page.users) == {people["ann"]: ANN, people["bob"]: ANN}
    assert page.users[people["ann"]].quiet_hours == QUIET
    assert dict(page.devices) == {ids["bob-1"]: DevicePreferences(False, ())}
    assert dict(page.zones) == {ids["tablet"]: "Europe/Berlin", ids["phone"]: "Asia/Tokyo"}
    # Only the page's devices.
    _, only = await services.notifications.audience_page_with_preferences(
        DevicesAudience(devices=[ids["cat-1"], ids["bob-1"]]), tenant.id, app.id, None, 100
    )
    assert only == PagePreferences(
        {people["bob"]: ANN}, {ids["bob-1"]: DevicePreferences(False, ())}, {}
    )


async def test_preferences_go_with_their_user_and_device(services: Services) -> None:
    store = services.preference_store
    tenant, (ann, _bob), (tablet, _phone) = await _people(services)
    await store.put_user_preferences(tenant.id, ann, ANN, now_ms())
    await store.put_device_preferences(tenant.id, tablet, DevicePreferences(False), now_ms())
    await services.accounts.delete_tenant(tenant.id)
    assert await store.user_preferences(ann) is None
    assert await store.device_preferences(tablet) is None
    assert not await store.has_preferences(tenant.id)


async def _page_of(services: Services, tenant_id: str, device_ids: list[str]) -> PagePreferences:
    """The preferences read with the page of these devices (one app's)."""
    async with services.engine.connect() as connection:
        query = sa.select(devices.c.app_id).where(devices.c.id == device_ids[0])
        app_id = (await connection.execute(query)).scalar_one()
    _, found = await services.notifications.audience_page_with_preferences(
        DevicesAudience(devices=device_ids), tenant_id, app_id, None, 100
    )
    return found
