"""An app's triggers: define, read, change, delete, test (docs/events.md, "Triggers").

A trigger is checked whole when it is stored: its condition and ``cancel_on`` compile, its
field paths are well formed (core/event_inputs.py), its type exists in the app, and a
delay without which ``cancel_on`` means nothing is refused; each a 422 naming the field.
Compiled conditions are kept per trigger version and process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from pushgate.core.access import Caller
from pushgate.core.audit import AuditAction, AuditLog
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.conditions import Condition, ConditionInvalid, compile_condition
from pushgate.core.event_inputs import TriggerInput, TriggerPatch
from pushgate.core.ids import new_id
from pushgate.core.models import App, Scope, Tenant
from pushgate.core.notification_types import TypeCatalog
from pushgate.core.registry import MAX_PAGE, Registry
from pushgate.core.ttlcache import TtlCache
from pushgate.errors import InvalidInput, NotFound

# How long the triggers read for an event are reused (a change elsewhere is seen within it).
TRIGGER_CACHE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Trigger:
    id: str
    tenant_id: str
    app_id: str
    spec: TriggerInput
    version: int
    created_at: int
    updated_at: int

    @property
    def key(self) -> str:
        return self.spec.key


class TriggerStorePort(Protocol):
    async def insert_trigger(self, item: Trigger) -> None: ...
    async def trigger(self, app_id: str, key: str) -> Trigger | None: ...
    async def trigger_by_id(self, trigger_id: str) -> Trigger | None: ...
    async def list_triggers(self, app_id: str, after: str | None, limit: int) -> list[Trigger]: ...
    async def tenant_triggers(self, tenant_id: str) -> list[Trigger]: ...
    async def update_trigger(self, item: Trigger) -> None: ...
    async def delete_trigger(self, app_id: str, key: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class CompiledTrigger:
    trigger: Trigger
    condition: Condition | None
    cancel_on: Condition | None


class TriggerCatalog:
    """Define, read, change and delete an app's triggers; compiled triggers for events."""

    def __init__(
        self,
        store: TriggerStorePort,
        registry: Registry,
        types: TypeCatalog,
        *,
        audit: AuditLog,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.registry = registry
        self.types = types
        self.audit = audit
        self.clock = clock
        self._compiled: dict[tuple[str, int], CompiledTrigger] = {}
        self._by_tenant: TtlCache[str, list[Trigger]] = TtlCache(TRIGGER_CACHE_SECONDS)

    async def create(
        self, caller: Caller, tenant: Tenant, app_name: str, data: TriggerInput
    ) -> Trigger:
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        await self._check(app, data)
        now = self.clock.now_ms()
        item = Trigger(new_id(), tenant.id, app.id, data, 1, now, now)
        await self.store.insert_trigger(item)
        await self._audit(caller, tenant, AuditAction.TRIGGER_CREATE, app, item)
        return item

    async def read(self, caller: Caller, tenant: Tenant, app_name: str, key: str) -> Trigger:
        caller.require(Scope.SEND)
        return await self._trigger(await self.registry.app(tenant, app_name), key)

    async def list_triggers(
        self, caller: Caller, tenant: Tenant, app_name: str, after: str | None, limit: int
    ) -> list[Trigger]:
        caller.require(Scope.SEND)
        app = await self.registry.app(tenant, app_name)
        return await self.store.list_triggers(app.id, after, min(limit, MAX_PAGE))

    async def update(
        self, caller: Caller, tenant: Tenant, app_name: str, key: str, data: TriggerPatch
    ) -> Trigger:
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        item = await self._trigger(app, key)
        given = data.model_dump(exclude_unset=True)
        spec = TriggerInput.model_validate({**item.spec.model_dump(), **given})
        await self._check(app, spec)
        changed = replace(item, spec=spec, version=item.version + 1, updated_at=self.clock.now_ms())
        await self.store.update_trigger(changed)
        await self._audit(caller, tenant, AuditAction.TRIGGER_UPDATE, app, changed)
        return changed

    async def delete(self, caller: Caller, tenant: Tenant, app_name: str, key: str) -> None:
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        item = await self._trigger(app, key)
        await self.store.delete_trigger(app.id, key)
        await self._audit(caller, tenant, AuditAction.TRIGGER_DELETE, app, item)

    async def app_trigger(
        self, caller: Caller, tenant: Tenant, app_name: str, key: str
    ) -> tuple[App, CompiledTrigger]:
        caller.require(Scope.SEND)
        app = await self.registry.app(tenant, app_name)
        return app, self.compiled(await self._trigger(app, key))

    async def of_tenant(self, tenant_id: str) -> list[CompiledTrigger]:
        """The tenant's triggers, compiled, read at most once a second per process."""
        found = await self._by_tenant.get(tenant_id, lambda: self.store.tenant_triggers(tenant_id))
        return [self.compiled(item) for item in found or ()]

    async def by_id(self, trigger_id: str) -> CompiledTrigger | None:
        item = await self.store.trigger_by_id(trigger_id)
        return None if item is None else self.compiled(item)

    def compiled(self, item: Trigger) -> CompiledTrigger:
        cache_key = (item.id, item.version)
        found = self._compiled.get(cache_key)
        if found is None:
            if len(self._compiled) > 4096:
                self._compiled.clear()
            spec = item.spec
            found = CompiledTrigger(
                item,
                compile_condition(spec.condition) if spec.condition else None,
                compile_condition(spec.cancel_on) if spec.cancel_on else None,
            )
            self._compiled[cache_key] = found
        return found

    def forget(self) -> None:
        """Drop the triggers read per tenant (after this process changed them in bulk)."""
        self._by_tenant.invalidate()

    async def _check(self, app: App, spec: TriggerInput) -> None:
        check_conditions(spec)
        if await self.types.store.notification_type(app.id, spec.type) is None:
            raise InvalidInput(
                f"the app has no notification type {spec.type!r}",
                details={"field": "type", "reason": "unknown type"},
            )

    async def _trigger(self, app: App, key: str) -> Trigger:
        item = await self.store.trigger(app.id, key)
        if item is None:
            raise NotFound(f"no trigger {key!r}", details={"trigger": key})
        return item

    async def _audit(
        self, caller: Caller, tenant: Tenant, action: AuditAction, app: App, item: Trigger
    ) -> None:
        await self.audit.record(
            caller, action, item.id, tenant.id, app=app.name, key=item.key, type=item.spec.type
        )


def check_conditions(spec: TriggerInput) -> None:
    """A trigger's condition and ``cancel_on`` compile, and ``cancel_on`` comes with a
    delay; else a 422 naming the field."""
    for name in ("condition", "cancel_on"):
        source = getattr(spec, name)
        if source is None:
            continue
        try:
            compile_condition(source)
        except ConditionInvalid as exc:
            raise InvalidInput(
                f"{name}: {exc.message}", details={"field": name, "reason": exc.message}
            ) from exc
    if spec.cancel_on is not None and spec.delay_minutes is None:
        raise InvalidInput(
            "cancel_on needs delay_minutes: only a delayed send can be cancelled",
            details={"field": "cancel_on", "reason": "no delay"},
        )


def matching(
    triggers: Sequence[CompiledTrigger],
    name: str,
    record_type: str,
    operation: str | None,
    app_id: str | None,
) -> list[CompiledTrigger]:
    """The enabled triggers whose event names, record type and operations take the event
    (and of ``app_id`` when the event names an app)."""
    out = []
    for item in triggers:
        spec = item.trigger.spec
        if not spec.enabled or name not in spec.events:
            continue
        if spec.record_type is not None and spec.record_type != record_type:
            continue
        if spec.operations and operation not in spec.operations:
            continue
        if app_id is not None and item.trigger.app_id != app_id:
            continue
        out.append(item)
    return out
