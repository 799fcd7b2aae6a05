"""Bulk import through the importer, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from pathlib import Path

from pushgate.cli.runtime import OPERATOR
from pushgate.core.device_import import DeviceImporter, read_rows
from pushgate.core.inputs import AppInput
from pushgate.core.models import DeviceState
from pushgate.core.units import UnitInput
from pushgate.wiring import Services
from tests.api.material import browser_subscription


async def _importer(services: Services, **options: object) -> DeviceImporter:
    tenant = await services.access.ensure_default_tenant()
    app = await services.registry.create_app(OPERATOR, tenant, AppInput(name="shop"))
    return DeviceImporter(services.registry, services.people, tenant, app, **options)  # type: ignore[arg-type]


async def _stored(services: Services) -> dict[str, tuple[str | None, list[str], str | None]]:
    """token → (user's external id, topics, locale) of every stored device."""
    tenant = await services.access.ensure_default_tenant()
    found = {}
    for device in await services.people.list_devices(tenant.id, {}, None, 500):
        assert device.state is DeviceState.ACTIVE
        user = await services.people.user_by_id(device.user_id) if device.user_id else None
        found[device.token] = (user.external_id if user else None, device.topics, device.locale)
    return found


async def test_csv_rows_across_batches(services: Services, tmp_path: Path) -> None:
    importer = await _importer(services, batch_size=3)
    tenant = importer.tenant
    await services.people.ensure_users(tenant.id, ["carol"], 1)
    carol = await services.people.user_by_external_id(tenant.id, "carol")
    assert carol is not None
    await services.people.set_alias(importer.app.id, "c-1", carol.id)
    source = tmp_path / "devices.csv"
    lines = [
        "provider,token,user,user_alias,locale,topics",
        f"apns,{'AB' * 32},alice,,de-DE,news sports",
        f"apns,{'cd' * 32},bob,,,",
        "apns,not-hex,bob,,,",
        f"apns,{'ab' * 32},alice,,fr,alerts",  # the same token again: the later row wins
        f"fcm,{'f' * 20},,c-1,,",
        f"fcm,{'e' * 20},,nobody,,",
        f"fcm,{'d' * 20},,,xx-!!,",
        f"hms,{'h' * 20},dave,,,",
    ]
    source.write_text("\n".join(lines) + "\n")
    report = await importer.run(read_rows(source))
    assert (report.accepted, report.rejected) == (5, 3)
    assert sorted(report.rejections) == [
        (4, "token: an APNs device token is an even number of hex digits (16-200)"),
        (7, "user_alias: 'nobody' is not an alias in the app"),
        (8, "locale: String should match pattern '^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}$'"),
    ]
    assert await _stored(services) == {
        "ab" * 32: ("alice", ["alerts"], "fr"),
        "cd" * 32: ("bob", [], None),
        "f" * 20: ("carol", [], None),
        "h" * 20: ("dave", [], None),
    }
    users = await services.people.list_users(tenant.id, None, 10)
    assert sorted(u.external_id for u in users) == ["alice", "bob", "carol", "dave"]


async def test_jsonl_rows_through_the_full_path_and_dry_run(
    services: Services, tmp_path: Path
) -> None:
    subscription = browser_subscription("https://push.example.com/sub/" + "a" * 20)
    rows = [
        {"provider": "webpush", "subscription": subscription.as_json(), "user": "erin"},
        {"provider": "apns", "token": "ab" * 32, "old_token": "cd" * 32},
        {"provider": "apns", "token": "ab" * 32, "tags": ["vip"], "topics": None},
        {"provider": "apns", "token": "ab" * 32, "tags": ["vip"], "timezone": "Asia/Tokyo"},
    ]
    source = tmp_path / "devices.jsonl"
    source.write_text("\n".join(json.dumps(row) for row in rows) + "\n")

    dry = await (await _importer(services, dry_run=True)).run(read_rows(source))
    assert (dry.accepted, dry.rejected) == (2, 2)
    assert await _stored(services) == {}
    tenant = await services.access.ensure_default_tenant()
    assert await services.people.list_users(tenant.id, None, 10) == []

    app = await services.registry.app(tenant, "shop")
    report = await DeviceImporter(services.registry, services.people, tenant, app).run(
        read_rows(source)
    )
    assert (report.accepted, report.rejected) == (2, 2)
    assert [line for line, _ in report.rejections] == [2, 3]
    assert report.rejections[0][1] == "old_token: token moves are not supported in bulk import"
    stored = await services.people.list_devices(tenant.id, {}, None, 10)
    by_token = {d.token: d for d in stored}
    assert by_token[subscription.endpoint].keys == {
        "p256dh": subscription.p256dh,
        "auth": subscription.auth,
    }
    assert (by_token["ab" * 32].tags, by_token["ab" * 32].timezone) == (["vip"], "Asia/Tokyo")


async def test_a_row_that_is_not_unicode_text_is_rejected_alone(
    services: Services, tmp_path: Path
) -> None:
    # JSON's "\ud800" decodes to a lone surrogate, which is not text any database stores.
    source = tmp_path / "devices.jsonl"
    source.write_text(
        '{"provider": "apns", "token": "' + "aa" * 32 + '", "user": "ana"}\n'
        '{"provider": "apns", "token": "' + "bb" * 32 + '", "user": "bad\\ud800"}\n'
        '{"provider": "apns", "token": "' + "cc" * 32 + '", "app_version": "1\\ud800"}\n'
        '{"provider": "apns", "token": "' + "dd" * 32 + '", "user": "dan"}\n'
    )
    report = await (await _importer(services)).run(read_rows(source))
    assert (report.accepted, report.rejected) == (2, 2)
    assert [line for line, _ in report.rejections] == [2, 3]
    assert await _stored(services) == {"aa" * 32: ("ana", [], None), "dd" * 32: ("dan", [], None)}


async def test_a_row_keeps_what_it_does_not_give_and_a_blank_clears(
    services: Services, tmp_path: Path
) -> None:
    importer = await _importer(services)
    subscription = browser_subscription("https://push.example.com/sub/" + "b" * 20)
    first = tmp_path / "first.jsonl"
    rows = [
        {"provider": "apns", "token": "aa" * 32, "user": "ann", "topics": ["news"], "locale": "fr"},
        {"provider": "apns", "token": "bb" * 32, "user": "bob", "topics": ["news"], "locale": "fr"},
        {"provider": "webpush", "subscription": subscription.as_json(), "user": "cid"},
    ]
    first.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    assert (await importer.run(read_rows(first))).accepted == 3
    # A CSV without a user column keeps the users; its blank locale cell clears.
    second = tmp_path / "second.csv"
    second.write_text(f"provider,token,locale,topics\napns,{'aa' * 32},,sports\n")
    assert (await importer.run(read_rows(second))).accepted == 1
    # JSON lines: absent keeps, null clears, on the fast path and the full one (Web Push).
    third = tmp_path / "third.jsonl"
    rows = [
        {"provider": "apns", "token": "bb" * 32, "user": None},
        {"provider": "webpush", "subscription": subscription.as_json(), "locale": "it"},
    ]
    third.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    assert (await importer.run(read_rows(third))).accepted == 2
    assert await _stored(services) == {
        "aa" * 32: ("ann", ["sports"], None),
        "bb" * 32: (None, ["news"], "fr"),
        subscription.endpoint: ("cid", [], "it"),
    }


async def test_rows_put_their_users_in_units(services: Services, tmp_path: Path) -> None:
    """A ``unit`` column puts the row's user in a unit of the tenant; a blank cell in none;
    an unknown unit, or a unit without a user, rejects the row alone."""
    tenant = await services.access.ensure_default_tenant()
    for key in ("north", "south"):
        await services.units.create(OPERATOR, tenant, UnitInput(key=key, name=key))
    importer = await _importer(services, unit_keys=frozenset({"north", "south"}))
    source = tmp_path / "units.csv"
    source.write_text(
        "provider,token,user,unit\n"
        f"fcm,{'a' * 40},ann,north\n"
        f"fcm,{'b' * 40},bob,south\n"
        f"fcm,{'c' * 40},cid,nowhere\n"
        f"fcm,{'d' * 40},,north\n"
        f"fcm,{'e' * 40},bob,\n"
    )
    report = await importer.run(read_rows(source))
    assert (report.accepted, report.rejected) == (3, 2)
    assert [line for line, _ in report.rejections] == [4, 5]
    units = {u.external_id: u.unit for u in await services.people.list_users(tenant.id, None, 10)}
    assert units == {"ann": "north", "bob": None}
