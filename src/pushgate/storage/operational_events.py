"""Queries for operational events and the tenants' operational webhooks."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pushgate.core.operational_events import EventKind, OperationalEvent
from pushgate.core.ports import InTransaction
from pushgate.storage.accounts import BaseStore
from pushgate.storage.tables import operational_events, tenants


class OperationalEventStore(BaseStore):
    async def insert_event(
        self, event: OperationalEvent, within: InTransaction | None = None
    ) -> None:
        async with self.begin() as connection:
            await self.insert_in(connection, event)
            if within is not None:
                await within(connection)

    async def insert_in(self, connection: AsyncConnection, event: OperationalEvent) -> None:
        """Write the event in the caller's open transaction."""
        await connection.execute(
            sa.insert(operational_events).values(
                id=event.id,
                at=event.at,
                tenant_id=event.tenant_id,
                kind=event.kind.value,
                subject_type=event.subject_type.value,
                subject_id=event.subject_id,
                app_id=event.app_id,
                details=dict(event.details),
            )
        )

    async def event(self, event_id: str) -> OperationalEvent | None:
        row = await self.fetch_one(
            sa.select(operational_events).where(operational_events.c.id == event_id)
        )
        return None if row is None else _event(row)

    async def list_events(
        self,
        tenant_id: str | None,
        kind: EventKind | None,
        app_id: str | None,
        before: str | None,
        limit: int,
    ) -> list[OperationalEvent]:
        # Ids are UUIDv7, time-ordered: "before an id" pages back through time.
        table = operational_events
        query = sa.select(table).order_by(table.c.id.desc()).limit(limit)
        if tenant_id is not None:
            query = query.where(table.c.tenant_id == tenant_id)
        if kind is not None:
            query = query.where(table.c.kind == kind.value)
        if app_id is not None:
            query = query.where(table.c.app_id == app_id)
        if before is not None:
            query = query.where(table.c.id < before)
        return [_event(row) for row in await self.fetch_all(query)]

    async def purge_events(self, cutoff: int) -> int:
        async with self.begin() as connection:
            result = await connection.execute(
                sa.delete(operational_events).where(operational_events.c.at < cutoff)
            )
            return int(result.rowcount)

    async def has_webhook(self, tenant_id: str) -> bool:
        row = await self.fetch_one(
            sa.select(tenants.c.id).where(
                tenants.c.id == tenant_id, tenants.c.ops_webhook_url.is_not(None)
            )
        )
        return row is not None

    async def webhook_of(self, tenant_id: str) -> tuple[str, bytes] | None:
        row = await self.fetch_one(
            sa.select(tenants.c.ops_webhook_url, tenants.c.ops_webhook_secret).where(
                tenants.c.id == tenant_id
            )
        )
        if row is None or row.ops_webhook_url is None or row.ops_webhook_secret is None:
            return None
        return str(row.ops_webhook_url), bytes(row.ops_webhook_secret)

    async def set_webhook(self, tenant_id: str, url: str | None, sealed: bytes | None) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.update(tenants)
                .where(tenants.c.id == tenant_id)
                .values(ops_webhook_url=url, ops_webhook_secret=sealed)
            )


def _event(row: Any) -> OperationalEvent:
    return OperationalEvent(
        row.id,
        row.at,
        row.tenant_id,
        EventKind(row.kind),
        row.subject_id,
        row.app_id,
        row.details,
    )
