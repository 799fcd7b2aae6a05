"""Queries for action responses (core/responses.py), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pushgate.core.actions import ActionResponse, ResponseState
from pushgate.core.ports import InTransaction
from pushgate.core.responses import HandlerResult, Handling, StoredResponse
from pushgate.errors import NotFound
from pushgate.storage.accounts import BaseStore
from pushgate.storage.group_commit import GroupCommit
from pushgate.storage.tables import action_responses, apps, devices

PENDING = ResponseState.PENDING.value
# The repeat key every answer to an action taken once shares, whichever action it is: a
# delivery keeps one such answer, so Approve and then Reject cannot both run
# (docs/actions.md, "Handlers"). A repeatable action's answers each key on their own id.
ONCE = "answer"
# The app's name comes along: it is what a handler is told (ActionResponse.app).
_READ = sa.select(action_responses, apps.c.name.label("app_name")).join(
    apps, apps.c.id == action_responses.c.app_id
)


_JSON_COLUMNS = frozenset({"data", "result"})


def _json(value: Any) -> str:
    # As SQLAlchemy's JSON type writes it: None too is JSON ("null"), not SQL NULL.
    return orjson.dumps(value).decode()


def _params(item: StoredResponse, repeat_key: str, order: Sequence[str]) -> tuple[Any, ...]:
    """The insert's parameters in ``order``, JSON columns encoded (the driver-level insert
    skips SQLAlchemy's parameter processing)."""
    values = _values(item, repeat_key)
    values["of_device"] = item.response.device_id
    values["of_tenant"] = item.response.tenant_id
    return tuple(_json(values[name]) if name in _JSON_COLUMNS else values[name] for name in order)


def _insert(dialect_insert: Any) -> sa.ClauseElement:
    """A response's insert: its user is the device's, read by the insert itself (one
    statement instead of a read and a write per answer); nothing on a repeat."""
    table = action_responses
    user = sa.select(devices.c.user_id).where(
        (devices.c.id == sa.bindparam("of_device"))
        & (devices.c.tenant_id == sa.bindparam("of_tenant"))
    )
    values: dict[str, Any] = {column.name: sa.bindparam(column.name) for column in table.c}
    values["user_id"] = user.scalar_subquery()
    insert: sa.ClauseElement = (
        dialect_insert(table)
        .values(values)
        .on_conflict_do_nothing(index_elements=["delivery_id", "repeat_key"])
        .returning(table.c.user_id)
    )
    return insert


@dataclass(frozen=True, slots=True)
class _Record:
    """One response to insert in a group, and the writes its transaction carries."""

    item: StoredResponse
    repeat_key: str
    within: InTransaction | None


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

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        # Answers arriving together share a transaction (storage/group_commit.py): a
        # broadcast's devices answer in bursts, and a commit is the cost of a small write.
        self._records: GroupCommit[_Record, tuple[StoredResponse, bool]] = GroupCommit(
            self._record_group
        )

    async def record(
        self, item: StoredResponse, *, allow_repeats: bool, within: InTransaction | None = None
    ) -> tuple[StoredResponse, bool]:
        repeat_key = item.id if allow_repeats else ONCE
        try:
            return await self._records.submit(_Record(item, repeat_key, within))
        except (sa.exc.IntegrityError, sqlite3.IntegrityError) as exc:
            # The unique key is met by ON CONFLICT: what fails is the notification's
            # foreign key, the notification deleted since it was read. (SQLite statements
            # run on the driver itself, so its own error class comes up.)
            raise NotFound(
                "the answered notification no longer exists",
                details={"notification": item.response.notification_id},
            ) from exc

    async def _record_group(self, records: Sequence[_Record]) -> list[tuple[StoredResponse, bool]]:
        """Insert each response, or read the first of its delivery and repeat key, in one
        transaction; each one's own writes (its job) follow its insert."""
        async with self.begin() as connection:
            return [await self._record_one(connection, record) for record in records]

    async def _record_one(
        self, connection: AsyncConnection, record: _Record
    ) -> tuple[StoredResponse, bool]:
        item, table = record.item, action_responses
        sql, order = self.driver_sql("record_response", lambda: _insert(self.dialect_insert()))
        params = _params(item, record.repeat_key, order)
        inserted = (await connection.exec_driver_sql(sql, params)).first()
        if inserted is not None:
            if record.within is not None:
                await record.within(connection)
            # Stored as given, with the device's user: no read back (the app's name came
            # with it).
            response = dataclasses.replace(item.response, user_id=inserted[0])
            return dataclasses.replace(item, response=response), True
        # Read in the same transaction: the first response is committed, or written
        # earlier in this one (the unique index made this insert wait on PostgreSQL).
        where = (table.c.delivery_id == item.response.delivery_id) & (
            table.c.repeat_key == record.repeat_key
        )
        first = (await connection.execute(_READ.where(where))).first()
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
