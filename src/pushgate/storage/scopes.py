"""Queries for units, settings by scope, and the units of users (core/units.py,
core/scoped_settings.py, core/type_switches.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pushgate.core.scoped_settings import StoredSetting
from pushgate.core.settings_catalog import GLOBAL, UNIT_PREFIX, type_flag_name, unit_scope
from pushgate.core.units import Unit, UnitUse
from pushgate.storage.accounts import BaseStore
from pushgate.storage.tables import scoped_settings, units, users

# Members named in a refused delete.
SOME_MEMBERS = 10
# user ids per read of their units (bound parameters stay well under SQLite's limit).
USER_CHUNK = 900


def _unit(row: sa.Row[Any]) -> Unit:
    return Unit(
        row.id, row.tenant_id, row.key, row.name, row.parent, row.created_at, row.updated_at
    )


class ScopeStore(BaseStore):
    """Units, their settings and the tenant's global settings."""

    # -- units --------------------------------------------------------------------------
    async def insert_unit(self, unit: Unit) -> bool:
        statement = (
            self.dialect_insert()(units)
            .values(
                id=unit.id,
                tenant_id=unit.tenant_id,
                key=unit.key,
                name=unit.name,
                parent=unit.parent,
                created_at=unit.created_at,
                updated_at=unit.updated_at,
            )
            .on_conflict_do_nothing()
        )
        async with self.begin() as connection:
            return bool((await connection.execute(statement)).rowcount)

    async def unit(self, tenant_id: str, key: str) -> Unit | None:
        row = await self.fetch_one(
            sa.select(units).where(units.c.tenant_id == tenant_id, units.c.key == key)
        )
        return _unit(row) if row else None

    async def list_units(self, tenant_id: str) -> list[Unit]:
        query = sa.select(units).where(units.c.tenant_id == tenant_id).order_by(units.c.key)
        return [_unit(r) for r in await self.fetch_all(query)]

    async def update_unit(self, unit: Unit) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.update(units)
                .where(units.c.id == unit.id)
                .values(name=unit.name, parent=unit.parent, updated_at=unit.updated_at)
            )

    async def delete_unit(self, tenant_id: str, key: str) -> UnitUse:
        async with self.begin() as connection:
            held = sa.select(units.c.id).where(units.c.tenant_id == tenant_id, units.c.key == key)
            if connection.dialect.name == "postgresql":
                held = held.with_for_update()
            await connection.execute(held)
            use = await self._use(connection, tenant_id, key)
            if use.is_free:
                await connection.execute(
                    sa.delete(units).where(units.c.tenant_id == tenant_id, units.c.key == key)
                )
                await connection.execute(
                    sa.delete(scoped_settings).where(
                        scoped_settings.c.tenant_id == tenant_id,
                        scoped_settings.c.scope == unit_scope(key),
                    )
                )
            return use

    async def _use(self, connection: AsyncConnection, tenant_id: str, key: str) -> UnitUse:
        children = (
            await connection.execute(
                sa.select(units.c.key)
                .where(units.c.tenant_id == tenant_id, units.c.parent == key)
                .order_by(units.c.key)
            )
        ).scalars()
        in_unit = (users.c.tenant_id == tenant_id) & (users.c.unit == key)
        members = (await connection.execute(sa.select(sa.func.count()).where(in_unit))).scalar_one()
        some = (
            await connection.execute(
                sa.select(users.c.external_id)
                .where(in_unit)
                .order_by(users.c.external_id)
                .limit(SOME_MEMBERS)
            )
        ).scalars()
        return UnitUse(list(children), int(members), list(some))

    async def user_units(self, user_ids: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(user_ids))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), USER_CHUNK):
            query = sa.select(users.c.id, users.c.unit).where(
                users.c.id.in_(wanted[start : start + USER_CHUNK]), users.c.unit.is_not(None)
            )
            found.update({r.id: r.unit for r in await self.fetch_all(query)})
        return found

    # -- settings -----------------------------------------------------------------------
    async def scope_settings(self, tenant_id: str, scope: str) -> list[StoredSetting]:
        query = (
            sa.select(scoped_settings.c.name, scoped_settings.c.value, scoped_settings.c.sealed)
            .where(scoped_settings.c.tenant_id == tenant_id, scoped_settings.c.scope == scope)
            .order_by(scoped_settings.c.name)
        )
        return [
            StoredSetting(r.name, _value(r.value), r.sealed) for r in await self.fetch_all(query)
        ]

    async def global_values(self, tenant_id: str) -> dict[str, Any]:
        """name → value of the tenant's global settings, sealed ones (secrets) left out."""
        return {
            item.name: item.value
            for item in await self.scope_settings(tenant_id, GLOBAL)
            if item.sealed is None
        }

    async def replace_settings(
        self, tenant_id: str, scope: str, items: Sequence[StoredSetting], at: int
    ) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.delete(scoped_settings).where(
                    scoped_settings.c.tenant_id == tenant_id, scoped_settings.c.scope == scope
                )
            )
            if items:
                await connection.execute(
                    sa.insert(scoped_settings),
                    [_row(tenant_id, scope, item, at) for item in items],
                )

    async def put_setting(self, tenant_id: str, scope: str, item: StoredSetting, at: int) -> None:
        statement = self.dialect_insert()(scoped_settings).values(
            **_row(tenant_id, scope, item, at)
        )
        statement = statement.on_conflict_do_update(
            index_elements=["tenant_id", "scope", "name"],
            set_={
                "value": statement.excluded.value,
                "sealed": statement.excluded.sealed,
                "updated_at": statement.excluded.updated_at,
            },
        )
        async with self.begin() as connection:
            await connection.execute(statement)

    async def delete_setting(self, tenant_id: str, scope: str, name: str) -> bool:
        async with self.begin() as connection:
            result = await connection.execute(
                sa.delete(scoped_settings).where(
                    scoped_settings.c.tenant_id == tenant_id,
                    scoped_settings.c.scope == scope,
                    scoped_settings.c.name == name,
                )
            )
            return bool(result.rowcount)

    async def setting_names(self, tenant_id: str, prefix: str) -> list[str]:
        query = (
            sa.select(scoped_settings.c.name)
            .where(
                scoped_settings.c.tenant_id == tenant_id,
                scoped_settings.c.name.startswith(prefix, autoescape=True),
            )
            .distinct()
        )
        return [r.name for r in await self.fetch_all(query)]

    async def type_flags(self, tenant_id: str, type_key: str) -> dict[str, bool]:
        query = sa.select(scoped_settings.c.scope, scoped_settings.c.value).where(
            scoped_settings.c.tenant_id == tenant_id,
            scoped_settings.c.name == type_flag_name(type_key),
        )
        return {
            r.scope: bool(_value(r.value))
            for r in await self.fetch_all(query)
            if r.scope == "global" or r.scope.startswith(UNIT_PREFIX)
        }

    async def global_value(self, tenant_ids: Sequence[str], name: str) -> dict[str, Any]:
        """tenant id → the global value of ``name`` where set (not for secrets)."""
        query = sa.select(scoped_settings.c.tenant_id, scoped_settings.c.value).where(
            scoped_settings.c.scope == "global", scoped_settings.c.name == name
        )
        if tenant_ids:
            query = query.where(scoped_settings.c.tenant_id.in_(list(tenant_ids)))
        return {r.tenant_id: _value(r.value) for r in await self.fetch_all(query)}


def _value(stored: Any) -> Any:
    """A value as stored: wrapped in an object, since SQLite gives a JSON column numeric
    affinity and would turn a bare ``7`` into an integer that is no JSON text."""
    return stored.get("v") if isinstance(stored, dict) else None


def _row(tenant_id: str, scope: str, item: StoredSetting, at: int) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "scope": scope,
        "name": item.name,
        "value": None if item.sealed is not None else {"v": item.value},
        "sealed": item.sealed,
        "updated_at": at,
    }
