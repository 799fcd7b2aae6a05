"""The operational event store on SQLite and PostgreSQL alike: write, list newest first
with filters and paging, purge by age; an event written in another store's transaction
(a pause) commits with it, its webhook job too; the tenant's webhook sealed and opened."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa

from pushgate.core.access import Caller
from pushgate.core.credentials.webhook import WHSEC_PREFIX
from pushgate.core.ids import now_ms
from pushgate.core.inputs import OperationalWebhookInput
from pushgate.core.models import ApiKey, Scope, Sealed, StoredCredential, sealed_for
from pushgate.core.operational_events import (
    MAX_DETAILS_BYTES,
    SUBJECT_OF,
    EventKind,
    OperationalEvent,
    SubjectType,
)
from pushgate.core.secret_rotation import reseal_all
from pushgate.core.secretbox import SecretBox
from pushgate.delivery.jobs import OPS_WEBHOOK, read_ops_webhook
from pushgate.storage.tables import jobs, operational_events
from pushgate.wiring import Services
from tests.contracts.test_registry_store import _tenant_and_app

OPERATOR = Caller(ApiKey("cli", None, "cli", "", "", frozenset({Scope.ADMIN}), 0), "cli")


def newest_first(*events: OperationalEvent) -> list[str]:
    # UUIDv7 ids made in the same millisecond are ordered by their random bits.
    return sorted((e.id for e in events), reverse=True)


def test_every_kind_names_its_subject() -> None:
    assert set(SUBJECT_OF) == set(EventKind)
    assert set(SUBJECT_OF.values()) == set(SubjectType)


async def test_events_list_newest_first_by_tenant_kind_and_app(services: Services) -> None:
    tenant, app = await _tenant_and_app(services)
    other, other_app = await _tenant_and_app(services, "other")
    recorder = services.operational_events
    written = [
        recorder.new(EventKind.CREDENTIALS_PAUSED, app.id, tenant_id=tenant.id, app_id=app.id),
        recorder.new(EventKind.NOTIFICATION_FAILED, "n1", tenant_id=tenant.id, app_id=app.id),
        recorder.new(EventKind.JOB_DEAD_LETTERED, "j1", tenant_id=None, reason="x" * 2000),
        recorder.new(EventKind.CREDENTIALS_PAUSED, other_app.id, tenant_id=other.id),
        recorder.new(EventKind.CREDENTIALS_RESUMED, app.id, tenant_id=tenant.id, app_id=app.id),
    ]
    for event in written:
        await recorder.record(event)
    store = services.event_store

    mine = await store.list_events(tenant.id, None, None, None, 10)
    assert [e.id for e in mine] == newest_first(written[4], written[1], written[0])
    failed = next(e for e in mine if e.kind is EventKind.NOTIFICATION_FAILED)
    assert failed.subject_type is SubjectType.NOTIFICATION
    everyone = await store.list_events(None, None, None, None, 10)
    assert [e.id for e in everyone] == newest_first(*written)
    paused = await store.list_events(None, EventKind.CREDENTIALS_PAUSED, None, None, 10)
    assert [e.id for e in paused] == newest_first(written[3], written[0])
    by_app = await store.list_events(None, None, app.id, None, 10)
    assert [e.id for e in by_app] == newest_first(written[4], written[1], written[0])
    order = newest_first(*written)
    page = await store.list_events(None, None, None, order[1], 2)
    assert [e.id for e in page] == order[2:4]
    dead = await store.event(written[2].id)
    assert dead is not None
    assert dead.tenant_id is None
    assert len(dead.details["reason"]) == 512  # cut, not stored whole

    assert await store.purge_events(max(e.at for e in written) + 1) == 5
    assert await store.event(written[0].id) is None


async def test_details_past_the_bound_become_a_note(services: Services) -> None:
    event = services.operational_events.new(
        EventKind.JOB_DEAD_LETTERED, "j", tenant_id=None, **{f"k{i}": "y" * 500 for i in range(20)}
    )
    assert event.details["truncated"] is True
    assert len(str(event.details)) < MAX_DETAILS_BYTES


async def _paused_credentials(services: Services) -> tuple[str, str, str]:
    tenant, app = await _tenant_and_app(services)
    item = StoredCredential(app.id, "apns", {}, {}, b"sealed", now_ms())
    await services.accounts.put_credential(item)
    return tenant.id, app.id, tenant.name


async def test_a_pause_writes_its_event_once_and_with_it(services: Services) -> None:
    tenant_id, app_id, _ = await _paused_credentials(services)
    recorder = services.operational_events
    event = recorder.new(EventKind.CREDENTIALS_PAUSED, app_id, tenant_id=tenant_id)
    first = await recorder.prepare(event)
    assert first.jobs is None  # no webhook: no job
    store = services.notifications
    assert await store.pause_credentials(app_id, "apns", "refused", now_ms(), first.write)
    again = await recorder.prepare(
        recorder.new(EventKind.CREDENTIALS_PAUSED, app_id, tenant_id=tenant_id)
    )
    assert not await store.pause_credentials(app_id, "apns", "refused", now_ms(), again.write)
    listed = await services.event_store.list_events(tenant_id, None, None, None, 10)
    assert [e.id for e in listed] == [event.id]


async def test_with_a_webhook_the_event_queues_its_job_in_the_same_transaction(
    services: Services,
) -> None:
    tenant_id, app_id, _ = await _paused_credentials(services)
    tenant = await services.access.tenant_by_id(tenant_id)
    assert tenant is not None
    hooks = services.operational_webhooks
    secret = await hooks.configure(
        OPERATOR, tenant, OperationalWebhookInput(url="https://hooks.example.com/ops")
    )
    assert secret is not None
    assert secret.startswith(WHSEC_PREFIX)
    target = await hooks.target(tenant_id)
    assert target is not None
    assert (target.url, target.secret) == (
        "https://hooks.example.com/ops",
        secret,
    )
    assert any(
        s.owner == Sealed.OPERATIONAL_WEBHOOK for s in await services.accounts.sealed_secrets()
    )

    recorder = services.operational_events
    event = recorder.new(EventKind.CREDENTIALS_RESUMED, app_id, tenant_id=tenant_id)
    recording = await recorder.prepare(event)

    async def refused(connection: object) -> None:
        await recording.write(connection)
        raise RuntimeError("the transaction fails after the event's writes")

    await services.notifications.pause_credentials(app_id, "apns", "refused", now_ms())
    with pytest.raises(RuntimeError):
        await services.notifications.resume_credentials(app_id, "apns", refused)
    async with services.engine.connect() as connection:
        count = await connection.scalar(sa.select(sa.func.count()).select_from(operational_events))
        assert count == 0  # rolled back with the change it told of, and its job too
        assert await connection.scalar(sa.select(sa.func.count()).select_from(jobs)) == 0

    assert await services.notifications.resume_credentials(app_id, "apns", recording.write)
    await recording.committed()
    leased = await services.queue.lease(OPS_WEBHOOK, 5, 30)
    assert [read_ops_webhook(j.payload).event_id for j in leased] == [event.id]

    await hooks.configure(OPERATOR, tenant, None)
    assert await hooks.target(tenant_id) is None
    assert not (await recorder.prepare(event)).jobs


async def test_key_rotation_reseals_the_operational_webhook_secret(services: Services) -> None:
    tenant, _ = await _tenant_and_app(services)
    aad = sealed_for(tenant.id, Sealed.OPERATIONAL_WEBHOOK)
    old_key, new_key = secrets.token_bytes(32), secrets.token_bytes(32)
    sealed = SecretBox(old_key).seal(b"whsec_x", aad)
    await services.event_store.set_webhook(tenant.id, "https://hooks.example.com/", sealed)
    report = await reseal_all(services.accounts, SecretBox(new_key, previous_keys=[old_key]))
    assert (report.resealed, report.unreadable) == (1, [])
    found = await services.event_store.webhook_of(tenant.id)
    assert found is not None
    assert SecretBox(new_key).open(found[1], aad) == b"whsec_x"
