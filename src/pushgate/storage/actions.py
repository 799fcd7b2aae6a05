"""Queries for an app's actions and action sets (docs/actions.md, "Model")."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pushgate.core.actions import (
    ActionDefinition,
    ActionDeletion,
    ActionSet,
    TextInput,
    handler_fields,
    handler_of,
)
from pushgate.storage.accounts import BaseStore
from pushgate.storage.tables import action_sets, actions, apps


class ActionStore(BaseStore):
    """Actions and sets of apps. Every write that depends on what else the app holds (a
    set's keys exist, no set uses a deleted action) first locks the app's row, so on
    PostgreSQL two such writes of one app run one after the other; SQLite runs every
    write transaction alone anyway (``FOR UPDATE`` is left out there)."""

    async def insert_action(
        self, tenant_id: str, action: ActionDefinition, secret: bytes | None
    ) -> None:
        async with self.write(f"action {action.key!r}") as connection:
            await connection.execute(
                sa.insert(actions).values(
                    id=action.id, tenant_id=tenant_id, secret=secret, **action_columns(action)
                )
            )

    async def action(self, app_id: str, ref: str) -> ActionDefinition | None:
        """The app's action whose id or key is ``ref``."""
        where = actions.c.key == ref
        if _is_uuid(ref):
            where = sa.or_(where, actions.c.id == ref)
        row = await self.fetch_one(sa.select(actions).where(actions.c.app_id == app_id, where))
        return _action(row) if row else None

    async def list_actions(self, app_id: str) -> list[ActionDefinition]:
        query = sa.select(actions).where(actions.c.app_id == app_id).order_by(actions.c.key)
        return [_action(row) for row in await self.fetch_all(query)]

    async def actions_by_key(self, app_id: str, keys: Sequence[str]) -> dict[str, ActionDefinition]:
        if not keys:
            return {}
        query = sa.select(actions).where(actions.c.app_id == app_id, actions.c.key.in_(keys))
        return {row.key: _action(row) for row in await self.fetch_all(query)}

    async def update_action(
        self, action: ActionDefinition, secret: bytes | None, *, replace_secret: bool
    ) -> bool:
        """Write ``action``'s fields (its key and owners stay); ``secret`` only when
        ``replace_secret``. False when the action is gone."""
        values = action_columns(action)
        for fixed in ("app_id", "key", "created_at"):
            del values[fixed]
        if replace_secret:
            values["secret"] = secret
        async with self.begin() as connection:
            result = await connection.execute(
                sa.update(actions).where(actions.c.id == action.id).values(**values)
            )
            return bool(result.rowcount)

    async def delete_action(self, app_id: str, action_id: str) -> ActionDeletion:
        async with self.begin() as connection:
            await _lock_app(connection, app_id)
            key = (
                await connection.execute(
                    sa.select(actions.c.key).where(
                        actions.c.id == action_id, actions.c.app_id == app_id
                    )
                )
            ).scalar()
            if key is None:
                return ActionDeletion(False)
            used_by = [s.key for s in await _sets(connection, app_id) if key in s.action_keys]
            if used_by:
                return ActionDeletion(False, tuple(used_by))
            await connection.execute(sa.delete(actions).where(actions.c.id == action_id))
            return ActionDeletion(True)

    async def action_secret(self, action_id: str) -> tuple[str, bytes] | None:
        """The app id and sealed webhook secret of an action, if it has one."""
        row = await self.fetch_one(
            sa.select(actions.c.app_id, actions.c.secret).where(actions.c.id == action_id)
        )
        if row is None or row.secret is None:
            return None
        return str(row.app_id), bytes(row.secret)

    # -- sets -------------------------------------------------------------------------
    async def insert_set(self, tenant_id: str, item: ActionSet) -> list[str]:
        """Store the set, unless some of its keys name no action of the app: then those
        keys, and nothing is stored."""
        async with self.write(f"action set {item.key!r}") as connection:
            await _lock_app(connection, item.app_id)
            missing = await _missing_keys(connection, item.app_id, item.action_keys)
            if not missing:
                await connection.execute(sa.insert(action_sets).values(**set_row(tenant_id, item)))
            return missing

    async def action_set(self, app_id: str, key: str) -> ActionSet | None:
        row = await self.fetch_one(
            sa.select(action_sets).where(action_sets.c.app_id == app_id, action_sets.c.key == key)
        )
        return _set(row) if row else None

    async def list_sets(self, app_id: str) -> list[ActionSet]:
        async with self.engine.connect() as connection:
            return await _sets(connection, app_id)

    async def update_set(self, item: ActionSet) -> list[str] | None:
        """Replace the set's keys: the keys that name no action (nothing changed), or None
        when the set is gone."""
        async with self.begin() as connection:
            await _lock_app(connection, item.app_id)
            missing = await _missing_keys(connection, item.app_id, item.action_keys)
            if missing:
                return missing
            result = await connection.execute(
                sa.update(action_sets)
                .where(action_sets.c.id == item.id)
                .values(action_keys=list(item.action_keys), updated_at=item.updated_at)
            )
            return [] if result.rowcount else None

    async def delete_set(self, app_id: str, key: str) -> bool:
        async with self.begin() as connection:
            result = await connection.execute(
                sa.delete(action_sets).where(
                    action_sets.c.app_id == app_id, action_sets.c.key == key
                )
            )
            return bool(result.rowcount)


async def _lock_app(connection: AsyncConnection, app_id: str) -> None:
    await connection.execute(sa.select(apps.c.id).where(apps.c.id == app_id).with_for_update())


async def _missing_keys(connection: AsyncConnection, app_id: str, keys: Sequence[str]) -> list[str]:
    found = set(
        (
            await connection.execute(
                sa.select(actions.c.key).where(actions.c.app_id == app_id, actions.c.key.in_(keys))
            )
        ).scalars()
    )
    return [key for key in keys if key not in found]


async def _sets(connection: AsyncConnection, app_id: str) -> list[ActionSet]:
    query = sa.select(action_sets).where(action_sets.c.app_id == app_id).order_by(action_sets.c.key)
    return [_set(row) for row in (await connection.execute(query)).all()]


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


def action_columns(action: ActionDefinition) -> dict[str, Any]:
    text_input = action.text_input
    return {
        "app_id": action.app_id,
        "key": action.key,
        "title": action.title,
        "titles": dict(action.titles),
        "options": {
            "foreground": action.foreground,
            "destructive": action.destructive,
            "authentication_required": action.authentication_required,
        },
        "text_input": None
        if text_input is None
        else {"placeholder": text_input.placeholder, "button_title": text_input.button_title},
        "handler_kind": action.handler.kind,
        "handler": handler_fields(action.handler),
        "allow_repeats": action.allow_repeats,
        "deadline_seconds": action.deadline_seconds,
        "created_at": action.created_at,
        "updated_at": action.updated_at,
    }


def _action(row: sa.Row[Any]) -> ActionDefinition:
    options = row.options
    text_input = row.text_input
    return ActionDefinition(
        id=row.id,
        app_id=row.app_id,
        key=row.key,
        title=row.title,
        titles=dict(row.titles),
        handler=handler_of(row.handler_kind, row.handler),
        foreground=bool(options["foreground"]),
        destructive=bool(options["destructive"]),
        authentication_required=bool(options["authentication_required"]),
        text_input=None
        if text_input is None
        else TextInput(text_input.get("placeholder"), text_input.get("button_title")),
        allow_repeats=bool(row.allow_repeats),
        deadline_seconds=int(row.deadline_seconds),
        created_at=int(row.created_at),
        updated_at=int(row.updated_at),
    )


def _set(row: sa.Row[Any]) -> ActionSet:
    return ActionSet(
        row.id,
        row.app_id,
        row.key,
        tuple(row.action_keys),
        int(row.created_at),
        int(row.updated_at),
    )


def set_row(tenant_id: str, item: ActionSet) -> dict[str, Any]:
    """An action set's row."""
    return {
        "id": item.id,
        "tenant_id": tenant_id,
        "app_id": item.app_id,
        "key": item.key,
        "action_keys": list(item.action_keys),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }
