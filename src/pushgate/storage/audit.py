"""Queries for the audit log."""

from __future__ import annotations

import sqlalchemy as sa

from pushgate.core.audit import AuditAction, AuditEvent
from pushgate.storage.accounts import BaseStore
from pushgate.storage.tables import audit_events


class AuditStore(BaseStore):
    async def insert_event(self, event: AuditEvent) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.insert(audit_events).values(
                    id=event.id,
                    at=event.at,
                    tenant_id=event.tenant_id,
                    key_id=event.key_id,
                    key_name=event.key_name,
                    origin=event.origin,
                    action=event.action.value,
                    object_type=event.action.object_type,
                    object_id=event.object_id,
                    details=dict(event.details),
                )
            )

    async def list_events(
        self, tenant_id: str | None, action: AuditAction | None, before: str | None, limit: int
    ) -> list[AuditEvent]:
        # Ids are UUIDv7, time-ordered: "before an id" pages back through time.
        query = sa.select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
        if tenant_id is not None:
            query = query.where(audit_events.c.tenant_id == tenant_id)
        if action is not None:
            query = query.where(audit_events.c.action == action.value)
        if before is not None:
            query = query.where(audit_events.c.id < before)
        return [
            AuditEvent(
                row.id,
                row.at,
                row.tenant_id,
                row.key_id,
                row.key_name,
                row.origin,
                AuditAction(row.action),
                row.object_id,
                row.details,
            )
            for row in await self.fetch_all(query)
        ]

    async def purge_events(self, cutoff: int) -> int:
        async with self.begin() as connection:
            result = await connection.execute(
                sa.delete(audit_events).where(audit_events.c.at < cutoff)
            )
            return int(result.rowcount)
