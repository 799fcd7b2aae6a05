"""Queries for user and device preferences (core/preferences.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import sqlalchemy as sa

from pushgate.core.preferences import DevicePreferences, PagePreferences, UserPreferences
from pushgate.storage.accounts import BaseStore
from pushgate.storage.tables import device_preferences, devices, user_preferences, users


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


# What a fan-out page reads of its recipients' preferences beside each device of the
# audience page, in the same statement (storage/notifications.py
# ``audience_page_with_preferences``): the user's preferences, the device's, and the zone
# the device names, else its user. JSON as text, so that identical rows (most people who
# set preferences set alike) are parsed once per page.
def preference_columns() -> list[sa.ColumnElement[Any]]:
    return [
        sa.type_coerce(user_preferences.c.document, sa.Text),
        sa.type_coerce(user_preferences.c.quiet_hours, sa.Text),
        device_preferences.c.enabled,
        sa.type_coerce(device_preferences.c.muted_types, sa.Text),
        sa.func.coalesce(devices.c.timezone, users.c.timezone),
    ]


def with_preferences(devices_and_users: sa.Join) -> sa.Join:
    """``devices`` (already joined to their ``users``) with their preferences, if any:
    two more primary-key lookups a row."""
    return devices_and_users.outerjoin(
        user_preferences, user_preferences.c.user_id == devices.c.user_id
    ).outerjoin(device_preferences, device_preferences.c.device_id == devices.c.id)


def page_preferences(rows: Iterable[Sequence[Any]], user: int, first: int) -> PagePreferences:
    """The preferences in ``rows``: each a device id first, its user id at ``user``, and
    from ``first`` on, the values of :func:`preference_columns`."""
    people: dict[str, UserPreferences] = {}
    own: dict[str, DevicePreferences] = {}
    zones: dict[str, str] = {}
    said: dict[Any, UserPreferences] = {}
    muted: dict[Any, DevicePreferences] = {}
    for row in rows:
        device_id, user_id = row[0], row[user]
        document, quiet, enabled, muted_types, zone = row[first : first + 5]
        if document is not None and user_id not in people:
            key = (document, quiet)
            found = said.get(key) if _hashable(key) else None
            if found is None:
                found = UserPreferences.from_document(_json(document) or {}, _json(quiet))
                if _hashable(key):
                    said[key] = found
            people[user_id] = found
        if enabled is not None:
            key = (enabled, muted_types)
            switch = muted.get(key) if _hashable(key) else None
            if switch is None:
                switch = DevicePreferences(bool(enabled), tuple(_json(muted_types) or ()))
                if _hashable(key):
                    muted[key] = switch
            own[device_id] = switch
        if zone is not None:
            zones[device_id] = zone
    return PagePreferences(people, own, zones)


def _hashable(key: tuple[Any, Any]) -> bool:
    """Whether a row's values came as text (a key to share their parse by)."""
    return all(isinstance(part, str | bytes | int | None) for part in key)


def _json(value: Any) -> Any:
    """A JSON column read at the driver level: text, or already a value; JSON null
    (SQLAlchemy's JSON type stores None as ``null``) is None."""
    if value is None or value == "null":
        return None
    return orjson.loads(value) if isinstance(value, str | bytes) else value
