"""Queries for record events, an app's triggers and the triggers' throttles (docs/events.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from pushgate.core.event_inputs import EventInput, TriggerInput
from pushgate.core.ports import InTransaction
from pushgate.core.record_events import EventFilters, EventState, RecordedEvent
from pushgate.core.triggers import Trigger
from pushgate.storage.accounts import BaseStore
from pushgate.storage.tables import (
    record_events,
    scoped_settings,
    trigger_throttles,
    triggers,
    units,
    users,
)

PG_TEXT_ARRAY = ARRAY(sa.Text)

# A record's later events read to decide a delayed send, at most.
MAX_LATER_EVENTS = 200


class EventStore(BaseStore):
    async def insert_events(self, events: Sequence[RecordedEvent], within: InTransaction) -> None:
        async with self.write("event") as connection:
            await connection.execute(sa.insert(record_events), [_event_row(e) for e in events])
            await within(connection)

    async def event_by_key(self, tenant_id: str, key: str) -> RecordedEvent | None:
        row = await self.fetch_one(
            sa.select(record_events).where(
                record_events.c.tenant_id == tenant_id, record_events.c.idempotency_key == key
            )
        )
        return None if row is None else _event(row)

    async def release_key(self, event_id: str) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.update(record_events)
                .where(record_events.c.id == event_id)
                .values(idempotency_key=None)
            )

    async def event(self, event_id: str) -> RecordedEvent | None:
        row = await self.fetch_one(sa.select(record_events).where(record_events.c.id == event_id))
        return None if row is None else _event(row)

    async def list_events(
        self, tenant_id: str, filters: EventFilters, after: str | None, limit: int
    ) -> list[RecordedEvent]:
        """Newest first by id (UUIDv7, so by time): a range of the (tenant, id), (tenant,
        name, id) or (tenant, record type, record id, id) index."""
        table = record_events
        query = sa.select(table).where(table.c.tenant_id == tenant_id)
        if filters.name is not None:
            query = query.where(table.c.name == filters.name)
        if filters.record_type is not None:
            query = query.where(table.c.record_type == filters.record_type)
        if filters.record_id is not None:
            query = query.where(table.c.record_id == filters.record_id)
        if after is not None:
            query = query.where(table.c.id < after)
        rows = await self.fetch_all(query.order_by(table.c.id.desc()).limit(limit))
        return [_event(row) for row in rows]

    async def later_events(self, item: RecordedEvent, until: int) -> list[RecordedEvent]:
        """The events on the same record stored after ``item`` and by ``until``."""
        table = record_events
        query = (
            sa.select(table)
            .where(
                table.c.tenant_id == item.tenant_id,
                table.c.record_type == item.body.record.type,
                table.c.record_id == item.body.record.id,
                table.c.created_at >= item.created_at,
                table.c.created_at <= until,
                table.c.id != item.id,
            )
            .order_by(table.c.created_at, table.c.id)
            .limit(MAX_LATER_EVENTS)
        )
        # Ids are UUIDv7: one stored in the same millisecond after it sorts after it.
        return [
            _event(row)
            for row in await self.fetch_all(query)
            if (row.created_at, row.id) > (item.created_at, item.id)
        ]

    async def set_outcome(
        self,
        event_id: str,
        state: EventState,
        outcome: Sequence[Mapping[str, Any]],
        reason: str | None,
        at: int,
        within: InTransaction | None = None,
    ) -> bool:
        # ``state = pending`` in the statement: of two runs racing (PostgreSQL makes the
        # second wait on the row, then finds it no longer pending), one stores.
        async with self.begin() as connection:
            result = await connection.execute(
                sa.update(record_events)
                .where(
                    record_events.c.id == event_id,
                    record_events.c.state == EventState.PENDING.value,
                )
                .values(
                    state=state.value,
                    outcome=[dict(o) for o in outcome],
                    reason=None if reason is None else reason[:1024],
                    processed_at=at,
                )
            )
            if not result.rowcount:
                return False
            if within is not None:
                await within(connection)
            return True

    async def set_trigger_outcome(
        self, event_id: str, index: int, trigger_id: str, entry: Mapping[str, Any]
    ) -> None:
        """One element of the JSON array replaced in the statement itself (SQLite's
        ``json_set``, https://sqlite.org/json1.html#jset; PostgreSQL's ``jsonb_set``,
        https://www.postgresql.org/docs/current/functions-json.html), only while it is
        still the trigger's."""
        column = record_events.c.outcome
        value = orjson.dumps(dict(entry)).decode()
        if self.engine.dialect.name == "postgresql":
            path = sa.literal([str(index)], PG_TEXT_ARRAY)
            text = sa.literal(value, sa.Text)
            replaced: Any = sa.func.jsonb_set(column, path, sa.cast(text, JSONB))
            owner: Any = column.op("->")(index).op("->>")("id")
        else:
            replaced = sa.func.json_set(column, f"$[{index}]", sa.func.json(value))
            owner = sa.func.json_extract(column, f"$[{index}].id")
        async with self.begin() as connection:
            await connection.execute(
                sa.update(record_events)
                .where(record_events.c.id == event_id, owner == trigger_id)
                .values(outcome=replaced)
            )

    async def purge_events(self, cutoff: int, tenant_cutoffs: Mapping[str, int]) -> int:
        """One statement per window, each a range of the ``created_at`` index."""
        own = dict(tenant_cutoffs)
        table = record_events
        async with self.begin() as connection:
            others = table.c.created_at < cutoff
            if own:
                others = others & table.c.tenant_id.not_in(list(own))
            deleted = (await connection.execute(sa.delete(table).where(others))).rowcount
            for tenant_id, tenant_cutoff in sorted(own.items()):
                result = await connection.execute(
                    sa.delete(table).where(
                        table.c.tenant_id == tenant_id, table.c.created_at < tenant_cutoff
                    )
                )
                deleted += result.rowcount
        return int(deleted)

    async def purge_throttles(self, now: int) -> int:
        async with self.begin() as connection:
            result = await connection.execute(
                sa.delete(trigger_throttles).where(trigger_throttles.c.until <= now)
            )
        return int(result.rowcount)

    async def throttled(self, keys: Sequence[str], now: int) -> set[str]:
        """Which of ``keys`` are held by a throttle at ``now``."""
        if not keys:
            return set()
        rows = await self.fetch_all(
            sa.select(trigger_throttles.c.key).where(
                trigger_throttles.c.key.in_(list(keys)), trigger_throttles.c.until > now
            )
        )
        return {row.key for row in rows}

    async def hold(self, keys: Sequence[str], until: int) -> None:
        if not keys:
            return
        insert = self.dialect_insert()(trigger_throttles)
        upsert = insert.on_conflict_do_update(
            index_elements=["key"], set_={"until": insert.excluded.until}
        )
        async with self.begin() as connection:
            await connection.execute(upsert, [{"key": k, "until": until} for k in sorted(keys)])

    async def switches(self, tenant_id: str, name: str) -> dict[str, bool]:
        """scope → value of the switch ``name`` where one is set."""
        rows = await self.fetch_all(
            sa.select(scoped_settings.c.scope, scoped_settings.c.value).where(
                scoped_settings.c.tenant_id == tenant_id, scoped_settings.c.name == name
            )
        )
        return {r.scope: bool(r.value.get("v")) for r in rows if isinstance(r.value, dict)}

    async def unit_parents(self, tenant_id: str) -> dict[str, str | None]:
        rows = await self.fetch_all(
            sa.select(units.c.key, units.c.parent).where(units.c.tenant_id == tenant_id)
        )
        return {r.key: r.parent for r in rows}

    async def units_of(self, tenant_id: str, external_ids: Sequence[str]) -> dict[str, str]:
        """external id → unit key, for those of the users who belong to a unit."""
        rows = await self.fetch_all(
            sa.select(users.c.external_id, users.c.unit).where(
                users.c.tenant_id == tenant_id,
                users.c.external_id.in_(list(external_ids)),
                users.c.unit.is_not(None),
            )
        )
        return {r.external_id: r.unit for r in rows}

    async def unit_members(self, tenant_id: str, unit: str, limit: int) -> list[str]:
        rows = await self.fetch_all(
            sa.select(users.c.external_id)
            .where(users.c.tenant_id == tenant_id, users.c.unit == unit)
            .order_by(users.c.external_id)
            .limit(limit)
        )
        return [row.external_id for row in rows]


class TriggerStore(BaseStore):
    """An app's triggers, unique by (app, key)."""

    async def insert_trigger(self, item: Trigger) -> None:
        async with self.write(f"trigger {item.key!r}") as connection:
            await connection.execute(sa.insert(triggers).values(**trigger_row(item)))

    async def trigger(self, app_id: str, key: str) -> Trigger | None:
        row = await self.fetch_one(
            sa.select(triggers).where(triggers.c.app_id == app_id, triggers.c.key == key)
        )
        return None if row is None else _trigger(row)

    async def trigger_by_id(self, trigger_id: str) -> Trigger | None:
        row = await self.fetch_one(sa.select(triggers).where(triggers.c.id == trigger_id))
        return None if row is None else _trigger(row)

    async def list_triggers(self, app_id: str, after: str | None, limit: int) -> list[Trigger]:
        query = sa.select(triggers).where(triggers.c.app_id == app_id)
        if after is not None:
            query = query.where(triggers.c.key > after)
        rows = await self.fetch_all(query.order_by(triggers.c.key).limit(limit))
        return [_trigger(row) for row in rows]

    async def tenant_triggers(self, tenant_id: str) -> list[Trigger]:
        rows = await self.fetch_all(
            sa.select(triggers).where(triggers.c.tenant_id == tenant_id).order_by(triggers.c.id)
        )
        return [_trigger(row) for row in rows]

    async def update_trigger(self, item: Trigger) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.update(triggers)
                .where(triggers.c.id == item.id)
                .values(spec=_spec(item), version=item.version, updated_at=item.updated_at)
            )

    async def delete_trigger(self, app_id: str, key: str) -> bool:
        async with self.begin() as connection:
            result = await connection.execute(
                sa.delete(triggers).where(triggers.c.app_id == app_id, triggers.c.key == key)
            )
            return bool(result.rowcount)


def _spec(item: Trigger) -> dict[str, Any]:
    return item.spec.model_dump(mode="json", exclude_none=True)


def trigger_row(item: Trigger) -> dict[str, Any]:
    return {
        "id": item.id,
        "tenant_id": item.tenant_id,
        "app_id": item.app_id,
        "key": item.key,
        "spec": _spec(item),
        "version": item.version,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _trigger(row: Any) -> Trigger:
    return Trigger(
        row.id,
        row.tenant_id,
        row.app_id,
        TriggerInput.model_validate(row.spec),
        row.version,
        row.created_at,
        row.updated_at,
    )


def _event_row(item: RecordedEvent) -> dict[str, Any]:
    return {
        "id": item.id,
        "tenant_id": item.tenant_id,
        "idempotency_key": item.idempotency_key,
        "request_hash": item.request_hash,
        "name": item.body.name,
        "record_type": item.body.record.type,
        "record_id": item.body.record.id,
        "body": item.body.model_dump(mode="json", exclude={"idempotency_key"}),
        "state": item.state.value,
        "outcome": [],
        "reason": None,
        "created_at": item.created_at,
        "processed_at": None,
    }


def _event(row: Any) -> RecordedEvent:
    return RecordedEvent(
        row.id,
        row.tenant_id,
        row.idempotency_key,
        row.request_hash,
        EventInput.model_validate(row.body),
        EventState(row.state),
        row.created_at,
        tuple(row.outcome),
        row.reason,
        row.processed_at,
    )
