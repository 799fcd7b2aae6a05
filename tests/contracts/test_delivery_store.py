"""The delivery side of the notification store, on SQLite and PostgreSQL alike: what a
fan-out page and a send batch read and write."""

from __future__ import annotations

from dataclasses import replace

from pushgate.core.ids import new_id, now_ms
from pushgate.core.models import Device, Provider, User
from pushgate.core.notification_input import Audience
from pushgate.core.notifications import (
    DeliveryResult,
    DeliveryState,
    DeviceAddress,
    Notification,
    NotificationState,
)
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


async def test_audience_pages_are_device_ids_and_providers_in_id_order(
    services: Services,
) -> None:
    notification_id, app_id, providers = await _setup(services)
    found = await services.notifications.notification(notification_id)
    assert found is not None
    store, everyone = services.notifications, Audience(everyone=True)
    first = await store.audience_page(everyone, found.tenant_id, app_id, None, 3)
    rest = await store.audience_page(everyone, found.tenant_id, app_id, first[-1][0], 3)
    assert first + rest == list(providers.items())


async def test_adding_a_page_twice_keeps_one_delivery_per_device(services: Services) -> None:
    notification_id, app_id, providers = await _setup(services)
    store = services.notifications
    targets = [item for item in providers.items() if item[1] == "apns"]
    made = await store.add_deliveries(notification_id, app_id, targets, now_ms())
    assert len(made) == 3
    assert {provider for _, provider in made} == {"apns"}
    # The page runs again (its worker died after writing it): the same deliveries come
    # back, and one already sent is no longer pending.
    await store.write_results([DeliveryResult(made[0][0], DeliveryState.SENT, 1)], now_ms())
    again = await store.add_deliveries(notification_id, app_id, targets, now_ms())
    assert sorted(again) == sorted(made[1:])
    counts = await store.counts(notification_id)
    assert sorted(counts) == [("apns", "pending", 2), ("apns", "sent", 1)]


async def test_due_deliveries_read_what_sending_needs_and_skip_what_is_not_due(
    services: Services,
) -> None:
    notification_id, app_id, providers = await _setup(services)
    store = services.notifications
    made = await store.add_deliveries(notification_id, app_id, list(providers.items()), now_ms())
    ids = [delivery_id for delivery_id, _ in made]
    done, waiting = [delivery_id for delivery_id, provider in made if provider == "apns"][:2]
    now = now_ms()
    await store.write_results(
        [
            DeliveryResult(done, DeliveryState.SENT, 1),
            DeliveryResult(waiting, DeliveryState.PENDING, 1, next_attempt_at=now + 60_000),
        ],
        now,
    )
    due = await store.due_deliveries(ids, now)
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
    later = await store.due_deliveries([waiting], now + 60_000)
    assert [(item.id, item.attempts) for item in later] == [(waiting, 1)]
