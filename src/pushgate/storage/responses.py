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
from pushgate.storage.engine import require_order
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


def _row_params(item: StoredResponse, repeat_key: str, order: Sequence[str]) -> list[Any]:
    """One response's parameters in ``order`` (of the insert's first row), JSON columns
    encoded (the driver-level insert skips SQLAlchemy's parameter processing)."""
    values = _values(item, repeat_key)
    values["of_device"] = item.response.device_id
    values["of_tenant"] = item.response.tenant_id
    return [_json(values[name]) if name in _JSON_COLUMNS else values[name] for name in order]


def _insert(dialect_insert: Any, rows: int) -> sa.ClauseElement:
    """An insert of ``rows`` responses, each with its parameters suffixed by its row
    number. A response's user is its device's, read by the insert itself (no read per
    answer); a response whose delivery and repeat key are taken is skipped, and what was
    inserted comes back (id, user)."""
    table = action_responses

    def row(n: int) -> dict[str, Any]:
        user = sa.select(devices.c.user_id).where(
            (devices.c.id == sa.bindparam(f"of_device_{n}"))
            & (devices.c.tenant_id == sa.bindparam(f"of_tenant_{n}"))
        )
        values: dict[str, Any] = {c.name: sa.bindparam(f"{c.name}_{n}") for c in table.c}
        values["user_id"] = user.scalar_subquery()
        return values

    insert: sa.ClauseElement = (
        dialect_insert(table)
        .values([row(n) for n in range(rows)])
        .on_conflict_do_nothing(index_elements=["delivery_id", "repeat_key"])
        .returning(table.c.id, table.c.user_id)
    )
    return insert


# The largest insert: a group is written in chunks of powers of two up to it, so that
# a few statements, each compiled once, serve every group size (compiling one of 32 rows
# takes tens of milliseconds).
MAX_ROWS_PER_INSERT = 32


def _chunks(count: int) -> list[int]:
    """``count`` as the row counts of the inserts that write it: 27 → 16, 8, 2, 1."""
    chunks = [MAX_ROWS_PER_INSERT] * (count // MAX_ROWS_PER_INSERT)
    rest = count % MAX_ROWS_PER_INSERT
    chunks.extend(1 << bit for bit in reversed(range(rest.bit_length())) if rest >> bit & 1)
    return chunks


def _with_user(item: StoredResponse, user_id: str | None) -> StoredResponse:
    """``item`` as stored, with its device's user: no read back (the app's name came with
    it)."""
    return dataclasses.replace(item, response=dataclasses.replace(item.response, user_id=user_id))


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
        self.record_groups: GroupCommit[_Record, tuple[StoredResponse, bool]] = GroupCommit(
            self._record_group
        )

    async def record(
        self, item: StoredResponse, *, allow_repeats: bool, within: InTransaction | None = None
    ) -> tuple[StoredResponse, bool]:
        repeat_key = item.id if allow_repeats else ONCE
        try:
            return await self.record_groups.submit(_Record(item, repeat_key, within))
        except (sa.exc.IntegrityError, sqlite3.IntegrityError) as exc:
            # The unique key is met by ON CONFLICT: what fails is the notification's
            # foreign key, the notification deleted since it was read. (SQLite statements
            # run on the driver itself, so its own error class comes up.)
            raise NotFound(
                "the answered notification no longer exists",
                details={"notification": item.response.notification_id},
            ) from exc

    async def _record_group(self, records: Sequence[_Record]) -> list[tuple[StoredResponse, bool]]:
        """Insert the responses in one statement and one transaction; a response whose
        delivery and repeat key are taken already (before, or earlier in this group) gets
        the first one, read in the same transaction. Each inserted one's own writes (its
        job) follow."""
        async with self.begin() as connection:
            users: dict[str, str | None] = {}
            start = 0
            for rows in _chunks(len(records)):
                chunk = records[start : start + rows]
                start += rows
                sql, row_order = self._insert_sql(rows)
                params = [
                    value
                    for record in chunk
                    for value in _row_params(record.item, record.repeat_key, row_order)
                ]
                result = await connection.exec_driver_sql(sql, tuple(params))
                users.update((row.id, row.user_id) for row in result)
            done = []
            for record in records:
                if record.item.id in users:
                    if record.within is not None:
                        await record.within(connection)
                    done.append((_with_user(record.item, users[record.item.id]), True))
                else:
                    done.append((await self._first(connection, record), False))
            return done

    def _insert_sql(self, rows: int) -> tuple[str, tuple[str, ...]]:
        """The insert of ``rows`` responses compiled once per count, and the parameter
        order of one row (every row's is the same, checked here)."""
        sql, order = self.driver_sql(
            f"record_responses_{rows}", lambda: _insert(self.dialect_insert(), rows)
        )
        width = len(order) // rows
        row_order = tuple(name.removesuffix("_0") for name in order[:width])
        expected = tuple(f"{name}_{n}" for n in range(rows) for name in row_order)
        require_order(order, expected)
        return sql, row_order

    async def _first(self, connection: AsyncConnection, record: _Record) -> StoredResponse:
        # Committed before, or written earlier in this transaction (the unique index made
        # the insert wait for it on PostgreSQL).
        table = action_responses
        where = (table.c.delivery_id == record.item.response.delivery_id) & (
            table.c.repeat_key == record.repeat_key
        )
        first = (await connection.execute(_READ.where(where))).first()
        if first is None:  # deleted between the conflict and the read (its notification)
            raise LookupError(f"response to delivery {record.item.response.delivery_id} vanished")
        return _stored(first)

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
