"""Reads that tell why a notification's deliveries are pending (core/pending.py)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from pushgate.core.ports import PendingRows, RetryGroup
from pushgate.storage.tables import credentials, deliveries, settled_batches


class PendingStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def paused_credentials_of(self, app_id: str) -> dict[str, str]:
        query = sa.select(credentials.c.kind, credentials.c.paused_reason).where(
            credentials.c.app_id == app_id, credentials.c.paused_at.is_not(None)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {kind: reason or "" for kind, reason in rows}

    async def held_marks(self, notification_id: str) -> list[tuple[str, int, int]]:
        query = sa.select(settled_batches.c.kept).where(
            settled_batches.c.notification_id == notification_id,
            settled_batches.c.key.like("page:%:held"),
            settled_batches.c.kept.is_not(None),
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            (str(reason), int(due), int(count))
            for (kept,) in rows
            for reason, due, count in orjson.loads(kept)
        ]

    async def pending_rows(
        self, notification_id: str, skip_providers: Sequence[str], limit: int
    ) -> PendingRows:
        # 'pending' named literally: the partial index ix_deliveries_pending holds only
        # pending rows, so the look costs the pending ones, at most ``limit`` of them.
        looked = (
            sa.select(
                deliveries.c.provider,
                deliveries.c.attempts,
                deliveries.c.reason,
                deliveries.c.next_attempt_at,
            )
            .where(
                deliveries.c.notification_id == notification_id,
                deliveries.c.state == sa.text("'pending'"),
            )
            .limit(limit)
        )
        if skip_providers:
            looked = looked.where(deliveries.c.provider.not_in(skip_providers))
        rows = looked.subquery()
        retried = rows.c.attempts > 0
        query = sa.select(
            retried,
            rows.c.provider,
            rows.c.reason,
            sa.func.count(),
            sa.func.min(rows.c.next_attempt_at),
        ).group_by(retried, rows.c.provider, rows.c.reason)
        queued = 0
        groups = []
        held = []
        async with self.engine.connect() as connection:
            for was_tried, provider, reason, count, next_at in await connection.execute(query):
                group = RetryGroup(provider, reason or "", int(count), int(next_at or 0))
                if was_tried:
                    groups.append(group)
                elif reason:  # not yet tried, yet with a reason: held till its time
                    held.append(group)
                else:
                    queued += int(count)
        return PendingRows(queued, tuple(groups), tuple(held))
