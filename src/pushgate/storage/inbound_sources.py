"""Queries for a tenant's inbound sources (docs/events.md, "Inbound sources")."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pushgate.core.inbound_sources import StoredSource
from pushgate.storage.accounts import BaseStore
from pushgate.storage.tables import inbound_sources


class SourceStore(BaseStore):
    """A tenant's sources, unique by (tenant, key)."""

    async def insert_source(self, item: StoredSource) -> None:
        async with self.write(f"source {item.key!r}") as connection:
            await connection.execute(sa.insert(inbound_sources).values(**source_row(item)))

    async def source(self, tenant_id: str, key: str) -> StoredSource | None:
        table = inbound_sources
        row = await self.fetch_one(
            sa.select(table).where(table.c.tenant_id == tenant_id, table.c.key == key)
        )
        return None if row is None else stored_source(row)

    async def source_by_id(self, source_id: str) -> StoredSource | None:
        row = await self.fetch_one(
            sa.select(inbound_sources).where(inbound_sources.c.id == source_id)
        )
        return None if row is None else stored_source(row)

    async def list_sources(
        self, tenant_id: str, after: str | None, limit: int
    ) -> list[StoredSource]:
        table = inbound_sources
        query = sa.select(table).where(table.c.tenant_id == tenant_id)
        if after is not None:
            query = query.where(table.c.key > after)
        rows = await self.fetch_all(query.order_by(table.c.key).limit(limit))
        return [stored_source(row) for row in rows]

    async def update_source(self, item: StoredSource) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.update(inbound_sources)
                .where(inbound_sources.c.id == item.id)
                .values(
                    spec=item.spec,
                    sealed=item.sealed,
                    version=item.version,
                    updated_at=item.updated_at,
                )
            )

    async def delete_source(self, tenant_id: str, key: str) -> bool:
        table = inbound_sources
        async with self.begin() as connection:
            result = await connection.execute(
                sa.delete(table).where(table.c.tenant_id == tenant_id, table.c.key == key)
            )
            return bool(result.rowcount)


def source_row(item: StoredSource) -> dict[str, Any]:
    return {
        "id": item.id,
        "tenant_id": item.tenant_id,
        "key": item.key,
        "kind": item.kind,
        "spec": item.spec,
        "sealed": item.sealed,
        "version": item.version,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def stored_source(row: Any) -> StoredSource:
    return StoredSource(
        row.id,
        row.tenant_id,
        row.key,
        row.kind,
        dict(row.spec),
        bytes(row.sealed),
        row.version,
        row.created_at,
        row.updated_at,
    )
