"""Units: named groups of a tenant's users (a region, a depot, a team), optionally nested.

A user belongs to at most one unit (``unit`` on the user). A unit's key never changes:
users and settings name units by key. A unit with child units or members is not deleted
(409 naming them), so nothing is left pointing at a unit that is gone
(docs/settings.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Protocol

from pydantic import Field, StringConstraints

from pushgate.core.access import Caller
from pushgate.core.audit import AuditAction, AuditLog
from pushgate.core.ids import new_id, now_ms
from pushgate.core.inputs import Strict
from pushgate.core.models import Scope, Tenant
from pushgate.core.settings_catalog import UNIT_KEY_PATTERN
from pushgate.errors import Conflict, InvalidInput, NotFound

UnitKey = Annotated[str, StringConstraints(pattern=UNIT_KEY_PATTERN)]
UnitName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
# Deeper chains are refused: resolution walks them for every recipient's unit.
MAX_DEPTH = 16


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    tenant_id: str
    key: str
    name: str
    parent: str | None
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class UnitUse:
    """What keeps a unit from being deleted: its child units' keys and how many users
    belong to it (with the first few external ids)."""

    children: list[str]
    members: int
    some_members: list[str]

    @property
    def is_free(self) -> bool:
        return not self.children and not self.members


class UnitStorePort(Protocol):
    async def insert_unit(self, unit: Unit) -> bool:
        """False when the tenant has a unit with that key already."""
        ...

    async def unit(self, tenant_id: str, key: str) -> Unit | None: ...
    async def list_units(self, tenant_id: str) -> list[Unit]: ...
    async def update_unit(self, unit: Unit) -> None: ...
    async def delete_unit(self, tenant_id: str, key: str) -> UnitUse:
        """Delete the unit and its settings unless it is in use; what uses it (nothing,
        when deleted), read in the deleting transaction."""
        ...


class UnitInput(Strict):
    key: UnitKey
    name: UnitName
    parent: UnitKey | None = Field(default=None, description="The key of the parent unit.")


class UnitPatch(Strict):
    name: UnitName | None = None
    parent: UnitKey | None = Field(
        default=None, description="The key of the new parent unit; null: a top unit."
    )


def parents_of(units: Sequence[Unit]) -> dict[str, str | None]:
    return {u.key: u.parent for u in units}


def chain(key: str, parents: Mapping[str, str | None]) -> list[str]:
    """``key`` and its ancestors, nearest first (a cycle, which the service refuses to
    make, stops the walk)."""
    found: list[str] = []
    current: str | None = key
    while current is not None and current not in found and len(found) <= MAX_DEPTH:
        found.append(current)
        current = parents.get(current)
    return found


class Units:
    """Create, read, change and delete a tenant's units; every change audited."""

    def __init__(self, store: UnitStorePort, audit: AuditLog) -> None:
        self.store = store
        self.audit = audit

    async def create(self, caller: Caller, tenant: Tenant, data: UnitInput) -> Unit:
        caller.require(Scope.ADMIN)
        if data.parent is not None:
            await self._parent_chain(tenant, data.parent, data.key)
        at = now_ms()
        unit = Unit(new_id(), tenant.id, data.key, data.name, data.parent, at, at)
        if not await self.store.insert_unit(unit):
            raise Conflict(f"unit {data.key!r} exists already", details={"unit": data.key})
        await self.audit.record(
            caller, AuditAction.UNIT_CREATE, unit.id, tenant.id, key=unit.key, parent=unit.parent
        )
        return unit

    async def get(self, caller: Caller, tenant: Tenant, key: str) -> Unit:
        caller.require(Scope.ADMIN, Scope.SEND)
        return await self.existing(tenant, key)

    async def existing(self, tenant: Tenant, key: str) -> Unit:
        found = await self.store.unit(tenant.id, key)
        if found is None:
            raise NotFound(f"unit {key!r} not found", details={"unit": key})
        return found

    async def list(self, caller: Caller, tenant: Tenant) -> list[Unit]:
        caller.require(Scope.ADMIN, Scope.SEND)
        return await self.store.list_units(tenant.id)

    async def update(self, caller: Caller, tenant: Tenant, key: str, data: UnitPatch) -> Unit:
        caller.require(Scope.ADMIN)
        unit = await self.existing(tenant, key)
        changed = replace(unit, updated_at=now_ms())
        if data.name is not None:
            changed = replace(changed, name=data.name)
        if "parent" in data.model_fields_set:
            if data.parent is not None:
                await self._parent_chain(tenant, data.parent, key)
            changed = replace(changed, parent=data.parent)
        await self.store.update_unit(changed)
        fields = sorted(data.model_fields_set)
        await self.audit.record(
            caller, AuditAction.UNIT_UPDATE, unit.id, tenant.id, key=key, changed=fields
        )
        return changed

    async def delete(self, caller: Caller, tenant: Tenant, key: str) -> None:
        caller.require(Scope.ADMIN)
        unit = await self.existing(tenant, key)
        use = await self.store.delete_unit(tenant.id, key)
        if not use.is_free:
            raise Conflict(
                f"unit {key!r} has child units or members; move them first",
                details={
                    "unit": key,
                    "children": use.children,
                    "members": use.members,
                    "some_members": use.some_members,
                },
            )
        await self.audit.record(caller, AuditAction.UNIT_DELETE, unit.id, tenant.id, key=key)

    async def _parent_chain(self, tenant: Tenant, parent: str, key: str) -> None:
        """Refuse a parent that does not exist, that would make a cycle (``key`` among
        its ancestors) or a chain deeper than :data:`MAX_DEPTH`."""
        parents = parents_of(await self.store.list_units(tenant.id))
        if parent not in parents:
            raise InvalidInput(
                f"parent unit {parent!r} not found", details={"field": "parent", "unit": parent}
            )
        ancestors = chain(parent, parents)
        if key in ancestors:
            raise InvalidInput(
                f"unit {key!r} cannot be under {parent!r}: that makes a cycle",
                # The loop the change would close: key → parent → … → key.
                details={"field": "parent", "cycle": [key, *ancestors[: ancestors.index(key) + 1]]},
            )
        if len(ancestors) >= MAX_DEPTH:
            raise InvalidInput(f"units nest at most {MAX_DEPTH} deep", details={"field": "parent"})
