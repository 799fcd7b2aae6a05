"""Queries for an app's notification types, and the recipients a template reads
(docs/types.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from pushgate.core.messages import Priority
from pushgate.core.type_inputs import NotificationType
from pushgate.storage.accounts import BaseStore
from pushgate.storage.tables import devices, notification_types, users

# Written by a change; the key, owners and creation time stay.
_FIXED = ("id", "app_id", "key", "created_at")


class TypeStore(BaseStore):
    """Notification types of apps, unique by (app, key)."""

    async def insert_type(self, tenant_id: str, item: NotificationType) -> None:
        async with self.write(f"notification type {item.key!r}") as connection:
            await connection.execute(
                sa.insert(notification_types).values(tenant_id=tenant_id, **type_columns(item))
            )

    async def notification_type(self, app_id: str, key: str) -> NotificationType | None:
        row = await self.fetch_one(
            sa.select(notification_types).where(
                notification_types.c.app_id == app_id, notification_types.c.key == key
            )
        )
        return _type(row) if row else None

    async def types_of_key(self, tenant_id: str, key: str) -> list[NotificationType]:
        """The tenant's types of ``key``, in every app that has one."""
        query = sa.select(notification_types).where(
            notification_types.c.tenant_id == tenant_id, notification_types.c.key == key
        )
        return [_type(row) for row in await self.fetch_all(query)]

    async def type_keys(self, tenant_id: str) -> list[str]:
        """The keys of the tenant's types, each once."""
        query = (
            sa.select(notification_types.c.key)
            .where(notification_types.c.tenant_id == tenant_id)
            .distinct()
        )
        return [row.key for row in await self.fetch_all(query)]

    async def list_types(
        self, app_id: str, after: str | None, limit: int
    ) -> list[NotificationType]:
        """A page of the app's types in key order, after the key ``after``."""
        query = sa.select(notification_types).where(notification_types.c.app_id == app_id)
        if after is not None:
            query = query.where(notification_types.c.key > after)
        query = query.order_by(notification_types.c.key).limit(limit)
        return [_type(row) for row in await self.fetch_all(query)]

    async def update_type(self, item: NotificationType) -> bool:
        """Write ``item``'s fields; False when the type is gone."""
        values = type_columns(item)
        for fixed in _FIXED:
            del values[fixed]
        async with self.begin() as connection:
            result = await connection.execute(
                sa.update(notification_types)
                .where(notification_types.c.id == item.id)
                .values(**values)
            )
            return bool(result.rowcount)

    async def delete_type(self, app_id: str, key: str) -> bool:
        async with self.begin() as connection:
            result = await connection.execute(
                sa.delete(notification_types).where(
                    notification_types.c.app_id == app_id, notification_types.c.key == key
                )
            )
            return bool(result.rowcount)

    async def recipients(self, device_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """What a template reads of each device and its user (``user``, ``device``), in
        one read for a whole send batch; a device without a user has ``user`` None."""
        if not device_ids:
            return {}
        query = (
            sa.select(
                devices.c.id,
                devices.c.platform,
                devices.c.locale,
                devices.c.timezone,
                devices.c.provider,
                users.c.id.label("user_id"),
                users.c.external_id,
                users.c.locale.label("user_locale"),
                users.c.timezone.label("user_timezone"),
                users.c.attributes,
            )
            .select_from(devices.outerjoin(users, users.c.id == devices.c.user_id))
            .where(devices.c.id.in_(list(device_ids)))
        )
        found: dict[str, dict[str, Any]] = {}
        for row in await self.fetch_all(query):
            user = None
            if row.user_id is not None:
                user = _user(row.external_id, row.user_locale, row.user_timezone, row.attributes)
            found[row.id] = {
                "user": user,
                "device": {
                    "platform": row.platform,
                    "locale": row.locale,
                    "timezone": row.timezone,
                    "provider": row.provider,
                },
            }
        return found

    async def users(self, user_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """What a template reads of each user (``user``), in one read of the users table."""
        wanted = list(user_ids)
        if not wanted:
            return {}
        query = sa.select(
            users.c.id, users.c.external_id, users.c.locale, users.c.timezone, users.c.attributes
        ).where(users.c.id.in_(wanted))
        return {
            row.id: _user(row.external_id, row.locale, row.timezone, row.attributes)
            for row in await self.fetch_all(query)
        }


def _user(
    external_id: str, locale: str | None, timezone: str | None, attributes: Any
) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "locale": locale,
        "timezone": timezone,
        "attributes": dict(attributes or {}),
    }


def type_columns(item: NotificationType) -> dict[str, Any]:
    return {
        "id": item.id,
        "app_id": item.app_id,
        "key": item.key,
        "name": item.name,
        "description": item.description,
        "enabled": item.enabled,
        "priority": None if item.priority is None else item.priority.value,
        "ttl": item.ttl,
        "collapse_key": item.collapse_key,
        "action_set": item.action_set,
        "providers": list(item.providers),
        "opt_out_allowed": item.opt_out_allowed,
        "template": item.template,
        "version": item.version,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _type(row: sa.Row[Any]) -> NotificationType:
    return NotificationType(
        id=row.id,
        app_id=row.app_id,
        key=row.key,
        name=row.name,
        description=row.description,
        enabled=bool(row.enabled),
        priority=None if row.priority is None else Priority(row.priority),
        ttl=row.ttl,
        collapse_key=row.collapse_key,
        action_set=row.action_set,
        providers=tuple(row.providers),
        opt_out_allowed=bool(row.opt_out_allowed),
        template=row.template,
        version=int(row.version),
        created_at=int(row.created_at),
        updated_at=int(row.updated_at),
    )
