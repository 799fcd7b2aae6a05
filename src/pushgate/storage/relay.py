"""Queries for relaying (docs/relay.md): origins, their keys, the final answers given to
each in their window, the batches answered 202, and counts per origin and UTC day."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from pushgate.core.models import RateLimit
from pushgate.core.relay_origins import BatchState, Origin
from pushgate.storage.accounts import BaseStore
from pushgate.storage.tables import (
    relay_accepted,
    relay_batches,
    relay_counts,
    relay_origin_keys,
    relay_origins,
)


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

    async def answers_of(self, origin_id: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The final answers already given to the origin for any of ``ids``."""
        if not ids:
            return {}
        query = sa.select(relay_accepted.c.message_id, relay_accepted.c.answer).where(
            relay_accepted.c.origin_id == origin_id, relay_accepted.c.message_id.in_(ids)
        )
        return {
            str(row.message_id): row.answer
            for row in await self.fetch_all(query)
            if row.answer is not None
        }

    async def settle(
        self,
        origin_id: str,
        final: list[tuple[str, dict[str, Any], int]],
        day: int,
        counts: dict[str, int],
    ) -> None:
        """After the send, in one transaction: each final answer (``(id, answer,
        keep_until)``; an id answered ``retry`` is not kept, so the origin's retry of it
        goes out) and the batch's counts. An id already kept (sent by another process at
        the same time) keeps its first answer."""
        async with self.begin() as connection:
            if counts:
                await connection.execute(
                    self._count_statement,
                    [
                        {"origin_id": origin_id, "day": day, "what": what, "n": n}
                        for what, n in sorted(counts.items())
                    ],
                )
            if final:
                await connection.execute(
                    self._keep_statement,
                    [
                        {
                            "origin_id": origin_id,
                            "message_id": message_id,
                            "answer": answer,
                            "keep_until": keep_until,
                        }
                        for message_id, answer, keep_until in final
                    ],
                )

    # Built once: a statement of the same shape each batch is compiled once (SQLAlchemy's
    # cache), where rows given in ``values()`` would be compiled again every batch.
    @functools.cached_property
    def _keep_statement(self) -> Any:
        return self.dialect_insert()(relay_accepted).on_conflict_do_nothing()

    @functools.cached_property
    def _count_statement(self) -> Any:
        statement = self.dialect_insert()(relay_counts)
        return statement.on_conflict_do_update(
            index_elements=["origin_id", "day", "what"],
            set_={"n": relay_counts.c.n + statement.excluded.n},
        )

    async def open_batch(
        self, batch_id: str, origin_id: str, created_at: int, keep_until: int
    ) -> None:
        """A batch answered 202: its answers are read at ``GET .../batches/{id}``."""
        async with self.begin() as connection:
            await connection.execute(
                sa.insert(relay_batches).values(
                    id=batch_id,
                    origin_id=origin_id,
                    answers=None,
                    created_at=created_at,
                    keep_until=keep_until,
                )
            )

    async def finish_batch(
        self, batch_id: str, origin_id: str, answers: list[dict[str, Any]]
    ) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.update(relay_batches)
                .where(relay_batches.c.id == batch_id, relay_batches.c.origin_id == origin_id)
                .values(answers={"answers": answers})
            )

    async def batch(self, origin_id: str, batch_id: str) -> BatchState | None:
        """The origin's batch: None when it has no such batch."""
        row = await self.fetch_one(
            sa.select(relay_batches.c.answers, relay_batches.c.created_at).where(
                relay_batches.c.id == batch_id, relay_batches.c.origin_id == origin_id
            )
        )
        if row is None:
            return None
        answers = None if row.answers is None else list(row.answers["answers"])
        return BatchState(int(row.created_at), answers)

    async def add_counts(self, origin_id: str, day: int, counts: dict[str, int]) -> None:
        await self.settle(origin_id, [], day, counts)

    async def counts(self, origin_id: str, day: int) -> dict[str, int]:
        query = sa.select(relay_counts.c.what, relay_counts.c.n).where(
            relay_counts.c.origin_id == origin_id, relay_counts.c.day == day
        )
        return {str(row.what): int(row.n) for row in await self.fetch_all(query)}

    async def purge_accepted(self, before: int) -> int:
        """Forget the ids and the 202 batches whose window ended."""
        async with self.begin() as connection:
            result = await connection.execute(
                sa.delete(relay_accepted).where(relay_accepted.c.keep_until < before)
            )
            await connection.execute(
                sa.delete(relay_batches).where(relay_batches.c.keep_until < before)
            )
        return int(result.rowcount or 0)
