"""Queries for user and device preferences (core/preferences.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import orjson
import sqlalchemy as sa

from pushgate.core.preferences import DevicePreferences, PagePreferences, UserPreferences
from pushgate.storage.accounts import BaseStore
from pushgate.storage.engine import in_order
from pushgate.storage.id_sets import ids_value, in_ids
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

    async def page_preferences(self, device_ids: Sequence[str]) -> PagePreferences:
        """The preferences of a fan-out page's devices and of their users, with the zones
        the devices name (else their users), in one read: a join from the page's devices,
        bound as one parameter (storage/id_sets.py), so the statement is compiled once.
        Only devices with something to say come back (a preference or a zone).

        Rows are read as the driver's tuples, their JSON as text: identical preferences
        (most people who set any set alike) are parsed once per page."""
        if not device_ids:
            return PagePreferences({}, {}, {})
        dialect = self.engine.dialect.name
        sql, order = self.driver_sql("page_preferences", lambda: _page_query(dialect))
        params = {"ids": ids_value(device_ids, dialect)}
        async with self.engine.connect() as connection:
            rows = cast(
                "list[Any]", (await connection.exec_driver_sql(sql, in_order(order, params))).all()
            )
        users: dict[str, UserPreferences] = {}
        devices_: dict[str, DevicePreferences] = {}
        zones: dict[str, str] = {}
        said: dict[Any, UserPreferences] = {}
        muted: dict[Any, DevicePreferences] = {}
        for device_id, user_id, document, quiet, enabled, muted_types, zone in rows:
            if document is not None and user_id not in users:
                key = (document, quiet)
                found = said.get(key) if _hashable(key) else None
                if found is None:
                    found = UserPreferences.from_document(_json(document) or {}, _json(quiet))
                    if _hashable(key):
                        said[key] = found
                users[user_id] = found
            if enabled is not None:
                key = (enabled, muted_types)
                device = muted.get(key) if _hashable(key) else None
                if device is None:
                    device = DevicePreferences(bool(enabled), tuple(_json(muted_types) or ()))
                    if _hashable(key):
                        muted[key] = device
                devices_[device_id] = device
            if zone is not None:
                zones[device_id] = zone
        return PagePreferences(users, devices_, zones)


def _page_query(dialect: str) -> sa.Select[Any]:
    zone = sa.func.coalesce(devices.c.timezone, users.c.timezone)
    return (
        sa.select(
            devices.c.id,
            devices.c.user_id,
            sa.type_coerce(user_preferences.c.document, sa.Text),
            sa.type_coerce(user_preferences.c.quiet_hours, sa.Text),
            device_preferences.c.enabled,
            sa.type_coerce(device_preferences.c.muted_types, sa.Text),
            zone,
        )
        .select_from(
            devices.outerjoin(users, users.c.id == devices.c.user_id)
            .outerjoin(user_preferences, user_preferences.c.user_id == devices.c.user_id)
            .outerjoin(device_preferences, device_preferences.c.device_id == devices.c.id)
        )
        .where(
            in_ids(devices.c.id, "ids", dialect),
            sa.or_(
                user_preferences.c.user_id.is_not(None),
                device_preferences.c.device_id.is_not(None),
                zone.is_not(None),
            ),
        )
    )


def _hashable(key: tuple[Any, Any]) -> bool:
    """Whether a row's JSON came as text (a key to share its parse by)."""
    return all(isinstance(part, str | bytes | int | None) for part in key)


def _json(value: Any) -> Any:
    """A JSON column read at the driver level: text, or already a value; JSON null
    (SQLAlchemy's JSON type stores None as ``null``) is None."""
    if value is None or value == "null":
        return None
    return orjson.loads(value) if isinstance(value, str | bytes) else value
