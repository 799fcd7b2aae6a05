"""Queries for relaying (docs/relay.md): origins, their keys, the message ids accepted from
each in their window, and counts per origin and UTC day."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pushgate.core.models import RateLimit
from pushgate.core.relay_origins import Origin
from pushgate.storage.accounts import BaseStore
from pushgate.storage.tables import relay_accepted, relay_counts, relay_origin_keys, relay_origins


def _origin(row: sa.Row[Any]) -> Origin:
    limit = None
    if row.per_second is not None and row.burst is not None:
        limit = RateLimit(float(row.per_second), int(row.burst))
    return Origin(
        row.id,
        row.tenant_id,
        row.instance_id,
        row.instance_name,
        tuple(row.apps or ()),
        limit,
        row.per_day,
        row.created_at,
        row.updated_at,
    )


class RelayStore(BaseStore):
    """Implements ``core/relay_origins.py`` ``RelayStorePort``."""

    async def insert_origin(self, origin: Origin) -> None:
        limit = origin.rate_limit
        async with self.write(f"origin {origin.instance_id!r}") as connection:
            await connection.execute(
                sa.insert(relay_origins).values(
                    id=origin.id,
                    tenant_id=origin.tenant_id,
                    instance_id=origin.instance_id,
                    instance_name=origin.instance_name,
                    apps=list(origin.apps),
                    per_second=None if limit is None else limit.per_second,
                    burst=None if limit is None else limit.burst,
                    per_day=origin.per_day,
                    created_at=origin.created_at,
                    updated_at=origin.updated_at,
                )
            )

    async def origin(self, tenant_id: str, instance_id: str) -> Origin | None:
        row = await self.fetch_one(
            sa.select(relay_origins).where(
                relay_origins.c.tenant_id == tenant_id, relay_origins.c.instance_id == instance_id
            )
        )
        return None if row is None else _origin(row)

    async def origins(self, tenant_id: str) -> list[Origin]:
        query = (
            sa.select(relay_origins)
            .where(relay_origins.c.tenant_id == tenant_id)
            .order_by(relay_origins.c.instance_name, relay_origins.c.id)
        )
        return [_origin(row) for row in await self.fetch_all(query)]

    async def update_origin(self, origin_id: str, values: dict[str, Any]) -> None:
        async with self.write(f"origin {origin_id!r}") as connection:
            await connection.execute(
                sa.update(relay_origins).where(relay_origins.c.id == origin_id).values(**values)
            )

    async def delete_origin(self, origin_id: str) -> bool:
        async with self.begin() as connection:
            result = await connection.execute(
                sa.delete(relay_origins).where(relay_origins.c.id == origin_id)
            )
        return bool(result.rowcount)

    async def bind_key(self, key_id: str, origin_id: str) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.insert(relay_origin_keys).values(key_id=key_id, origin_id=origin_id)
            )

    async def origin_of_key(self, key_id: str) -> Origin | None:
        query = (
            sa.select(relay_origins)
            .join(relay_origin_keys, relay_origin_keys.c.origin_id == relay_origins.c.id)
            .where(relay_origin_keys.c.key_id == key_id)
        )
        row = await self.fetch_one(query)
        return None if row is None else _origin(row)

    async def keys_of(self, origin_id: str) -> list[str]:
        query = sa.select(relay_origin_keys.c.key_id).where(
            relay_origin_keys.c.origin_id == origin_id
        )
        return [str(row.key_id) for row in await self.fetch_all(query)]

    async def claim(
        self, origin_id: str, ids: list[str], keep_until: dict[str, int]
    ) -> dict[str, dict[str, Any] | None]:
        """Claim the ids not yet accepted from the origin; returns the others, each with
        its first answer (None: still in flight). An id claimed here is absent from it."""
        if not ids:
            return {}
        statement = (
            self.dialect_insert()(relay_accepted)
            .values(
                [
                    {
                        "origin_id": origin_id,
                        "message_id": message_id,
                        "answer": None,
                        "keep_until": keep_until[message_id],
                    }
                    for message_id in ids
                ]
            )
            .on_conflict_do_nothing()
            .returning(relay_accepted.c.message_id)
        )
        async with self.begin() as connection:
            claimed = {str(row[0]) for row in (await connection.execute(statement)).all()}
            taken = [message_id for message_id in ids if message_id not in claimed]
            if not taken:
                return {}
            rows = await connection.execute(
                sa.select(relay_accepted.c.message_id, relay_accepted.c.answer).where(
                    relay_accepted.c.origin_id == origin_id,
                    relay_accepted.c.message_id.in_(taken),
                )
            )
            return {str(row.message_id): row.answer for row in rows}

    async def settle(
        self,
        origin_id: str,
        final: dict[str, dict[str, Any]],
        released: list[str],
        day: int,
        counts: dict[str, int],
    ) -> None:
        """Keep each final answer; let go of ``released`` ids (answered ``retry``: the
        origin sends them again, and then they must go out); add the batch's counts. One
        transaction: a relayed batch writes twice, its claim and this."""
        async with self.begin() as connection:
            if counts:
                await connection.execute(self._add_counts(origin_id, day, counts))
            if final:
                await connection.execute(
                    sa.update(relay_accepted)
                    .where(
                        relay_accepted.c.origin_id == origin_id,
                        relay_accepted.c.message_id == sa.bindparam("mid"),
                    )
                    .values(answer=sa.bindparam("given")),
                    [{"mid": key, "given": answer} for key, answer in final.items()],
                )
            if released:
                await connection.execute(
                    sa.delete(relay_accepted).where(
                        relay_accepted.c.origin_id == origin_id,
                        relay_accepted.c.message_id.in_(released),
                    )
                )

    async def add_counts(self, origin_id: str, day: int, counts: dict[str, int]) -> None:
        if not counts:
            return
        async with self.begin() as connection:
            await connection.execute(self._add_counts(origin_id, day, counts))

    def _add_counts(self, origin_id: str, day: int, counts: dict[str, int]) -> Any:
        statement = self.dialect_insert()(relay_counts).values(
            [
                {"origin_id": origin_id, "day": day, "what": what, "n": n}
                for what, n in sorted(counts.items())
            ]
        )
        return statement.on_conflict_do_update(
            index_elements=["origin_id", "day", "what"],
            set_={"n": relay_counts.c.n + statement.excluded.n},
        )

    async def counts(self, origin_id: str, day: int) -> dict[str, int]:
        query = sa.select(relay_counts.c.what, relay_counts.c.n).where(
            relay_counts.c.origin_id == origin_id, relay_counts.c.day == day
        )
        return {str(row.what): int(row.n) for row in await self.fetch_all(query)}

    async def purge_accepted(self, before: int) -> int:
        async with self.begin() as connection:
            result = await connection.execute(
                sa.delete(relay_accepted).where(relay_accepted.c.keep_until < before)
            )
        return int(result.rowcount or 0)
