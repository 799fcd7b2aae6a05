"""Reads of the kept counts for reports (core/reports.py), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pushgate.core.engagement import InteractionEvent
from pushgate.core.notifications import DeliveryState
from pushgate.core.reports import DeliveryLine, TopNotification
from pushgate.storage.accounts import BaseStore
from pushgate.storage.tables import (
    deliveries,
    delivery_counts,
    interaction_rollups,
    interactions,
    notification_engagement,
    notifications,
)

ACTION = InteractionEvent.ACTION.value


class ReportStore(BaseStore):
    async def engagement(self, notification_id: str) -> dict[str, int]:
        sql, _ = self.driver_sql(
            "read_engagement",
            lambda: sa.select(notification_engagement.c.metric, notification_engagement.c.n).where(
                notification_engagement.c.notification_id == sa.bindparam("id")
            ),
        )
        async with self.engine.connect() as connection:
            rows: list[Any] = list(
                (await connection.exec_driver_sql(sql, (notification_id,))).all()
            )
        return {str(row[0]): int(row[1]) for row in rows}

    async def rollups(
        self, app_id: str, start: int, end: int, type_key: str | None
    ) -> list[tuple[int, str, int]]:
        table = interaction_rollups
        query = (
            sa.select(table.c.hour, table.c.metric, sa.func.sum(table.c.n))
            .where(table.c.app_id == app_id, table.c.hour >= start, table.c.hour < end)
            .group_by(table.c.hour, table.c.metric)
        )
        if type_key is not None:
            query = query.where(table.c.type_key == type_key)
        rows: list[Any] = await self.fetch_all(query)
        return [(int(row[0]), str(row[1]), int(row[2])) for row in rows]

    async def top_notifications(
        self, app_id: str, start: int, end: int, type_key: str | None, limit: int
    ) -> list[TopNotification]:
        sent = (
            sa.select(sa.func.coalesce(sa.func.sum(delivery_counts.c.n), 0))
            .where(
                delivery_counts.c.notification_id == notifications.c.id,
                delivery_counts.c.state == DeliveryState.SENT.value,
            )
            .scalar_subquery()
        )
        opened = (
            sa.select(sa.func.coalesce(sa.func.sum(notification_engagement.c.n), 0))
            .where(
                notification_engagement.c.notification_id == notifications.c.id,
                notification_engagement.c.metric == InteractionEvent.OPENED.value,
            )
            .scalar_subquery()
        )
        wanted = [
            notifications.c.app_id == app_id,
            notifications.c.created_at >= start,
            notifications.c.created_at < end,
        ]
        if type_key is not None:
            wanted.append(notifications.c.type_key == type_key)
        found = (
            sa.select(
                notifications.c.id,
                notifications.c.type_key,
                notifications.c.created_at,
                sent.label("sent"),
                opened.label("opened"),
            )
            .where(*wanted)
            .subquery()
        )
        rate = sa.cast(found.c.opened, sa.Float) / found.c.sent
        query = (
            sa.select(found)
            .where(found.c.sent > 0)
            .order_by(rate.desc(), found.c.opened.desc(), found.c.id.desc())
            .limit(limit)
        )
        rows: list[Any] = await self.fetch_all(query)
        return [
            TopNotification(
                row.id, row.type_key, int(row.created_at), int(row.sent), int(row.opened)
            )
            for row in rows
        ]

    async def delivery_lines(
        self, notification_id: str, after: str | None, limit: int
    ) -> list[DeliveryLine]:
        query = (
            sa.select(
                deliveries.c.id,
                deliveries.c.device_id,
                deliveries.c.provider,
                deliveries.c.state,
                deliveries.c.updated_at,
            )
            .where(deliveries.c.notification_id == notification_id)
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(deliveries.c.id > after)
        rows: list[Any] = await self.fetch_all(query)
        if not rows:
            return []
        reported: list[Any] = await self.fetch_all(
            sa.select(
                interactions.c.delivery_id,
                interactions.c.event,
                interactions.c.action_key,
                interactions.c.at,
            ).where(
                interactions.c.notification_id == notification_id,
                interactions.c.delivery_id >= rows[0].id,
                interactions.c.delivery_id <= rows[-1].id,
            )
        )
        events: dict[str, dict[str, int]] = {}
        actions: dict[str, dict[str, int]] = {}
        for item in reported:
            if item.event == ACTION:
                actions.setdefault(item.delivery_id, {})[item.action_key] = int(item.at)
            else:
                events.setdefault(item.delivery_id, {})[item.event] = int(item.at)
        return [
            DeliveryLine(
                row.id,
                row.device_id,
                row.provider,
                row.state,
                int(row.updated_at),
                events.get(row.id, {}),
                actions.get(row.id, {}),
            )
            for row in rows
        ]
