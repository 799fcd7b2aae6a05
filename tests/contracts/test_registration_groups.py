"""Group commit of device registrations, on SQLite and PostgreSQL alike.

Concurrent registrations share a transaction; each still gets its own answer, only after
its write is committed, and a bad one fails alone.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
import sqlalchemy as sa

from pushgate.core.ids import new_id
from pushgate.core.models import App, Device, Tenant
from pushgate.errors import Conflict
from pushgate.storage.engine import create_engine
from pushgate.storage.tables import devices, users
from pushgate.wiring import Services
from tests.contracts.test_registry_store import _device as registry_device
from tests.contracts.test_registry_store import _tenant_and_app


def _device(tenant: Tenant, app: App, number: int, **changes: object) -> Device:
    return registry_device(tenant, app, f"{number:064x}", **{"locale": "de-DE", **changes})


async def _committed_rows(services: Services, query: sa.Select[tuple[str]]) -> set[str]:
    """What another connection pool sees: only committed rows."""
    engine = create_engine(services.settings.effective_database_url)
    try:
        async with engine.connect() as connection:
            return {row[0] for row in await connection.execute(query)}
    finally:
        await engine.dispose()


async def test_concurrent_registrations_share_groups_and_are_committed(
    services: Services,
) -> None:
    tenant, app = await _tenant_and_app(services)
    groups_before = services.people.registrations.groups
    made = await asyncio.gather(
        *(
            services.people.save_device(_device(tenant, app, n), user_external_id=f"u-{n % 3}")
            for n in range(20)
        )
    )
    assert all(created for _, created in made)
    assert services.people.registrations.groups - groups_before < 20
    tokens = {device.token for device, _ in made}
    assert tokens == {f"{n:064x}" for n in range(20)}
    stored = await _committed_rows(services, sa.select(devices.c.token))
    assert stored == tokens
    # Each answer carries its own user; users named by many are made once.
    user_ids = {device.token: device.user_id for device, _ in made}
    assert len({user_ids[f"{n:064x}"] for n in range(20)}) == 3
    names = await _committed_rows(services, sa.select(users.c.external_id))
    assert names == {"u-0", "u-1", "u-2"}
    for device, _ in made:
        read = await services.people.device_by_id(tenant.id, device.id)
        assert read == device


async def test_a_bad_registration_fails_alone(services: Services) -> None:
    tenant, app = await _tenant_and_app(services)
    retried_before = services.people.registrations.retried_alone
    # A user id that exists nowhere breaks the foreign key: only this write is bad.
    bad = _device(tenant, app, 2, user_id=new_id())
    first, failed, last = await asyncio.gather(
        services.people.save_device(_device(tenant, app, 1), user_external_id="alice"),
        services.people.save_device(bad),
        services.people.save_device(_device(tenant, app, 3)),
        return_exceptions=True,
    )
    assert isinstance(failed, Conflict)
    assert failed.code == "conflict"
    assert not isinstance(first, BaseException)
    assert not isinstance(last, BaseException)
    assert first[1]
    assert last[1]
    # They were written in one group, which failed and was retried write by write.
    assert services.people.registrations.retried_alone - retried_before == 3
    stored = await _committed_rows(services, sa.select(devices.c.token))
    assert stored == {f"{1:064x}", f"{3:064x}"}
    assert await _committed_rows(services, sa.select(users.c.external_id)) == {"alice"}


async def test_the_same_token_twice_in_a_group_is_written_in_order(services: Services) -> None:
    tenant, app = await _tenant_and_app(services)
    (first, first_created), (second, second_created) = await asyncio.gather(
        services.people.save_device(_device(tenant, app, 7, topics=["a"])),
        services.people.save_device(_device(tenant, app, 7, topics=["b"], locale="fr")),
    )
    assert (first_created, second_created) == (True, False)
    assert second.id == first.id
    assert (second.topics, second.locale, second.created_at) == (["b"], "fr", first.created_at)
    stored = await services.people.device_by_token(app.id, "apns", f"{7:064x}")
    assert stored == second


async def test_registering_again_keeps_identity_and_user(services: Services) -> None:
    tenant, app = await _tenant_and_app(services)
    made, created = await services.people.save_device(
        _device(tenant, app, 9), user_external_id="bob"
    )
    again, created_again = await services.people.save_device(
        _device(tenant, app, 9, topics=["x"]), user_external_id="bob"
    )
    assert (created, created_again) == (True, False)
    assert (again.id, again.user_id, again.created_at) == (made.id, made.user_id, made.created_at)
    assert again.topics == ["x"]
    bob = await services.people.user_by_external_id(tenant.id, "bob")
    assert bob is not None
    assert bob.id == made.user_id


async def test_an_unknown_app_is_a_conflict_for_that_write_only(services: Services) -> None:
    tenant, app = await _tenant_and_app(services)
    gone = replace(app, id=new_id())
    results = await asyncio.gather(
        services.people.save_device(_device(tenant, gone, 1)),
        services.people.save_device(_device(tenant, app, 2)),
        return_exceptions=True,
    )
    assert isinstance(results[0], Conflict)
    assert not isinstance(results[1], BaseException)
    with pytest.raises(Conflict):
        await services.people.save_device(_device(tenant, gone, 3))
    assert await _committed_rows(services, sa.select(devices.c.token)) == {f"{2:064x}"}


async def test_writes_of_one_group_keep_each_their_own_fields(services: Services) -> None:
    tenant, app = await _tenant_and_app(services)
    made = [
        (await services.people.save_device(_device(tenant, app, n), user_external_id="ann"))[0]
        for n in range(4)
    ]
    keeps: list[frozenset[str]] = [
        frozenset({"locale", "user_id"}),
        frozenset({"locale"}),
        frozenset(),
        frozenset({"locale", "user_id"}),
    ]
    # Refreshed together, the same token twice among them: a group whose writes keep
    # different columns (PostgreSQL writes it in several statements per round).
    writes = [*range(4), 0]
    groups_before = services.people.registrations.groups
    answers = await asyncio.gather(
        *(
            services.people.save_device(
                _device(tenant, app, n, locale="fr", topics=[f"t{i}"]), kept=keeps[n]
            )
            for i, n in enumerate(writes)
        )
    )
    assert services.people.registrations.groups - groups_before == 1
    ann = made[0].user_id
    expected = [("de-DE", ann), ("de-DE", None), ("fr", None), ("de-DE", ann), ("de-DE", ann)]
    assert [(d.locale, d.user_id) for d, _ in answers] == expected
    assert [d.topics for d, _ in answers] == [[f"t{i}"] for i in range(5)]
    assert [d.id for d, _ in answers] == [*(d.id for d in made), made[0].id]
    assert not any(created for _, created in answers)
    for device, _ in answers[1:]:
        assert await services.people.device_by_id(tenant.id, device.id) == device


async def test_a_bulk_upsert_keeps_what_each_row_names(services: Services) -> None:
    tenant, app = await _tenant_and_app(services)
    first = [_device(tenant, app, n, topics=["a"]) for n in range(3)]
    await services.people.import_devices([(d, "ann", frozenset()) for d in first])
    keeps = [frozenset({"user_id", "topics"}), frozenset({"topics"}), frozenset()]
    again = [
        (_device(tenant, app, n, locale="fr", topics=["b"]), None, kept)
        for n, kept in enumerate([*keeps, frozenset({"topics"})])
    ]
    await services.people.import_devices(again)
    ann = await services.people.user_by_external_id(tenant.id, "ann")
    assert ann is not None
    found = {
        d.token: (d.locale, d.user_id, d.topics)
        for d in await services.people.list_devices(tenant.id, {}, None, 10)
    }
    assert found == {
        f"{0:064x}": ("fr", ann.id, ["a"]),
        f"{1:064x}": ("fr", None, ["a"]),
        f"{2:064x}": ("fr", None, ["b"]),
        f"{3:064x}": ("fr", None, ["b"]),  # new: as given
    }
