"""The response store on SQLite and PostgreSQL alike: record once (or per answer), read,
list, count, settle, and go with the notification."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pushgate.core.actions import ActionResponse, ResponseState
from pushgate.core.ids import new_id, now_ms
from pushgate.core.models import User
from pushgate.core.notifications import Notification, NotificationState
from pushgate.core.responses import HandlerResult, Handling, StoredResponse
from pushgate.delivery.jobs import RESPOND, read_respond
from pushgate.errors import InvalidInput, NotFound
from pushgate.storage.tables import jobs
from pushgate.wiring import Services
from tests.contracts.test_registry_store import _device, _tenant_and_app


async def _notification(services: Services) -> tuple[Notification, str]:
    tenant, app = await _tenant_and_app(services)
    at = now_ms()
    notification = Notification(
        id=new_id(),
        tenant_id=tenant.id,
        app_id=app.id,
        idempotency_key=None,
        audience={"everyone": True},
        content={"title": "Change 42"},
        state=NotificationState.SENDING,
        targeted=1,
        fanout_done=True,
        send_at=None,
        expires_at=at + 3_600_000,
        created_at=at,
        updated_at=at,
    )
    await services.notifications.insert_notification(notification)
    return notification, app.name


def _answer(
    notification: Notification, app: str, delivery_id: str, action_id: str, key: str = "approve"
) -> StoredResponse:
    response = ActionResponse(
        id=new_id(),
        tenant_id=notification.tenant_id,
        app=app,
        notification_id=notification.id,
        delivery_id=delivery_id,
        device_id=new_id(),
        user_id=None,
        action_id=action_id,
        action_key=key,
        input="looks good",
        data={"change": 42},
        received_at=now_ms(),
    )
    return StoredResponse(response, notification.app_id)


async def _respond_jobs(services: Services) -> list[str]:
    async with services.engine.connect() as connection:
        rows = await connection.execute(sa.select(jobs.c.payload).where(jobs.c.kind == RESPOND))
        return [read_respond(bytes(row.payload)).response_id for row in rows]


async def test_a_response_is_stored_with_its_job_and_read_back(services: Services) -> None:
    notification, app = await _notification(services)
    item = _answer(notification, app, new_id(), new_id())
    recorded = await services.response_recorder.record(item, allow_repeats=False)
    assert recorded.created
    assert recorded.response == item  # every field, the app's name read back by join
    assert await services.responses.response(item.id) == item
    assert await _respond_jobs(services) == [item.id]


async def test_a_second_answer_gets_the_first_with_its_result_and_no_job(
    services: Services,
) -> None:
    notification, app = await _notification(services)
    delivery, action = new_id(), new_id()
    first = _answer(notification, app, delivery, action)
    await services.response_recorder.record(first, allow_repeats=False)
    done = Handling(ResponseState.SUCCEEDED, HandlerResult(status=200), 1, now_ms())
    assert await services.responses.settle(first.id, done)
    again = await services.response_recorder.record(
        _answer(notification, app, delivery, action, "approve"), allow_repeats=False
    )
    assert not again.created
    assert again.response.id == first.id
    assert again.response.state is ResponseState.SUCCEEDED
    assert again.response.result == HandlerResult(status=200)
    assert await _respond_jobs(services) == [first.id]
    # Another action taken once, on the same delivery, gets the first answer too: one
    # delivery keeps one such answer (Approve, then Reject, must not both run).
    other = await services.response_recorder.record(
        _answer(notification, app, delivery, new_id(), "reject"), allow_repeats=False
    )
    assert not other.created
    assert other.response.id == first.id
    assert other.response.response.action_key == "approve"
    # A repeatable action's answers are their own beside it.
    snooze = await services.response_recorder.record(
        _answer(notification, app, delivery, new_id(), "snooze"), allow_repeats=True
    )
    assert snooze.created
    assert await _respond_jobs(services) == [first.id, snooze.response.id]


async def test_an_action_that_allows_repeats_keeps_every_answer(services: Services) -> None:
    notification, app = await _notification(services)
    delivery, action = new_id(), new_id()
    made = [_answer(notification, app, delivery, action, "snooze") for _ in range(3)]
    for item in made:
        assert (await services.response_recorder.record(item, allow_repeats=True)).created
    # Newest first: ids are UUIDv7 (answers within one millisecond by their random bits).
    newest_first = sorted((r.id for r in made), reverse=True)
    listed = await services.responses.list_for(notification.id, None, 10)
    assert [r.id for r in listed] == newest_first
    first_page = await services.responses.list_for(notification.id, None, 2)
    rest = await services.responses.list_for(notification.id, first_page[-1].id, 2)
    assert [r.id for r in first_page + rest] == newest_first
    assert sorted(await _respond_jobs(services)) == sorted(r.id for r in made)


async def test_counts_per_action_key_and_state(services: Services) -> None:
    notification, app = await _notification(services)
    action = new_id()
    approvals = [_answer(notification, app, new_id(), action) for _ in range(3)]
    rejection = _answer(notification, app, new_id(), new_id(), "reject")
    for item in [*approvals, rejection]:
        await services.responses.record(item, allow_repeats=False)
    failed = Handling(ResponseState.FAILED, HandlerResult(error="no"), 1, now_ms())
    await services.responses.settle(approvals[0].id, failed)
    assert await services.responses.counts(notification.id) == [
        ("approve", "failed", 1),
        ("approve", "pending", 2),
        ("reject", "pending", 1),
    ]


async def test_a_settled_response_is_not_settled_again(services: Services) -> None:
    notification, app = await _notification(services)
    item = _answer(notification, app, new_id(), new_id())
    await services.responses.record(item, allow_repeats=False)
    at = now_ms()
    retry = Handling(ResponseState.PENDING, HandlerResult(status=503), 1, at, at + 2000)
    assert await services.responses.settle(item.id, retry)
    waiting = await services.responses.response(item.id)
    assert waiting is not None
    assert (waiting.state, waiting.attempts, waiting.next_attempt_at) == (
        ResponseState.PENDING,
        1,
        at + 2000,
    )
    assert waiting.handled_at is None
    done = Handling(ResponseState.SUCCEEDED, HandlerResult(status=200), 2, at + 2500)
    assert await services.responses.settle(item.id, done)
    late = Handling(ResponseState.FAILED, HandlerResult(error="late"), 2, at + 3000)
    assert not await services.responses.settle(item.id, late)
    final = await services.responses.response(item.id)
    assert final is not None
    assert (final.state, final.handled_at, final.next_attempt_at) == (
        ResponseState.SUCCEEDED,
        at + 2500,
        None,
    )


async def test_a_failed_transaction_leaves_neither_response_nor_job(services: Services) -> None:
    notification, app = await _notification(services)
    item = _answer(notification, app, new_id(), new_id())

    async def broken(connection: AsyncConnection) -> None:
        raise RuntimeError("the queue's write failed")

    with pytest.raises(RuntimeError):
        await services.responses.record(item, allow_repeats=False, within=broken)
    assert await services.responses.response(item.id) is None


async def test_responses_go_with_their_notification(services: Services) -> None:
    notification, app = await _notification(services)
    item = _answer(notification, app, new_id(), new_id())
    await services.responses.record(item, allow_repeats=False)
    await services.notifications.purge(notification.created_at + 1)
    assert await services.responses.response(item.id) is None


async def test_input_and_data_are_bounded(services: Services) -> None:
    notification, app = await _notification(services)
    item = _answer(notification, app, new_id(), new_id())
    long_input = replace(item, response=replace(item.response, input="x" * 2001))
    with pytest.raises(InvalidInput, match="input"):
        await services.response_recorder.record(long_input, allow_repeats=False)
    big_data = replace(item, response=replace(item.response, data={"x": "y" * 5000}))
    with pytest.raises(InvalidInput, match="data"):
        await services.response_recorder.record(big_data, allow_repeats=False)
    assert await services.responses.response(item.id) is None


async def test_answers_arriving_together_share_transactions_and_keep_once_per_push(
    services: Services,
) -> None:
    notification, app = await _notification(services)
    action = new_id()
    # 37 answers of as many pushes (inserts of 32, 4 and 1 rows), and one push answered
    # twice in the same burst: the second gets the first.
    alone = [_answer(notification, app, new_id(), action) for _ in range(37)]
    shared = new_id()
    twice = [_answer(notification, app, shared, action) for _ in range(2)]
    groups = services.responses.record_groups.groups
    results = await asyncio.gather(
        *(services.response_recorder.record(item, allow_repeats=False) for item in alone + twice)
    )
    assert services.responses.record_groups.groups - groups < len(results)
    assert all(result.created for result in results[: len(alone)])
    assert [result.created for result in results[len(alone) :]] == [True, False]
    first = results[len(alone)].response
    assert results[-1].response == first
    for item in alone:
        assert await services.responses.response(item.id) == item
    assert sorted(await _respond_jobs(services)) == sorted([i.id for i in alone] + [first.id])


async def test_a_response_keeps_its_devices_user(services: Services) -> None:
    notification, app_name = await _notification(services)
    tenant = await services.accounts.tenant_by_id(notification.tenant_id)
    app = await services.accounts.app_by_name(notification.tenant_id, app_name)
    assert tenant is not None
    assert app is not None
    at = now_ms()
    user, _ = await services.people.upsert_user(
        User(new_id(), tenant.id, "u-1", None, None, {}, at, at), fields=[]
    )
    owned, _ = await services.people.save_device(_device(tenant, app, "dd" * 32, user_id=user.id))
    alone, _ = await services.people.save_device(_device(tenant, app, "ee" * 32))
    answers = []
    for device in (owned, alone):
        item = _answer(notification, app_name, new_id(), new_id())
        answers.append(replace(item, response=replace(item.response, device_id=device.id)))
    owned_answer, alone_answer = [
        (await services.responses.record(item, allow_repeats=False))[0] for item in answers
    ]
    assert owned_answer.response.user_id == user.id
    assert alone_answer.response.user_id is None
    assert await services.responses.response(answers[0].id) == owned_answer


async def test_an_answer_to_a_deleted_notification_is_not_found(services: Services) -> None:
    notification, app = await _notification(services)
    await services.notifications.purge(notification.created_at + 1)
    item = _answer(notification, app, new_id(), new_id())
    with pytest.raises(NotFound, match="no longer exists"):
        await services.responses.record(item, allow_repeats=False)
