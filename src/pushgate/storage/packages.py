"""Queries for packages (docs/packages.md): what an app holds that a package may carry,
the install records, and an install's writes, all in one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pushgate.core.actions import ActionDefinition, ActionSet
from pushgate.core.inbound_sources import StoredSource
from pushgate.core.package_bundle import ItemKind, ItemRef, flag_key, flag_parts
from pushgate.core.packages import InstallRecord, PackageWrites
from pushgate.core.settings_catalog import type_flag_name
from pushgate.core.triggers import Trigger
from pushgate.core.type_inputs import NotificationType
from pushgate.storage.accounts import BaseStore
from pushgate.storage.actions import ActionStore, action_columns, set_row
from pushgate.storage.inbound_sources import SourceStore, source_row
from pushgate.storage.record_events import TriggerStore, trigger_row
from pushgate.storage.scopes import ScopeStore
from pushgate.storage.tables import (
    action_sets,
    actions,
    apps,
    credentials,
    inbound_sources,
    notification_types,
    package_installs,
    scoped_settings,
    triggers,
)
from pushgate.storage.types import TypeStore, type_columns

# More than an app holds of any kind (each kind is read whole).
ALL = 100_000
# Deletes run in the reverse of the order items are written (core/package_bundle.py).
_DELETE_ORDER = list(reversed(ItemKind))


class PackageStore(BaseStore):
    """Reads through the stores of each kind; writes an install whole."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self.types = TypeStore(engine)
        self.actions = ActionStore(engine)
        self.triggers = TriggerStore(engine)
        self.scopes = ScopeStore(engine)
        self.sources = SourceStore(engine)

    async def app_types(self, app_id: str) -> list[NotificationType]:
        return await self.types.list_types(app_id, None, ALL)

    async def app_actions(self, app_id: str) -> list[ActionDefinition]:
        return await self.actions.list_actions(app_id)

    async def app_sets(self, app_id: str) -> list[ActionSet]:
        return await self.actions.list_sets(app_id)

    async def app_triggers(self, app_id: str) -> list[Trigger]:
        return await self.triggers.list_triggers(app_id, None, ALL)

    async def app_sources(self, tenant_id: str, app_name: str) -> list[StoredSource]:
        """The tenant's inbound sources that feed the app (those feeding every app belong
        to no app's package)."""
        found = await self.sources.list_sources(tenant_id, None, ALL)
        return [item for item in found if item.spec.get("app") == app_name]

    async def type_flags(self, tenant_id: str, type_keys: Iterable[str]) -> dict[str, bool]:
        """Flag key (``<scope>/<type>``) → value, for the switches of ``type_keys``."""
        found: dict[str, bool] = {}
        for type_key in sorted(set(type_keys)):
            for scope, value in (await self.scopes.type_flags(tenant_id, type_key)).items():
                found[flag_key(scope, type_key)] = value
        return found

    async def unit_keys(self, tenant_id: str) -> set[str]:
        return {unit.key for unit in await self.scopes.list_units(tenant_id)}

    async def global_values(self, tenant_id: str) -> dict[str, Any]:
        return await self.scopes.global_values(tenant_id)

    async def credential_kinds(self, app_id: str) -> set[str]:
        rows = await self.fetch_all(
            sa.select(credentials.c.kind).where(credentials.c.app_id == app_id)
        )
        return {row.kind for row in rows}

    async def installs(self, tenant_id: str, app_id: str | None = None) -> list[InstallRecord]:
        query = (
            sa.select(package_installs, apps.c.name.label("app_name"))
            .select_from(package_installs.join(apps, apps.c.id == package_installs.c.app_id))
            .where(package_installs.c.tenant_id == tenant_id)
            .order_by(apps.c.name, package_installs.c.name)
        )
        if app_id is not None:
            query = query.where(package_installs.c.app_id == app_id)
        return [_record(row) for row in await self.fetch_all(query)]

    async def apply(self, writes: PackageWrites) -> None:
        """Every write of an install, its record included, in one transaction: a failure
        leaves the app as it was. The app's row is locked first, as the action store's
        writes do, so two installs into one app run one after the other on PostgreSQL."""
        async with self.write(f"package {writes.record.name!r}") as connection:
            await connection.execute(
                sa.select(apps.c.id).where(apps.c.id == writes.record.app_id).with_for_update()
            )
            for kind in _DELETE_ORDER:
                for ref in writes.deletes:
                    if ref.kind == kind:
                        await self._delete(connection, writes.record, ref)
            for action, secret, replace_secret, is_new in writes.actions:
                await _put_action(
                    connection, writes.record.tenant_id, action, secret, is_new, replace_secret
                )
            for one_set, is_new in writes.action_sets:
                await _put_set(connection, writes.record.tenant_id, one_set, is_new)
            for one_type, is_new in writes.types:
                await _put_type(connection, writes.record.tenant_id, one_type, is_new)
            for trigger, is_new in writes.triggers:
                await _put_trigger(connection, trigger, is_new)
            for source, is_new in writes.sources:
                await _put_source(connection, source, is_new)
            for key, value in writes.type_flags:
                await self._put_flag(connection, writes.record.tenant_id, key, value, writes.at)
            await _put_record(connection, writes.record, keep=writes.keep_record)

    async def _delete(
        self, connection: AsyncConnection, record: InstallRecord, ref: ItemRef
    ) -> None:
        match ref.kind:
            case ItemKind.TYPE_FLAGS:
                scope, type_key = flag_parts(ref.key)
                await connection.execute(
                    sa.delete(scoped_settings).where(
                        scoped_settings.c.tenant_id == record.tenant_id,
                        scoped_settings.c.scope == scope,
                        scoped_settings.c.name == type_flag_name(type_key),
                    )
                )
            case ItemKind.SOURCES:
                await connection.execute(
                    sa.delete(inbound_sources).where(
                        inbound_sources.c.tenant_id == record.tenant_id,
                        inbound_sources.c.key == ref.key,
                    )
                )
            case ItemKind.TRIGGERS:
                await _delete_keyed(connection, triggers, record.app_id, ref.key)
            case ItemKind.TYPES:
                await _delete_keyed(connection, notification_types, record.app_id, ref.key)
            case ItemKind.ACTION_SETS:
                await _delete_keyed(connection, action_sets, record.app_id, ref.key)
            case ItemKind.ACTIONS:
                await _delete_keyed(connection, actions, record.app_id, ref.key)

    async def _put_flag(
        self, connection: AsyncConnection, tenant_id: str, key: str, value: bool, at: int
    ) -> None:
        scope, type_key = flag_parts(key)
        statement = self.dialect_insert()(scoped_settings).values(
            tenant_id=tenant_id,
            scope=scope,
            name=type_flag_name(type_key),
            value={"v": value},
            sealed=None,
            updated_at=at,
        )
        statement = statement.on_conflict_do_update(
            index_elements=["tenant_id", "scope", "name"],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
        )
        await connection.execute(statement)


async def _delete_keyed(
    connection: AsyncConnection, table: sa.Table, app_id: str, key: str
) -> None:
    await connection.execute(sa.delete(table).where(table.c.app_id == app_id, table.c.key == key))


async def _put_action(
    connection: AsyncConnection,
    tenant_id: str,
    action: ActionDefinition,
    secret: bytes | None,
    is_new: bool,
    replace_secret: bool,
) -> None:
    values = action_columns(action)
    if is_new:
        await connection.execute(
            sa.insert(actions).values(id=action.id, tenant_id=tenant_id, secret=secret, **values)
        )
        return
    for fixed in ("app_id", "key", "created_at"):
        del values[fixed]
    if replace_secret:
        values["secret"] = secret
    await connection.execute(sa.update(actions).where(actions.c.id == action.id).values(**values))


async def _put_set(
    connection: AsyncConnection, tenant_id: str, item: ActionSet, is_new: bool
) -> None:
    if is_new:
        await connection.execute(sa.insert(action_sets).values(**set_row(tenant_id, item)))
        return
    await connection.execute(
        sa.update(action_sets)
        .where(action_sets.c.id == item.id)
        .values(action_keys=list(item.action_keys), updated_at=item.updated_at)
    )


async def _put_type(
    connection: AsyncConnection, tenant_id: str, item: NotificationType, is_new: bool
) -> None:
    values = type_columns(item)
    if is_new:
        await connection.execute(
            sa.insert(notification_types).values(tenant_id=tenant_id, **values)
        )
        return
    for fixed in ("id", "app_id", "key", "created_at"):
        del values[fixed]
    await connection.execute(
        sa.update(notification_types).where(notification_types.c.id == item.id).values(**values)
    )


async def _put_trigger(connection: AsyncConnection, item: Trigger, is_new: bool) -> None:
    row = trigger_row(item)
    if is_new:
        await connection.execute(sa.insert(triggers).values(**row))
        return
    await connection.execute(
        sa.update(triggers)
        .where(triggers.c.id == item.id)
        .values(spec=row["spec"], version=row["version"], updated_at=row["updated_at"])
    )


async def _put_source(connection: AsyncConnection, item: StoredSource, is_new: bool) -> None:
    row = source_row(item)
    if is_new:
        await connection.execute(sa.insert(inbound_sources).values(**row))
        return
    changed = {name: row[name] for name in ("spec", "sealed", "version", "updated_at")}
    table = inbound_sources
    await connection.execute(sa.update(table).where(table.c.id == item.id).values(**changed))


async def _put_record(connection: AsyncConnection, record: InstallRecord, *, keep: bool) -> None:
    await connection.execute(
        sa.delete(package_installs).where(
            package_installs.c.app_id == record.app_id, package_installs.c.name == record.name
        )
    )
    if keep:
        await connection.execute(
            sa.insert(package_installs).values(
                id=record.id,
                tenant_id=record.tenant_id,
                app_id=record.app_id,
                name=record.name,
                version=record.version,
                items={ref.name: digest for ref, digest in sorted(record.items.items())},
                installed_at=record.installed_at,
                updated_at=record.updated_at,
            )
        )


def _record(row: Any) -> InstallRecord:
    return InstallRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        app_id=row.app_id,
        app=row.app_name,
        name=row.name,
        version=row.version,
        items={ItemRef.parse(name): str(digest) for name, digest in dict(row.items).items()},
        installed_at=int(row.installed_at),
        updated_at=int(row.updated_at),
    )
