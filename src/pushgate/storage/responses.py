"""Queries for action responses (core/responses.py), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pushgate.core.actions import ActionResponse, ResponseState
from pushgate.core.ports import InTransaction
from pushgate.core.responses import HandlerResult, Handling, StoredResponse
from pushgate.storage.accounts import BaseStore
from pushgate.storage.tables import action_responses, apps

PENDING = ResponseState.PENDING.value
# The repeat key every answer to an action taken once shares, whichever action it is: a
# delivery keeps one such answer, so Approve and then Reject cannot both run
# (docs/actions.md, "Handlers"). A repeatable action's answers each key on their own id.
ONCE = "answer"
# The app's name comes along: it is what a handler is told (ActionResponse.app).
_READ = sa.select(action_responses, apps.c.name.label("app_name")).join(
    apps, apps.c.id == action_responses.c.app_id
)


def _values(item: StoredResponse, repeat_key: str) -> dict[str, Any]:
    response = item.response
    return {
        "id": response.id,
        "tenant_id": response.tenant_id,
        "app_id": item.app_id,
        "notification_id": response.notification_id,
        "delivery_id": response.delivery_id,
        "device_id": response.device_id,
        "user_id": response.user_id,
        "action_id": response.action_id,
        "action_key": response.action_key,
        "repeat_key": repeat_key,
        "input": response.input,
        "data": response.data,
        "state": item.state.value,
        "attempts": item.attempts,
        "result": None if item.result is None else item.result.as_json(),
        "created_at": response.received_at,
        "handled_at": item.handled_at,
        "next_attempt_at": item.next_attempt_at,
    }


def _stored(row: sa.Row[Any]) -> StoredResponse:
    response = ActionResponse(
        id=row.id,
        tenant_id=row.tenant_id,
        app=row.app_name,
        notification_id=row.notification_id,
        delivery_id=row.delivery_id,
        device_id=row.device_id,
        user_id=row.user_id,
        action_id=row.action_id,
        action_key=row.action_key,
        input=row.input,
        data=row.data,
        received_at=row.created_at,
    )
    return StoredResponse(
        response=response,
        app_id=row.app_id,
        state=ResponseState(row.state),
        attempts=row.attempts,
        result=None if row.result is None else HandlerResult.of_json(row.result),
        handled_at=row.handled_at,
        next_attempt_at=row.next_attempt_at,
    )


class ResponseStore(BaseStore):
    """Action responses: recorded once (or per answer, for repeatable actions), read,
    listed, counted and settled."""

    async def record(
        self, item: StoredResponse, *, allow_repeats: bool, within: InTransaction | None = None
    ) -> tuple[StoredResponse, bool]:
        repeat_key = item.id if allow_repeats else ONCE
        table = action_responses
        insert = (
            self.dialect_insert()(table)
            .values(_values(item, repeat_key))
            .on_conflict_do_nothing(index_elements=["delivery_id", "repeat_key"])
            .returning(table.c.id)
        )
        async with self.begin() as connection:
            inserted = (await connection.execute(insert)).first()
            if inserted is not None:
                if within is not None:
                    await within(connection)
                first = None
            else:
                # Read in the same transaction: the first response is committed (the
                # unique index made this insert wait for it on PostgreSQL).
                where = (table.c.delivery_id == item.response.delivery_id) & (
                    table.c.repeat_key == repeat_key
                )
                first = (await connection.execute(_READ.where(where))).first()
        if inserted is not None:
            # Stored as given: no read back (the app's name came with it).
            return item, True
        if first is None:  # deleted between the conflict and the read (its notification)
            raise LookupError(f"response to delivery {item.response.delivery_id} vanished")
        return _stored(first), False

    async def response(self, response_id: str) -> StoredResponse | None:
        row = await self.fetch_one(_READ.where(action_responses.c.id == response_id))
        return _stored(row) if row else None

    async def list_for(
        self, notification_id: str, before: str | None, limit: int
    ) -> list[StoredResponse]:
        table = action_responses
        query = _READ.where(table.c.notification_id == notification_id)
        if before is not None:
            query = query.where(table.c.id < before)
        rows = await self.fetch_all(query.order_by(table.c.id.desc()).limit(limit))
        return [_stored(row) for row in rows]

    async def counts(self, notification_id: str) -> list[tuple[str, str, int]]:
        table = action_responses
        query = (
            sa.select(table.c.action_key, table.c.state, sa.func.count().label("n"))
            .where(table.c.notification_id == notification_id)
            .group_by(table.c.action_key, table.c.state)
            .order_by(table.c.action_key, table.c.state)
        )
        rows = await self.fetch_all(query)
        return [(row.action_key, row.state, int(row.n)) for row in rows]

    async def settle(self, response_id: str, handling: Handling) -> bool:
        table = action_responses
        final = handling.state is not ResponseState.PENDING
        statement = (
            sa.update(table)
            .where((table.c.id == response_id) & (table.c.state == PENDING))
            .values(
                state=handling.state.value,
                result=handling.result.as_json(),
                attempts=handling.attempts,
                handled_at=handling.at if final else None,
                next_attempt_at=None if final else handling.next_attempt_at,
            )
        )
        async with self.begin() as connection:
            return bool((await connection.execute(statement)).rowcount)
