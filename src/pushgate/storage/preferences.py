"""Queries for user and device preferences (core/preferences.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from pushgate.core.preferences import DevicePreferences, PagePreferences, UserPreferences
from pushgate.storage.accounts import BaseStore
from pushgate.storage.tables import device_preferences, user_preferences

# ids per query (bound parameters stay well under SQLite's limit).
CHUNK = 900


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), CHUNK):
        yield wanted[start : start + CHUNK]


def _user(row: sa.Row[Any]) -> UserPreferences:
    return UserPreferences.from_document(row.document or {}, row.quiet_hours)


def _device(row: sa.Row[Any]) -> DevicePreferences:
    return DevicePreferences(bool(row.enabled), tuple(row.muted_types or ()))


class PreferenceStore(BaseStore):
    """A user's and a device's preferences; a missing row means the defaults, so storing
    the defaults deletes the row."""

    async def user_preferences(self, user_id: str) -> UserPreferences | None:
        row = await self.fetch_one(
            sa.select(user_preferences).where(user_preferences.c.user_id == user_id)
        )
        return _user(row) if row else None

    async def put_user_preferences(
        self, tenant_id: str, user_id: str, preferences: UserPreferences, at: int
    ) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.delete(user_preferences).where(user_preferences.c.user_id == user_id)
            )
            if not preferences.is_default:
                await connection.execute(
                    sa.insert(user_preferences).values(
                        user_id=user_id,
                        tenant_id=tenant_id,
                        document=preferences.document(),
                        quiet_hours=preferences.quiet_hours,
                        updated_at=at,
                    )
                )

    async def device_preferences(self, device_id: str) -> DevicePreferences | None:
        row = await self.fetch_one(
            sa.select(device_preferences).where(device_preferences.c.device_id == device_id)
        )
        return _device(row) if row else None

    async def put_device_preferences(
        self, tenant_id: str, device_id: str, preferences: DevicePreferences, at: int
    ) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.delete(device_preferences).where(device_preferences.c.device_id == device_id)
            )
            if not preferences.is_default:
                await connection.execute(
                    sa.insert(device_preferences).values(
                        device_id=device_id,
                        tenant_id=tenant_id,
                        enabled=preferences.enabled,
                        muted_types=list(preferences.muted_types),
                        updated_at=at,
                    )
                )

    async def has_preferences(self, tenant_id: str) -> bool:
        query = sa.select(
            sa.or_(
                sa.exists().where(user_preferences.c.tenant_id == tenant_id),
                sa.exists().where(device_preferences.c.tenant_id == tenant_id),
            )
        )
        row = await self.fetch_one(query)
        return bool(row is not None and row[0])

    async def page_preferences(
        self, user_ids: Iterable[str], device_ids: Iterable[str]
    ) -> PagePreferences:
        users: dict[str, UserPreferences] = {}
        devices: dict[str, DevicePreferences] = {}
        async with self.engine.connect() as connection:
            for chunk in _chunks(user_ids):
                query = sa.select(user_preferences).where(user_preferences.c.user_id.in_(chunk))
                for row in await connection.execute(query):
                    users[row.user_id] = _user(row)
            for chunk in _chunks(device_ids):
                query = sa.select(device_preferences).where(
                    device_preferences.c.device_id.in_(chunk)
                )
                for row in await connection.execute(query):
                    devices[row.device_id] = _device(row)
        return PagePreferences(users, devices)

    async def quiet_hours(
        self, tenant_id: str, user_ids: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        """user id → the user's quiet hours as stored (``start``, ``end``,
        ``urgent_passes``), for those of ``user_ids`` that set them."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(user_ids):
            query = sa.select(user_preferences.c.user_id, user_preferences.c.quiet_hours).where(
                user_preferences.c.tenant_id == tenant_id,
                user_preferences.c.user_id.in_(chunk),
                user_preferences.c.quiet_hours.is_not(None),
            )
            for row in await self.fetch_all(query):
                if isinstance(row.quiet_hours, dict):
                    found[row.user_id] = dict(row.quiet_hours)
        return found
