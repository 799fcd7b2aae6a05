"""Settings by scope: read, replace and change a scope's values, and the effective view.

Values are checked against the one table of known settings (core/settings_catalog.py).
Secrets are sealed with the instance key like credentials and shown masked; a masked
value sent back in a replace keeps the stored secret. Turning a type on anywhere is
refused while a general setting it needs is not set globally (docs/settings.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from pushgate.core.access import Caller
from pushgate.core.audit import AuditAction, AuditLog
from pushgate.core.ids import now_ms
from pushgate.core.interaction_forwarding import SETTING as FORWARD_SETTING
from pushgate.core.models import Provider, Scope, Sealed, Tenant, sealed_for
from pushgate.core.ports import PeopleStorePort
from pushgate.core.secretbox import SecretBox
from pushgate.core.settings_catalog import (
    GENERAL,
    GLOBAL,
    MASK,
    check_value,
    shown,
    spec_of,
    type_flag_name,
    type_of_flag,
    unit_scope,
)
from pushgate.core.type_switches import DEFAULT, TypeSwitches
from pushgate.core.units import Units
from pushgate.errors import InvalidInput, NotFound

# (tenant id, type key) → the general settings the type needs set globally.
TypeNeeds = Callable[[str, str], Awaitable[Sequence[str]]]
# What each provider needs of the general settings before a type using it is turned on.
PROVIDER_NEEDS: Mapping[Provider, tuple[str, ...]] = {Provider.WEBHOOK: ("webhook.url",)}


# tenant id → the keys of the tenant's notification types, in any app.
TypeKeys = Callable[[str], Awaitable[Iterable[str]]]


def provider_needs(providers: Iterable[Provider]) -> tuple[str, ...]:
    """The general settings a type sending with ``providers`` needs, in table order."""
    wanted = {name for p in providers for name in PROVIDER_NEEDS.get(p, ())}
    return tuple(spec.name for spec in GENERAL if spec.name in wanted)


class SettingsMissing(InvalidInput):
    """A type turned on before the general settings it needs are set globally."""

    code = "settings_missing"


def missing_general(needs: Sequence[str], present: Mapping[str, Any]) -> list[str]:
    """The names of ``needs`` without a value in ``present`` (the global settings)."""
    return [name for name in needs if present.get(name) is None]


@dataclass(frozen=True, slots=True)
class StoredSetting:
    name: str
    value: Any
    sealed: bytes | None = None


@dataclass(frozen=True, slots=True)
class Effective:
    name: str
    value: Any
    source: str


class SettingStorePort(Protocol):
    async def scope_settings(self, tenant_id: str, scope: str) -> list[StoredSetting]: ...
    async def replace_settings(
        self, tenant_id: str, scope: str, items: Sequence[StoredSetting], at: int
    ) -> None: ...
    async def put_setting(
        self, tenant_id: str, scope: str, item: StoredSetting, at: int
    ) -> None: ...
    async def delete_setting(self, tenant_id: str, scope: str, name: str) -> bool: ...
    async def setting_names(self, tenant_id: str, prefix: str) -> list[str]:
        """The names starting with ``prefix`` set at any scope of the tenant."""
        ...


class Forgets(Protocol):
    """A cache of what settings say, dropped when this process changes them."""

    def forget(self) -> None: ...


class ScopedSettings:
    """The ``global`` and ``unit:<key>`` settings of a tenant."""

    def __init__(
        self,
        store: SettingStorePort,
        units: Units,
        switches: TypeSwitches,
        people: PeopleStorePort,
        box: SecretBox,
        audit: AuditLog,
        *,
        instance_retention_days: int,
        type_needs: TypeNeeds,
        type_keys: TypeKeys,
        caches: Sequence[Forgets] = (),
    ) -> None:
        self.store = store
        self.units = units
        self.switches = switches
        self.people = people
        self.box = box
        self.audit = audit
        self.instance_retention_days = instance_retention_days
        self.type_needs = type_needs
        self.type_keys = type_keys
        # Besides the switches: what else keeps settings (the webhook defaults).
        self.caches = (switches, *caches)

    async def read(self, caller: Caller, tenant: Tenant, unit: str | None) -> dict[str, Any]:
        """The values set at the scope (secrets masked)."""
        caller.require(Scope.ADMIN)
        scope = await self._scope(tenant, unit)
        return {s.name: _shown(s) for s in await self._stored(tenant, scope)}

    async def replace(
        self, caller: Caller, tenant: Tenant, unit: str | None, values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The scope's values become ``values``; names left out are unset."""
        caller.require(Scope.ADMIN)
        scope = await self._scope(tenant, unit)
        before = {s.name: s for s in await self._stored(tenant, scope)}
        items = [self._item(tenant, scope, n, v, before.get(n)) for n, v in values.items()]
        present = (
            {i.name: i.value if i.sealed is None else MASK for i in items}
            if scope == GLOBAL
            else await self._global_values(tenant)
        )
        await self._check_needs(tenant, values, present)
        await self.store.replace_settings(tenant.id, scope, items, now_ms())
        self._forget()
        await self.audit.record(
            caller, AuditAction.SETTINGS_SET, scope, tenant.id, names=sorted(values)
        )
        return await self.read(caller, tenant, unit)

    async def change(
        self, caller: Caller, tenant: Tenant, unit: str | None, name: str, value: Any
    ) -> dict[str, Any]:
        """Set one value at the scope; ``None`` unsets it."""
        caller.require(Scope.ADMIN)
        scope = await self._scope(tenant, unit)
        if value is None:
            spec_of(name)
            await self.store.delete_setting(tenant.id, scope, name)
        else:
            before = {s.name: s for s in await self._stored(tenant, scope)}
            item = self._item(tenant, scope, name, value, before.get(name))
            present = await self._global_values(tenant)
            if scope == GLOBAL:
                present[name] = value
            await self._check_needs(tenant, {name: value}, present)
            await self.store.put_setting(tenant.id, scope, item, now_ms())
        self._forget()
        await self.audit.record(caller, AuditAction.SETTINGS_SET, scope, tenant.id, names=[name])
        return await self.read(caller, tenant, unit)

    async def effective(self, caller: Caller, tenant: Tenant, unit: str | None) -> list[Effective]:
        """Every known setting's value at the unit (or the global scope), and the scope it
        came from: ``unit:<key>``, ``global`` or ``default``."""
        caller.require(Scope.ADMIN)
        if unit is not None:
            await self.units.existing(tenant, unit)
        found: list[Effective] = []
        general = {s.name: s for s in await self._stored(tenant, GLOBAL)}
        for spec in GENERAL:
            stored = general.get(spec.name)
            if stored is not None:
                found.append(Effective(spec.name, _shown(stored), GLOBAL))
            else:
                found.append(Effective(spec.name, self._default(spec.name), DEFAULT))
        # Every type's switch: those of the tenant's types, and those set for a key no
        # type has (yet).
        keys = {type_of_flag(name) for name in await self.store.setting_names(tenant.id, "types.")}
        keys.update(await self.type_keys(tenant.id))
        for type_key in sorted(key for key in keys if key is not None):
            name = type_flag_name(type_key)
            resolved = (await self.switches.board(tenant.id, type_key)).at(unit)
            found.append(Effective(name, resolved.enabled, resolved.source))
        return found

    async def effective_for_user(
        self, caller: Caller, tenant: Tenant, external_id: str
    ) -> tuple[str | None, list[Effective]]:
        """The user's unit and the effective settings there."""
        caller.require(Scope.ADMIN)
        user = await self.people.user_by_external_id(tenant.id, external_id)
        if user is None:
            raise NotFound(f"user {external_id!r} not found", details={"user": external_id})
        return user.unit, await self.effective(caller, tenant, user.unit)

    async def retention_days(self, tenant_id: str) -> int | None:
        """The tenant's ``retention_days``, if set."""
        for item in await self.store.scope_settings(tenant_id, GLOBAL):
            if item.name == "retention_days" and isinstance(item.value, int):
                return item.value
        return None

    async def forwards_interactions(self, tenant_id: str) -> bool:
        """Whether the tenant set ``interactions.forward`` (core/interaction_forwarding.py)."""
        for item in await self.store.scope_settings(tenant_id, GLOBAL):
            if item.name == FORWARD_SETTING:
                return item.value is True
        return False

    def _forget(self) -> None:
        for cache in self.caches:
            cache.forget()

    def _default(self, name: str) -> Any:
        return self.instance_retention_days if name == "retention_days" else None

    async def _scope(self, tenant: Tenant, unit: str | None) -> str:
        if unit is None:
            return GLOBAL
        await self.units.existing(tenant, unit)
        return unit_scope(unit)

    async def _stored(self, tenant: Tenant, scope: str) -> list[StoredSetting]:
        return await self.store.scope_settings(tenant.id, scope)

    async def _global_values(self, tenant: Tenant) -> dict[str, Any]:
        return {
            s.name: s.value if s.sealed is None else MASK
            for s in await self._stored(tenant, GLOBAL)
        }

    def _item(
        self, tenant: Tenant, scope: str, name: str, value: Any, before: StoredSetting | None
    ) -> StoredSetting:
        """A value checked (named in any refusal) and ready to store: a secret sealed,
        or kept as it was when sent back masked."""
        spec = spec_of(name)
        if spec.is_secret and value == MASK and before is not None and before.sealed:
            return before
        checked = check_value(name, value, scope)
        if not spec.is_secret:
            return StoredSetting(name, checked)
        sealed = self.box.seal(orjson.dumps(checked), _aad(tenant.id, name))
        return StoredSetting(name, None, sealed)

    async def _check_needs(
        self, tenant: Tenant, values: Mapping[str, Any], present: Mapping[str, Any]
    ) -> None:
        for name, value in values.items():
            type_key = type_of_flag(name)
            if type_key is None or value is not True:
                continue
            missing = missing_general(await self.type_needs(tenant.id, type_key), present)
            if missing:
                raise SettingsMissing(
                    f"type {type_key!r} cannot be turned on before these general settings "
                    f"are set globally: {', '.join(missing)}",
                    details={"setting": type_flag_name(type_key), "missing": missing},
                )

    def opened(self, tenant_id: str, item: StoredSetting) -> Any:
        """A stored value as sending uses it: a secret opened."""
        return open_setting(self.box, tenant_id, item)


def open_setting(box: SecretBox, tenant_id: str, item: StoredSetting) -> Any:
    """A stored value as sending uses it: a secret opened."""
    if item.sealed is None:
        return item.value
    return orjson.loads(box.open(item.sealed, _aad(tenant_id, item.name)))


def _shown(item: StoredSetting) -> Any:
    """A stored value as read back: a sealed secret masked."""
    return MASK if item.sealed is not None else shown(item.name, item.value)


def _aad(tenant_id: str, name: str) -> bytes:
    """What a secret setting is sealed for: it opens for no other tenant or setting (and
    the instance key's rotation finds it: ``Sealed.SETTING``)."""
    return sealed_for(tenant_id, Sealed.SETTING + name)
