"""The notification types of apps: define, read, change, delete, preview (docs/types.md).

Every method takes the authenticated caller and its tenant, like the action catalog's:
reading needs the admin or send scope, changing needs admin, and an app of another tenant
is not found. A type's template must compile to be stored; it is compiled once per
version of the type and process (:class:`~pushgate.core.templates.TemplateCache`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pushgate.core.access import Caller
from pushgate.core.audit import AuditAction, AuditLog
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.ids import new_id
from pushgate.core.models import App, Device, Provider, Scope, Tenant, User
from pushgate.core.ports import ActionStorePort, TypeStorePort
from pushgate.core.registry import MAX_PAGE, Registry
from pushgate.core.scoped_settings import provider_needs
from pushgate.core.templates import (
    CompiledTemplate,
    TemplateCache,
    TemplateFailure,
    compile_template,
    render,
    sample_context,
)
from pushgate.core.ttlcache import TtlCache
from pushgate.core.type_inputs import NotificationType, PreviewInput, TypeInput, TypePatch
from pushgate.errors import InvalidInput, NotFound

# How long a type read for a send is reused (another process's change is seen within it).
TYPE_CACHE_SECONDS = 1.0
_PLAIN_FIELDS = ("name", "description", "enabled", "opt_out_allowed")
_DEFAULTS = ("priority", "ttl", "collapse_key", "action_set")


class TypeCatalog:
    """Define, read, change, delete and preview an app's notification types."""

    def __init__(
        self,
        store: TypeStorePort,
        registry: Registry,
        actions: ActionStorePort,
        *,
        audit: AuditLog,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.registry = registry
        self.actions = actions
        self.audit = audit
        self.clock = clock
        self.templates = TemplateCache()
        self.lookups: TtlCache[tuple[str, str], NotificationType] = TtlCache(TYPE_CACHE_SECONDS)

    async def on_by_default(self, tenant_id: str, key: str) -> bool:
        """A type's switch where no scope sets ``types.<key>.enabled``: its own ``enabled``.
        Settings name a type by key across the tenant's apps (docs/settings.md), so one
        app's type of that key switched off is off for the key."""
        return all(item.enabled for item in await self.store.types_of_key(tenant_id, key))

    async def keys(self, tenant_id: str) -> list[str]:
        """The keys of the tenant's types, in any app."""
        return await self.store.type_keys(tenant_id)

    async def general_needs(self, tenant_id: str, key: str) -> tuple[str, ...]:
        """The general settings a type of ``key`` needs set globally before it is turned on:
        those of the providers its types name (a type naming none needs none)."""
        named = {
            p for item in await self.store.types_of_key(tenant_id, key) for p in item.providers
        }
        return provider_needs(Provider(p) for p in named)

    async def create(
        self, caller: Caller, tenant: Tenant, app_name: str, data: TypeInput
    ) -> NotificationType:
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        await self._check_action_set(app, data.action_set)
        template = None if data.template is None else data.template.source()
        check_template(template)
        item = type_from_input(data, app.id, self.clock.now_ms())
        await self.store.insert_type(tenant.id, item)
        self.lookups.invalidate()
        await self._audit(caller, AuditAction.TYPE_CREATE, item, tenant, app)
        return item

    async def read(
        self, caller: Caller, tenant: Tenant, app_name: str, key: str
    ) -> NotificationType:
        caller.require(Scope.ADMIN, Scope.SEND)
        app = await self.registry.app(tenant, app_name)
        return await self._type(app, key)

    async def list_types(
        self, caller: Caller, tenant: Tenant, app_name: str, after: str | None, limit: int
    ) -> list[NotificationType]:
        caller.require(Scope.ADMIN, Scope.SEND)
        app = await self.registry.app(tenant, app_name)
        return await self.store.list_types(app.id, after, max(1, min(limit, MAX_PAGE)))

    async def update(
        self, caller: Caller, tenant: Tenant, app_name: str, key: str, data: TypePatch
    ) -> NotificationType:
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        current = await self._type(app, key)
        given = data.model_fields_set
        changes: dict[str, Any] = {n: getattr(data, n) for n in _PLAIN_FIELDS if n in given}
        changes.update({n: getattr(data, n) for n in _DEFAULTS if n in given})
        if "providers" in given:
            changes["providers"] = tuple(p.value for p in data.providers)
        if "template" in given:
            template = None if data.template is None else data.template.source()
            check_template(template)
            changes["template"] = template
        if "action_set" in given:
            await self._check_action_set(app, data.action_set)
        updated = replace(
            current, **changes, version=current.version + 1, updated_at=self.clock.now_ms()
        )
        if not await self.store.update_type(updated):
            raise _no_type(key)
        self.lookups.invalidate()
        await self._audit(
            caller, AuditAction.TYPE_UPDATE, updated, tenant, app, changed=sorted(changes)
        )
        return updated

    async def delete(self, caller: Caller, tenant: Tenant, app_name: str, key: str) -> None:
        """Delete a type; notifications sent as it keep their content and its key."""
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        item = await self._type(app, key)
        if not await self.store.delete_type(app.id, key):
            raise _no_type(key)
        self.lookups.invalidate()
        await self._audit(caller, AuditAction.TYPE_DELETE, item, tenant, app)

    async def preview(
        self, caller: Caller, tenant: Tenant, app_name: str, key: str, data: PreviewInput
    ) -> dict[str, Any]:
        """The content the type's template makes from ``data`` for a user and device (or
        without them, a recipient whose fields are all empty): every locale variant, or
        the one ``locale`` chooses. A render error is a 422 naming the field."""
        caller.require(Scope.ADMIN, Scope.SEND)
        app = await self.registry.app(tenant, app_name)
        item = await self._type(app, key)
        user = None if data.user is None else await self.registry.user(caller, tenant, data.user)
        device = None
        if data.device is not None:
            device = await self.registry.device(caller, tenant, data.device)
            if device.app_id != app.id:
                raise NotFound(f"device {data.device!r} not found", details={"device": data.device})
            if user is None and device.user_id is not None:
                user = await self.registry.people.user_by_id(device.user_id)
        template = self.compiled(item)
        if template is None:
            return {}
        context = preview_context(data.data, user, device)
        locales = () if data.locale is None else (data.locale,)
        try:
            return render(template, context, locales)
        except TemplateFailure as exc:
            raise refusal(exc) from exc

    async def for_send(self, app: App, key: str) -> NotificationType:
        """The app's type ``key`` for a send (read at most once a second per process);
        an unknown key is a 422 naming ``type``."""
        found = await self.lookups.get(
            (app.id, key), lambda: self.store.notification_type(app.id, key)
        )
        if found is None:
            raise InvalidInput(
                f"type: the app has no notification type {key!r}",
                details={"field": "type", "reason": "unknown notification type"},
            )
        return found

    async def may_opt_out(self, app_id: str, key: str) -> bool:
        """Whether people may opt out of the app's type ``key`` (a type deleted since the
        send was accepted counts as one they may)."""
        found = await self.lookups.get(
            (app_id, key), lambda: self.store.notification_type(app_id, key)
        )
        return found is None or found.opt_out_allowed

    def compiled(self, item: NotificationType) -> CompiledTemplate | None:
        if item.template is None:
            return None
        return self.templates.get(item.id, item.version, item.template)

    async def _type(self, app: App, key: str) -> NotificationType:
        found = await self.store.notification_type(app.id, key)
        if found is None:
            raise _no_type(key)
        return found

    async def _check_action_set(self, app: App, key: str | None) -> None:
        if key is not None and await self.actions.action_set(app.id, key) is None:
            raise InvalidInput(
                f"action_set: the app has no action set {key!r}",
                details={"field": "action_set", "reason": "unknown action set"},
            )

    async def _audit(
        self,
        caller: Caller,
        what: AuditAction,
        item: NotificationType,
        tenant: Tenant,
        app: App,
        **details: Any,
    ) -> None:
        await self.audit.record(
            caller, what, item.id, tenant.id, app=app.name, key=item.key, **details
        )


def preview_context(
    data: dict[str, Any], user: User | None, device: Device | None
) -> dict[str, Any]:
    """A template's context for a preview: the given user and device, else the sample
    recipient's fields (core/templates.py)."""
    context = sample_context(data)
    if user is not None:
        context["user"] = {
            "external_id": user.external_id,
            "locale": user.locale,
            "timezone": user.timezone,
            "attributes": dict(user.attributes),
        }
    if device is not None:
        context["device"] = {
            "platform": device.platform.value,
            "locale": device.locale,
            "timezone": device.timezone,
            "provider": device.provider.value,
        }
    return context


def refusal(failure: TemplateFailure) -> InvalidInput:
    """A template that fails, as the 422 that names its field."""
    return InvalidInput(str(failure), details={"field": failure.field, "reason": failure.message})


def check_template(source: dict[str, Any] | None) -> None:
    if source is None:
        return
    try:
        compile_template(source)
    except TemplateFailure as exc:
        raise refusal(exc) from exc


def _no_type(key: str) -> NotFound:
    return NotFound(f"notification type {key!r} not found", details={"type": key})


def type_from_input(
    data: TypeInput, app_id: str, now: int, before: NotificationType | None = None
) -> NotificationType:
    """The type ``data`` defines in the app: new, or ``before`` changed to it (its id and
    creation kept, its version counted on), as an install of a package writes it."""
    return NotificationType(
        id=new_id() if before is None else before.id,
        app_id=app_id,
        key=data.key,
        name=data.name or data.key,
        description=data.description,
        enabled=data.enabled,
        priority=data.priority,
        ttl=data.ttl,
        collapse_key=data.collapse_key,
        action_set=data.action_set,
        providers=tuple(p.value for p in data.providers),
        opt_out_allowed=data.opt_out_allowed,
        template=None if data.template is None else data.template.source(),
        version=1 if before is None else before.version + 1,
        created_at=now if before is None else before.created_at,
        updated_at=now,
    )
