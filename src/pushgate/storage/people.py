"""Queries for users, their per-app aliases and their devices."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pushgate.core.ids import new_id, now_ms
from pushgate.core.models import Device, DeviceState, TokenChange, User
from pushgate.errors import Conflict, Forbidden, InvalidInput
from pushgate.storage import rows
from pushgate.storage.accounts import BaseStore
from pushgate.storage.device_writes import (
    DeviceWrite,
    DeviceWrites,
    Registered,
    SqliteDeviceWrites,
    refreshed,
)
from pushgate.storage.device_writes_postgres import PostgresDeviceWrites
from pushgate.storage.group_commit import GroupCommit
from pushgate.storage.tables import device_token_history, devices, units, user_aliases, users


def device_writes_for(dialect: sa.Dialect) -> DeviceWrites:
    """The implementation for the engine's backend."""
    if dialect.name == "postgresql":
        return PostgresDeviceWrites(dialect)
    return SqliteDeviceWrites(dialect)


async def _require_unit(connection: AsyncConnection, tenant_id: str, key: str) -> None:
    """Refuse a unit the tenant lacks, in the transaction that sets it (on PostgreSQL the
    unit's row is held, so a delete of it waits, then finds the member)."""
    query = sa.select(units.c.id).where(units.c.tenant_id == tenant_id, units.c.key == key)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    if (await connection.execute(query)).first() is None:
        raise InvalidInput(f"unit {key!r} not found", details={"field": "unit", "unit": key})


class PeopleStore(BaseStore):
    """Users, aliases and devices."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._writes = device_writes_for(engine.dialect)
        # Registrations arriving together share a transaction (see group_commit.py).
        self.registrations: GroupCommit[DeviceWrite, Registered] = GroupCommit(self._register_group)
        # Statements of token moves are built once (per set of kept columns): building
        # SQLAlchemy constructs costs more than running them. Values come in as execution
        # parameters.
        self._device_upserts: dict[frozenset[str], sa.Executable] = {}
        insert = self.dialect_insert()
        # A no-op update on conflict lets one statement return the id either way.
        ensure = insert(users)
        self._user_ensure_returning = ensure.on_conflict_do_update(
            index_elements=["tenant_id", "external_id"],
            set_={"external_id": ensure.excluded.external_id},
        ).returning(users.c.id)
        self._device_by_token = sa.select(devices).where(
            devices.c.app_id == sa.bindparam("app"),
            devices.c.provider == sa.bindparam("provider"),
            devices.c.token == sa.bindparam("token"),
        )

    # -- users --------------------------------------------------------------------------
    async def upsert_user(self, item: User, *, fields: Sequence[str]) -> tuple[User, bool]:
        """Insert ``item`` or update the named ``fields`` of the tenant's existing user."""
        statement = self.dialect_insert()(users).values(
            id=item.id,
            tenant_id=item.tenant_id,
            external_id=item.external_id,
            locale=item.locale,
            timezone=item.timezone,
            attributes=item.attributes,
            created_at=item.created_at,
            updated_at=item.updated_at,
            unit=item.unit,
        )
        refreshed = {name: statement.excluded[name] for name in (*fields, "updated_at")}
        statement = statement.on_conflict_do_update(
            index_elements=["tenant_id", "external_id"], set_=refreshed
        ).returning(*users.c)
        async with self.begin() as connection:
            if item.unit is not None and "unit" in fields:
                await _require_unit(connection, item.tenant_id, item.unit)
            row = (await connection.execute(statement)).one()
        return rows.user(row), row.id == item.id

    async def ensure_users(
        self, tenant_id: str, external_ids: Sequence[str], at: int
    ) -> dict[str, str]:
        """Make the users that do not exist yet; returns external id → user id for all."""
        if not external_ids:
            return {}
        async with self.begin() as connection:
            found = await self._writes.user_ids(
                connection, {(tenant_id, name) for name in external_ids}, at
            )
        return {name: user_id for (_, name), user_id in found.items()}

    async def users_by_aliases(self, app_id: str, aliases: Sequence[str]) -> dict[str, str]:
        """alias → user id for the aliases of ``app_id`` that exist."""
        wanted = sorted(set(aliases))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            query = sa.select(user_aliases.c.alias, user_aliases.c.user_id).where(
                user_aliases.c.app_id == app_id,
                user_aliases.c.alias.in_(wanted[start : start + 500]),
            )
            found.update({r.alias: r.user_id for r in await self.fetch_all(query)})
        return found

    async def user_by_external_id(self, tenant_id: str, external_id: str) -> User | None:
        where = (users.c.tenant_id == tenant_id) & (users.c.external_id == external_id)
        row = await self.fetch_one(sa.select(users).where(where))
        return rows.user(row) if row else None

    async def user_by_id(self, user_id: str) -> User | None:
        row = await self.fetch_one(sa.select(users).where(users.c.id == user_id))
        return rows.user(row) if row else None

    async def list_users(
        self,
        tenant_id: str,
        after: str | None,
        limit: int,
        attributes: Mapping[str, str] | None = None,
    ) -> list[User]:
        query = sa.select(users).where(users.c.tenant_id == tenant_id)
        if attributes:
            query = query.where(self._attributes_match(attributes))
        if after:
            query = query.where(users.c.external_id > after)
        query = query.order_by(users.c.external_id).limit(limit)
        return [rows.user(r) for r in await self.fetch_all(query)]

    async def set_units(self, tenant_id: str, units_by_user: Mapping[str, str | None]) -> None:
        """Put users (by external id) in units (None: none), in one transaction."""
        statement = (
            sa.update(users)
            .where(
                users.c.tenant_id == sa.bindparam("b_tenant"),
                users.c.external_id == sa.bindparam("b_external_id"),
            )
            .values(unit=sa.bindparam("b_unit"), updated_at=sa.bindparam("b_at"))
        )
        at = now_ms()
        params = [
            {"b_tenant": tenant_id, "b_external_id": name, "b_unit": unit, "b_at": at}
            for name, unit in sorted(units_by_user.items())
        ]
        async with self.begin() as connection:
            await connection.execute(statement, params)

    def _attributes_match(self, wanted: Mapping[str, str]) -> sa.ColumnElement[bool]:
        """Users whose attributes hold ``wanted``: on PostgreSQL JSONB containment, which
        the GIN index on ``attributes`` serves; on SQLite ``json_extract`` per key, within
        the tenant's users (keys are checked names: ``core/inputs.py`` ATTRIBUTE_KEY)."""
        if self.engine.dialect.name == "postgresql":
            return sa.type_coerce(users.c.attributes, postgresql.JSONB).contains(dict(wanted))
        return sa.and_(
            *(
                sa.func.json_extract(users.c.attributes, f'$."{key}"') == value
                for key, value in sorted(wanted.items())
            )
        )

    async def delete_user(self, user_id: str, at: int) -> None:
        """Delete a user; their devices are unregistered (kept, detached, sending nothing)."""
        async with self.begin() as connection:
            await connection.execute(
                sa.update(devices)
                .where(devices.c.user_id == user_id)
                .values(
                    user_id=None,
                    state=DeviceState.UNREGISTERED.value,
                    state_reason="user deleted",
                    state_changed_at=at,
                    updated_at=at,
                )
            )
            await connection.execute(sa.delete(users).where(users.c.id == user_id))

    # -- aliases ------------------------------------------------------------------------
    async def set_alias(self, app_id: str, alias: str, user_id: str) -> None:
        statement = self.dialect_insert()(user_aliases).values(
            app_id=app_id, alias=alias, user_id=user_id
        )
        statement = statement.on_conflict_do_update(
            index_elements=["app_id", "alias"], set_={"user_id": statement.excluded.user_id}
        )
        async with self.begin() as connection:
            await connection.execute(statement)

    async def delete_alias(self, app_id: str, alias: str) -> bool:
        where = (user_aliases.c.app_id == app_id) & (user_aliases.c.alias == alias)
        async with self.begin() as connection:
            return bool((await connection.execute(sa.delete(user_aliases).where(where))).rowcount)

    async def user_by_alias(self, app_id: str, alias: str) -> User | None:
        query = (
            sa.select(users)
            .join(user_aliases, user_aliases.c.user_id == users.c.id)
            .where(user_aliases.c.app_id == app_id, user_aliases.c.alias == alias)
        )
        row = await self.fetch_one(query)
        return rows.user(row) if row else None

    async def aliases_of(self, user_id: str) -> list[tuple[str, str]]:
        """(app_id, alias) pairs of one user."""
        query = sa.select(user_aliases.c.app_id, user_aliases.c.alias).where(
            user_aliases.c.user_id == user_id
        )
        return [(r.app_id, r.alias) for r in await self.fetch_all(query)]

    # -- devices ------------------------------------------------------------------------
    async def upsert_devices(self, items: Sequence[Device]) -> None:
        """Bulk form of :meth:`save_device` for imports: one transaction for all."""
        await self.import_devices([(item, None, frozenset()) for item in items])

    async def import_devices(self, writes: Sequence[DeviceWrite]) -> None:
        """Bulk registration: in one transaction, make the users named by external id
        that do not exist yet, then upsert every device (later writes of a token win,
        an existing registration keeps the fields its write names as kept).
        """
        if not writes:
            return
        async with self.begin() as connection:
            await self._writes.upsert(connection, writes, now_ms())

    async def save_device(
        self,
        item: Device,
        *,
        user_external_id: str | None = None,
        old_token: str | None = None,
        kept: frozenset[str] = frozenset(),
        same_user_only: bool = False,
    ) -> tuple[Device, bool]:
        """Register ``item``; True when a new row was made. Answers once committed.

        ``user_external_id`` names the device's user, made on the fly when unknown.
        ``old_token`` moves the registration that holds it to ``item.token`` (history
        kept); when the new token is registered too, that row is refreshed and the old
        one unregistered. Without an ``old_token`` row this is an upsert by token, and
        concurrent upserts share one transaction (group commit). An existing registration
        keeps its ``kept`` fields (those of the old token's row, when it moves).
        ``same_user_only`` refuses (Forbidden) to move a registration that belongs to a user
        other than ``item``'s; checked in the moving transaction, so no race slips past it.
        """
        if old_token is None or old_token == item.token:
            return await self.registrations.submit((item, user_external_id, kept))
        # A concurrent registration can take the new token between the lookup and the
        # move (PostgreSQL; SQLite serialises writers): a 409 for this request, not a 500.
        async with self.write("a device with the new token") as connection:
            if user_external_id is not None:
                user_id = await self._ensure_user(connection, item, user_external_id)
                item = replace(item, user_id=user_id)
            old = await self._find(connection, item.app_id, item.provider.value, old_token)
            if same_user_only and old is not None and old.user_id not in (None, item.user_id):
                raise Forbidden(
                    "the old token is registered to another user",
                    details={"field": "old_token"},
                )
            if old is None:
                values = rows.device_values(item)
                row = (await connection.execute(self._device_upsert(kept), values)).one()
                return rows.device(row), row.id == item.id
            return await self._move(connection, item, old, old_token, kept), False

    def _device_upsert(self, kept: frozenset[str]) -> sa.Executable:
        found = self._device_upserts.get(kept)
        if found is None:
            upsert = self.dialect_insert()(devices)
            found = upsert.on_conflict_do_update(
                index_elements=["app_id", "provider", "token"],
                set_={name: upsert.excluded[name] for name in refreshed(kept)},
            ).returning(*devices.c)
            self._device_upserts[kept] = found
        return found

    async def _register_group(self, writes: Sequence[DeviceWrite]) -> list[Registered]:
        try:
            async with self.begin() as connection:
                return await self._writes.register(connection, writes, now_ms())
        except (sa.exc.IntegrityError, sqlite3.IntegrityError) as exc:
            # A foreign key failed: the app, tenant or user went away meanwhile. (SQLite
            # statements run on the driver itself, so its own error class comes up.)
            raise Conflict(
                "the device's app or user was removed while it was being registered",
                details={"object": "device"},
            ) from exc

    async def _ensure_user(
        self, connection: AsyncConnection, item: Device, external_id: str
    ) -> str:
        fresh: dict[str, Any] = {
            "id": new_id(),
            "tenant_id": item.tenant_id,
            "external_id": external_id,
            "locale": None,
            "timezone": None,
            "attributes": {},
            "created_at": item.updated_at,
            "updated_at": item.updated_at,
        }
        found = await connection.execute(self._user_ensure_returning, fresh)
        return str(found.scalar_one())

    async def _move(
        self,
        connection: AsyncConnection,
        moved: Device,
        old: sa.Row[Any],
        old_token: str,
        kept: frozenset[str],
    ) -> Device:
        clash = await self._find(connection, moved.app_id, moved.provider.value, moved.token)
        target_id = clash.id if clash is not None else old.id
        if clash is not None:
            await self._retire(connection, old.id, moved.updated_at)
        given = rows.device_values(moved)
        values = {name: given[name] for name in refreshed(kept)}
        if clash is not None:
            # The request refreshes the old token's registration: the row it lands on
            # takes over what that registration kept.
            values.update({name: old._mapping[name] for name in kept})
        values["token"] = moved.token
        await connection.execute(
            sa.update(devices).where(devices.c.id == target_id).values(**values)
        )
        await connection.execute(
            sa.insert(device_token_history).values(
                device_id=target_id,
                old_token=old_token,
                new_token=moved.token,
                changed_at=moved.updated_at,
            )
        )
        row = (await connection.execute(sa.select(devices).where(devices.c.id == target_id))).one()
        return rows.device(row)

    async def _find(
        self, connection: AsyncConnection, app_id: str, provider: str, token: str
    ) -> sa.Row[Any] | None:
        found = await connection.execute(
            self._device_by_token, {"app": app_id, "provider": provider, "token": token}
        )
        return found.first()

    async def _retire(self, connection: AsyncConnection, device_id: str, at: int) -> None:
        await connection.execute(
            sa.update(devices)
            .where(devices.c.id == device_id)
            .values(
                state=DeviceState.UNREGISTERED.value,
                state_reason="token replaced",
                state_changed_at=at,
                updated_at=at,
            )
        )

    async def device_by_id(self, tenant_id: str, device_id: str) -> Device | None:
        where = (devices.c.id == device_id) & (devices.c.tenant_id == tenant_id)
        row = await self.fetch_one(sa.select(devices).where(where))
        return rows.device(row) if row else None

    async def device_by_token(self, app_id: str, provider: str, token: str) -> Device | None:
        async with self.engine.connect() as connection:
            row = await self._find(connection, app_id, provider, token)
        return rows.device(row) if row else None

    async def list_devices(
        self, tenant_id: str, filters: dict[str, str], after: str | None, limit: int
    ) -> list[Device]:
        query = sa.select(devices).where(devices.c.tenant_id == tenant_id)
        for name, value in filters.items():
            query = query.where(devices.c[name] == value)
        if after:
            query = query.where(devices.c.id > after)
        query = query.order_by(devices.c.id).limit(limit)
        return [rows.device(r) for r in await self.fetch_all(query)]

    async def set_device_state(
        self, device_id: str, state: DeviceState, reason: str | None, at: int
    ) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.update(devices)
                .where(devices.c.id == device_id)
                .values(state=state.value, state_reason=reason, state_changed_at=at, updated_at=at)
            )

    async def token_history(self, device_id: str) -> list[TokenChange]:
        query = (
            sa.select(device_token_history)
            .where(device_token_history.c.device_id == device_id)
            .order_by(device_token_history.c.id)
        )
        return [
            TokenChange(r.old_token, r.new_token, r.changed_at) for r in await self.fetch_all(query)
        ]
