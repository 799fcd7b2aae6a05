"""The actions and action sets of apps, and the rules they keep (docs/actions.md, "Model").

Every method takes the authenticated caller and its tenant, like the registry's: reading
needs the admin or send scope, changing needs admin, and an app of another tenant is not
found. A webhook handler's signing secret is shown once, when it is made, and is kept
sealed with the instance key; only :meth:`ActionCatalog.webhook_secret` opens it again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from typing import Any

from pushgate.core import tokens
from pushgate.core.access import Caller
from pushgate.core.action_inputs import (
    ActionInput,
    ActionPatch,
    ActionSetInput,
    ActionSetPatch,
    HandlerInput,
    PythonHandlerInput,
    WebhookHandlerInput,
)
from pushgate.core.actions import (
    ENTRY_POINT_GROUP,
    ActionDefinition,
    ActionSet,
    WebhookHandler,
)
from pushgate.core.audit import AuditAction, AuditLog
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.credentials.webhook import generate_signing_secret
from pushgate.core.ids import new_id
from pushgate.core.models import App, Scope, Tenant, action_owner, sealed_for
from pushgate.core.ports import ActionStorePort
from pushgate.core.registry import Registry
from pushgate.core.secretbox import SecretBox
from pushgate.core.ttlcache import TtlCache
from pushgate.errors import Conflict, InvalidInput, NotFound


@dataclass(frozen=True, slots=True)
class SavedAction:
    """An action as a create or change left it, with the webhook signing secret when this
    change set it (the only time it is shown)."""

    action: ActionDefinition
    secret: str | None = None


# How long an action read by its app and id or key is reused (ActionCatalog.lookups).
ACTION_CACHE_SECONDS = 1.0


class ActionCatalog:
    """Define, read, change and delete actions and action sets; open a handler's secret."""

    def __init__(
        self,
        store: ActionStorePort,
        registry: Registry,
        box: SecretBox,
        *,
        audit: AuditLog,
        allow_private_targets: bool,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.registry = registry
        self.box = box
        self.audit = audit
        self.allow_private_targets = allow_private_targets
        self.clock = clock
        # The answer endpoint and the response loop read an action per answer: kept
        # ACTION_CACHE_SECONDS, so another process's change is seen within that time and
        # this process's own at once (every write below forgets them all).
        self.lookups: TtlCache[tuple[str, str], ActionDefinition] = TtlCache(ACTION_CACHE_SECONDS)

    # -- actions ------------------------------------------------------------------------
    async def create_action(
        self, caller: Caller, tenant: Tenant, app_name: str, data: ActionInput
    ) -> SavedAction:
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        self.check_handler(data.handler)
        action = action_from_input(data, app.id, self.clock.now_ms())
        secret = _given_or_new_secret(data.handler)
        await self.store.insert_action(tenant.id, action, self._seal(action, secret))
        self.lookups.invalidate()
        await self._audit(caller, AuditAction.ACTION_CREATE, action, tenant, app)
        return SavedAction(action, secret)

    async def action(
        self, caller: Caller, tenant: Tenant, app_name: str, ref: str
    ) -> ActionDefinition:
        """The app's action whose id or key is ``ref``."""
        caller.require(Scope.ADMIN, Scope.SEND)
        app = await self.registry.app(tenant, app_name)
        return await self._action(app, ref)

    async def list_actions(
        self, caller: Caller, tenant: Tenant, app_name: str
    ) -> list[ActionDefinition]:
        caller.require(Scope.ADMIN, Scope.SEND)
        app = await self.registry.app(tenant, app_name)
        return await self.store.list_actions(app.id)

    async def update_action(
        self, caller: Caller, tenant: Tenant, app_name: str, ref: str, data: ActionPatch
    ) -> SavedAction:
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        current = await self._action(app, ref)
        given = data.model_fields_set
        changes: dict[str, Any] = {
            name: getattr(data, name)
            for name in (
                "title",
                "titles",
                "foreground",
                "destructive",
                "authentication_required",
                "allow_repeats",
                "deadline_seconds",
            )
            if name in given and getattr(data, name) is not None
        }
        if "text_input" in given:
            changes["text_input"] = None if data.text_input is None else data.text_input.value()
        if data.handler is not None:
            self.check_handler(data.handler)
            changes["handler"] = data.handler.handler()
        updated = replace(current, **changes, updated_at=self.clock.now_ms())
        secret, replace_secret = self._secret_change(current, updated, data)
        if not await self.store.update_action(
            updated, self._seal(updated, secret), replace_secret=replace_secret
        ):
            raise _no_action(ref)
        self.lookups.invalidate()
        changed = sorted(set(changes) | ({"secret"} if replace_secret else set()))
        await self._audit(caller, AuditAction.ACTION_UPDATE, updated, tenant, app, changed=changed)
        return SavedAction(updated, secret)

    async def delete_action(self, caller: Caller, tenant: Tenant, app_name: str, ref: str) -> None:
        """Delete an action no set uses; notifications already accepted keep their copy."""
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        action = await self._action(app, ref)
        outcome = await self.store.delete_action(app.id, action.id)
        self.lookups.invalidate()
        if outcome.used_by:
            names = ", ".join(outcome.used_by)
            raise Conflict(
                f"action {action.key!r} is used by the action sets {names}: "
                "remove it from them first",
                details={"action": action.key, "action_sets": list(outcome.used_by)},
            )
        if not outcome.deleted:
            raise _no_action(ref)
        await self._audit(caller, AuditAction.ACTION_DELETE, action, tenant, app)

    async def webhook_secret(self, action_id: str) -> str | None:
        """The ``whsec_`` signing secret of an action's webhook handler, opened; None for an
        action without one (what the response loop signs its requests with)."""
        found = await self.store.action_secret(action_id)
        if found is None:
            return None
        app_id, sealed = found
        return self.box.open(sealed, sealed_for(app_id, action_owner(action_id))).decode()

    # -- action sets ----------------------------------------------------------------------
    async def create_set(
        self, caller: Caller, tenant: Tenant, app_name: str, data: ActionSetInput
    ) -> ActionSet:
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        keys = _distinct(data.actions)
        at = self.clock.now_ms()
        item = ActionSet(new_id(), app.id, data.key, keys, at, at)
        _refuse_missing(keys, await self.store.insert_set(tenant.id, item))
        await self._audit_set(caller, AuditAction.ACTION_SET_CREATE, item, tenant, app)
        return item

    async def action_set(
        self, caller: Caller, tenant: Tenant, app_name: str, key: str
    ) -> ActionSet:
        caller.require(Scope.ADMIN, Scope.SEND)
        app = await self.registry.app(tenant, app_name)
        return await self._set(app, key)

    async def list_sets(self, caller: Caller, tenant: Tenant, app_name: str) -> list[ActionSet]:
        caller.require(Scope.ADMIN, Scope.SEND)
        app = await self.registry.app(tenant, app_name)
        return await self.store.list_sets(app.id)

    async def update_set(
        self, caller: Caller, tenant: Tenant, app_name: str, key: str, data: ActionSetPatch
    ) -> ActionSet:
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        current = await self._set(app, key)
        keys = _distinct(data.actions)
        item = replace(current, action_keys=keys, updated_at=self.clock.now_ms())
        missing = await self.store.update_set(item)
        if missing is None:
            raise _no_set(key)
        _refuse_missing(keys, missing)
        await self._audit_set(caller, AuditAction.ACTION_SET_UPDATE, item, tenant, app)
        return item

    async def delete_set(self, caller: Caller, tenant: Tenant, app_name: str, key: str) -> None:
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        item = await self._set(app, key)
        if not await self.store.delete_set(app.id, key):
            raise _no_set(key)
        await self._audit_set(caller, AuditAction.ACTION_SET_DELETE, item, tenant, app)

    # -- helpers --------------------------------------------------------------------------
    async def _action(self, app: App, ref: str) -> ActionDefinition:
        found = await self.store.action(app.id, ref)
        if found is None:
            raise _no_action(ref)
        return found

    async def _set(self, app: App, key: str) -> ActionSet:
        found = await self.store.action_set(app.id, key)
        if found is None:
            raise _no_set(key)
        return found

    def check_handler(self, handler: HandlerInput) -> None:
        """What the input model cannot know: whether the instance may call the URL (the
        rules webhook devices are held to, core/tokens.py), and whether the Python
        handler is installed."""
        if isinstance(handler, WebhookHandlerInput):
            tokens.check_url("handler.url", handler.url, allow_insecure=self.allow_private_targets)
        elif isinstance(handler, PythonHandlerInput) and not entry_points(
            group=ENTRY_POINT_GROUP, name=handler.name
        ):
            raise InvalidInput(
                f"handler.name: no Python handler {handler.name!r} is installed "
                f"(entry point group {ENTRY_POINT_GROUP})",
                details={"field": "handler.name", "reason": "not installed"},
            )

    def _secret_change(
        self, current: ActionDefinition, updated: ActionDefinition, data: ActionPatch
    ) -> tuple[str | None, bool]:
        """The new secret and whether to write it: a handler that stops being a webhook
        loses its secret, one that becomes a webhook gets one, a webhook keeps its own
        unless a new one is given or a rotation asked for."""
        is_webhook = isinstance(updated.handler, WebhookHandler)
        if data.rotate_secret and not is_webhook:
            raise InvalidInput(
                "rotate_secret: only a webhook handler has a signing secret",
                details={"field": "rotate_secret"},
            )
        if not is_webhook:
            return None, isinstance(current.handler, WebhookHandler)
        given = data.handler.secret if isinstance(data.handler, WebhookHandlerInput) else None
        if given is not None:
            return given, True
        if data.rotate_secret or not isinstance(current.handler, WebhookHandler):
            return generate_signing_secret(), True
        return None, False

    def _seal(self, action: ActionDefinition, secret: str | None) -> bytes | None:
        if secret is None:
            return None
        return self.box.seal(secret.encode(), sealed_for(action.app_id, action_owner(action.id)))

    async def _audit(
        self,
        caller: Caller,
        what: AuditAction,
        action: ActionDefinition,
        tenant: Tenant,
        app: App,
        **details: Any,
    ) -> None:
        await self.audit.record(
            caller,
            what,
            action.id,
            tenant.id,
            app=app.name,
            key=action.key,
            handler=action.handler.kind,
            **details,
        )

    async def _audit_set(
        self, caller: Caller, what: AuditAction, item: ActionSet, tenant: Tenant, app: App
    ) -> None:
        await self.audit.record(
            caller, what, item.id, tenant.id, app=app.name, key=item.key, actions=item.action_keys
        )


def _given_or_new_secret(handler: HandlerInput) -> str | None:
    if not isinstance(handler, WebhookHandlerInput):
        return None
    return handler.secret or generate_signing_secret()


def _distinct(keys: list[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    for index, key in enumerate(keys):
        if key in seen:
            raise InvalidInput(
                f"actions[{index}]: {key!r} is listed twice",
                details={"field": f"actions[{index}]", "reason": "duplicate"},
            )
        seen.add(key)
    return tuple(keys)


def _refuse_missing(keys: tuple[str, ...], missing: list[str]) -> None:
    if missing:
        index = keys.index(missing[0])
        raise InvalidInput(
            f"actions[{index}]: the app has no action {missing[0]!r}",
            details={"field": f"actions[{index}]", "missing": missing},
        )


def _no_action(ref: str) -> NotFound:
    return NotFound(f"action {ref!r} not found", details={"action": ref})


def _no_set(key: str) -> NotFound:
    return NotFound(f"action set {key!r} not found", details={"action_set": key})


class HandlerLookup:
    """The response loop's view of the actions (``core.ports.ActionLookup``): an action by
    its app and id, and the opened secret its webhook handler signs with."""

    def __init__(self, catalog: ActionCatalog) -> None:
        self.catalog = catalog

    async def action(self, app_id: str, action_id: str) -> ActionDefinition | None:
        store = self.catalog.store
        return await self.catalog.lookups.get(
            (app_id, action_id), lambda: store.action(app_id, action_id)
        )

    async def handler_secret(self, action_id: str) -> str | None:
        return await self.catalog.webhook_secret(action_id)


def action_from_input(
    data: ActionInput, app_id: str, now: int, before: ActionDefinition | None = None
) -> ActionDefinition:
    """The action ``data`` defines in the app: new, or ``before`` changed to it (its id
    and creation kept), as an install of a package writes it."""
    return ActionDefinition(
        id=new_id() if before is None else before.id,
        app_id=app_id,
        key=data.key,
        title=data.title,
        titles=dict(data.titles),
        handler=data.handler.handler(),
        foreground=data.foreground,
        destructive=data.destructive,
        authentication_required=data.authentication_required,
        text_input=None if data.text_input is None else data.text_input.value(),
        allow_repeats=data.allow_repeats,
        deadline_seconds=data.deadline_seconds,
        created_at=now if before is None else before.created_at,
        updated_at=now,
    )
