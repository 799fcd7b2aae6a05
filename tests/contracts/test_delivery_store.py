"""The delivery side of the notification store, on SQLite and PostgreSQL alike: what a
fan-out page and a send batch read and write."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from pushgate.core.audience import EveryoneAudience
from pushgate.core.ids import new_id, now_ms
from pushgate.core.models import Device, DeviceState, Provider, User
from pushgate.core.notifications import (
    AudienceMember,
    DeliveryResult,
    DeliveryState,
    DeviceAddress,
    Notification,
    NotificationState,
)
from pushgate.storage.delivery_writes import delivery_writes
from pushgate.storage.tables import deliveries
from pushgate.wiring import Services
from tests.contracts.test_registry_store import _device, _tenant_and_app

WEBPUSH_KEYS = {"p256dh": "BPub", "auth": "secret"}


async def _setup(services: Services) -> tuple[str, str, dict[str, str]]:
    """A notification to an app with three APNs devices and one Web Push device (owned by
    a user who reads French); returns (notification id, app id, provider by device id in
    id order)."""
    tenant, app = await _tenant_and_app(services)
    at = now_ms()
    owner = User(new_id(), tenant.id, "ana", "fr", None, {}, at, at)
    await services.people.upsert_user(owner, fields=("locale",))
    made = [_device(tenant, app, f"{n:064x}") for n in range(3)]
    made.append(
        replace(
            _device(tenant, app, "https://push.example/sub/1"),
            provider=Provider.WEBPUSH,
            keys=WEBPUSH_KEYS,
            locale="de",
            user_id=owner.id,
        )
    )
    await services.people.upsert_devices(made)
    notification = Notification(
        id=new_id(),
        tenant_id=tenant.id,
        app_id=app.id,
        idempotency_key=None,
        audience={"everyone": True},
        content={"body": "hi"},
        state=NotificationState.SENDING,
        targeted=len(made),
        fanout_done=False,
        send_at=None,
        expires_at=at + 3_600_000,
        created_at=at,
        updated_at=at,
    )
    await services.notifications.insert_notification(notification)
    return notification.id, app.id, {d.id: d.provider.value for d in sorted(made, key=_id)}


def _id(device: Device) -> str:
    return device.id


async def test_audience_pages_carry_what_a_first_send_needs_in_id_order(
    services: Services,
) -> None:
    notification_id, app_id, providers = await _setup(services)
    found = await services.notifications.notification(notification_id)
    assert found is not None
    store, everyone = services.notifications, EveryoneAudience(everyone=True)
    first = await store.audience_page(everyone, found.tenant_id, app_id, None, 3)
    rest = await store.audience_page(everyone, found.tenant_id, app_id, first[-1].device_id, 3)
    members = first + rest
    assert [(m.device_id, m.provider) for m in members] == list(providers.items())
    [webpush] = [m for m in members if m.provider == "webpush"]
    apns = [m for m in members if m.provider == "apns"]
    owner = await services.people.user_by_id(webpush.user_id or "")
    assert owner is not None
    assert owner.external_id == "ana"
    assert webpush == AudienceMember(
        webpush.device_id,
        "webpush",
        "https://push.example/sub/1",
        WEBPUSH_KEYS,
        "de",
        owner.id,
        "fr",
    )
    assert sorted(m.token for m in apns) == [f"{n:064x}" for n in range(3)]
    assert all(m[3:] == (None, None, None, None) for m in apns)


async def test_adding_a_page_twice_keeps_one_delivery_per_device(services: Services) -> None:
    notification_id, app_id, providers = await _setup(services)
    store = services.notifications
    targets = [item for item in providers.items() if item[1] == "apns"]
    added = await store.add_deliveries(notification_id, app_id, targets, now_ms())
    assert added.fresh
    made = added.pending
    assert len(made) == 3
    assert {provider for _, provider, _ in made} == {"apns"}
    assert [device for _, _, device in made] == [device for device, _ in targets]
    # The page runs again (its worker died after writing it): the same deliveries come
    # back, and one already sent is no longer pending.
    sent = [DeliveryResult(made[0][0], DeliveryState.SENT, 1)]
    await store.write_results(notification_id, "apns", sent, now_ms())
    again = await store.add_deliveries(notification_id, app_id, targets, now_ms())
    assert not again.fresh
    assert sorted(again.pending) == sorted(made[1:])
    counts = await store.counts(notification_id)
    assert sorted(counts) == [("apns", "pending", 2), ("apns", "sent", 1)]


async def test_due_deliveries_read_what_sending_needs_and_skip_what_is_not_due(
    services: Services,
) -> None:
    notification_id, app_id, providers = await _setup(services)
    store = services.notifications
    added = await store.add_deliveries(notification_id, app_id, list(providers.items()), now_ms())
    made = added.pending
    ids = [delivery_id for delivery_id, _, _ in made]
    done, waiting = [delivery_id for delivery_id, provider, _ in made if provider == "apns"][:2]
    now = now_ms()
    await store.write_results(
        notification_id,
        "apns",
        [
            DeliveryResult(done, DeliveryState.SENT, 1),
            DeliveryResult(waiting, DeliveryState.PENDING, 1, next_attempt_at=now + 60_000),
        ],
        now,
    )
    due, gone = await store.due_deliveries(ids, now)
    assert gone == []
    assert sorted(item.id for item in due) == sorted(set(ids) - {done, waiting})
    webpush = next(item for item in due if item.provider == "webpush")
    owner = await services.people.user_by_id(webpush.device.user_id or "")
    assert owner is not None
    assert owner.external_id == "ana"
    assert webpush.device == DeviceAddress(
        webpush.device.id, "https://push.example/sub/1", WEBPUSH_KEYS, "de", owner.id
    )
    assert webpush.user_locale == "fr"
    apns = [item for item in due if item.provider == "apns"]
    assert all(item.device.keys is None and item.user_locale is None for item in apns)
    # Once its time comes, the waiting retry is due too, with its attempt count.
    later, _ = await store.due_deliveries([waiting], now + 60_000)
    assert [(item.id, item.attempts) for item in later] == [(waiting, 1)]


async def _row(services: Services, delivery_id: str) -> dict[str, object]:
    async with services.engine.connect() as connection:
        found = await connection.execute(
            sa.select(deliveries).where(deliveries.c.id == delivery_id)
        )
        return dict(found.one()._mapping)


async def test_each_value_of_a_delivery_is_written_to_its_own_column(
    services: Services,
) -> None:
    # The writes lay their rows out by position (DELIVERY_COLUMNS, RESULT_COLUMNS): a
    # column moved without them would put values in the wrong columns.
    notification_id, app_id, providers = await _setup(services)
    store = services.notifications
    device_id, provider = next(iter(providers.items()))
    made = await store.add_deliveries(notification_id, app_id, [(device_id, provider)], 1000)
    [(delivery_id, _, _)] = made.pending
    first = {
        "id": delivery_id,
        "notification_id": notification_id,
        "device_id": device_id,
        "app_id": app_id,
        "provider": provider,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": None,
        "reason": None,
        "status": None,
        "provider_message_id": None,
        "created_at": 1000,
        "updated_at": 1000,
    }
    assert await _row(services, delivery_id) == first
    retry = DeliveryResult(delivery_id, DeliveryState.PENDING, 2, 5000, "busy", 503, "m-1")
    await store.write_results(notification_id, provider, [retry], 2000)
    written = {"attempts": 2, "next_attempt_at": 5000, "reason": "busy", "status": 503}
    written |= {"provider_message_id": "m-1", "updated_at": 2000}
    assert await _row(services, delivery_id) == first | written


async def _counted(services: Services, notification_id: str) -> list[tuple[str, str, int]]:
    """The notification's deliveries counted from their rows, to hold the kept counts to."""
    async with services.engine.connect() as connection:
        found = await connection.execute(
            sa.select(deliveries.c.provider, deliveries.c.state, sa.func.count())
            .where(deliveries.c.notification_id == notification_id)
            .group_by(deliveries.c.provider, deliveries.c.state)
        )
        return sorted((p, s, int(n)) for p, s, n in found)


async def test_kept_counts_follow_every_change_of_the_deliveries(services: Services) -> None:
    notification_id, app_id, providers = await _setup(services)
    store = services.notifications

    async def check(expected: list[tuple[str, str, int]]) -> None:
        assert sorted(await store.counts(notification_id)) == expected
        assert await _counted(services, notification_id) == expected

    added = await store.add_deliveries(notification_id, app_id, list(providers.items()), now_ms())
    made = added.pending
    await check([("apns", "pending", 3), ("webpush", "pending", 1)])
    apns = [delivery_id for delivery_id, provider, _ in made if provider == "apns"]
    webpush = [delivery_id for delivery_id, provider, _ in made if provider == "webpush"]
    now = now_ms()
    # Each write answers how many of the notification's deliveries are left pending.
    left = await store.write_results(
        notification_id,
        "apns",
        [
            DeliveryResult(apns[0], DeliveryState.SENT, 1),
            DeliveryResult(apns[1], DeliveryState.PENDING, 1, next_attempt_at=now + 1_000),
            DeliveryResult(apns[2], DeliveryState.INVALID, 1, reason="BadDeviceToken"),
        ],
        now,
    )
    assert left == 2
    await check(
        [
            ("apns", "invalid", 1),
            ("apns", "pending", 1),
            ("apns", "sent", 1),
            ("webpush", "pending", 1),
        ]
    )
    # A page run twice adds nothing; a result written twice (a job leased again) moves
    # nothing twice.
    await store.add_deliveries(notification_id, app_id, list(providers.items()), now_ms())
    await store.write_results(
        notification_id, "apns", [DeliveryResult(apns[0], DeliveryState.SENT, 1)], now_ms()
    )
    await check(
        [
            ("apns", "invalid", 1),
            ("apns", "pending", 1),
            ("apns", "sent", 1),
            ("webpush", "pending", 1),
        ]
    )
    # Canceled while its batch was out: the late result does not undo the cancel.
    assert await store.finish_pending(notification_id, DeliveryState.CANCELED, "canceled", now) == 2
    await check(
        [
            ("apns", "canceled", 1),
            ("apns", "invalid", 1),
            ("apns", "sent", 1),
            ("webpush", "canceled", 1),
        ]
    )
    late = [DeliveryResult(webpush[0], DeliveryState.SENT, 1)]
    assert await store.write_results(notification_id, "webpush", late, now_ms()) == 0
    await check(
        [
            ("apns", "canceled", 1),
            ("apns", "invalid", 1),
            ("apns", "sent", 1),
            ("webpush", "canceled", 1),
        ]
    )
    # Purged with their notification.
    assert await store.purge(now_ms() + 1) == 1
    assert await store.counts(notification_id) == []


async def test_a_delivery_whose_device_stopped_being_active_is_read_back_apart(
    services: Services,
) -> None:
    notification_id, app_id, providers = await _setup(services)
    store = services.notifications
    added = await store.add_deliveries(notification_id, app_id, list(providers.items()), now_ms())
    made = added.pending
    first_device = next(iter(providers))
    await services.people.set_device_state(first_device, DeviceState.INVALID, "gone", now_ms())
    due, gone = await store.due_deliveries([delivery_id for delivery_id, _, _ in made], now_ms())
    assert len(due) == 3
    assert first_device not in {item.device.id for item in due}
    [(delivery_id, provider, attempts, reason)] = gone
    assert (provider, attempts, reason) == (providers[first_device], 0, "device invalid")
    listed = await store.list_deliveries(notification_id, None, None, 10)
    assert {(r.id, r.device_id) for r in listed if r.id == delivery_id} == {
        (delivery_id, first_device)
    }


async def test_delivery_writes_report_exactly_the_rows_they_changed(services: Services) -> None:
    """The kept counts move by these numbers, so both engines must report them: SQLite's
    executemany row count, PostgreSQL's status of one statement over arrays."""
    notification_id, app_id, providers = await _setup(services)
    writes = delivery_writes(services.engine.dialect)
    at = now_ms()
    fresh = [
        (new_id(), notification_id, device, app_id, kind, "pending", 0, *[None] * 4, at, at)
        for device, kind in providers.items()
    ]
    results = [("sent", 1, None, None, 200, None, at, row[0]) for row in fresh[:3]]
    async with services.engine.begin() as connection:
        assert await writes.insert(connection, fresh) == 4
        assert await writes.insert(connection, fresh[:2]) == 0  # same devices: kept
        assert await writes.write_results(connection, results) == 3
        assert await writes.write_results(connection, results) == 0  # no longer pending
