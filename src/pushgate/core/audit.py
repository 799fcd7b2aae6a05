"""The audit log: who did what to which object, when, and from where.

Every change an administrator makes (keys, tenants, apps, credentials, the instance key) and
every send and cancel is recorded by the service that makes it, so the API, the command line
and the console are audited alike. An event names the key (id and name) and where the
request came from (the client's address, or ``cli``), never a secret: credentials are named
by kind and the fields that were set, keys by id and prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from pushgate.core.ids import new_id, now_ms
from pushgate.core.models import Scope, Tenant

if TYPE_CHECKING:
    from pushgate.core.access import Caller

log = logging.getLogger(__name__)


class AuditAction(StrEnum):
    """What was done; the object type is the part before the dot."""

    TENANT_CREATE = "tenant.create"
    TENANT_RENAME = "tenant.rename"
    TENANT_UPDATE = "tenant.update"
    TENANT_DELETE = "tenant.delete"
    KEY_CREATE = "key.create"
    KEY_ROTATE = "key.rotate"
    KEY_REVOKE = "key.revoke"
    KEY_UPDATE = "key.update"
    APP_CREATE = "app.create"
    APP_UPDATE = "app.update"
    APP_DELETE = "app.delete"
    ACTION_CREATE = "action.create"
    ACTION_UPDATE = "action.update"
    ACTION_DELETE = "action.delete"
    ACTION_SET_CREATE = "action_set.create"
    ACTION_SET_UPDATE = "action_set.update"
    ACTION_SET_DELETE = "action_set.delete"
    TYPE_CREATE = "type.create"
    TYPE_UPDATE = "type.update"
    TYPE_DELETE = "type.delete"
    TRIGGER_CREATE = "trigger.create"
    TRIGGER_UPDATE = "trigger.update"
    TRIGGER_DELETE = "trigger.delete"
    PACKAGE_INSTALL = "package.install"
    PACKAGE_UNINSTALL = "package.uninstall"
    SOURCE_CREATE = "source.create"
    SOURCE_UPDATE = "source.update"
    SOURCE_PAUSE = "source.pause"
    SOURCE_RESUME = "source.resume"
    SOURCE_DELETE = "source.delete"
    UNIT_CREATE = "unit.create"
    UNIT_UPDATE = "unit.update"
    UNIT_DELETE = "unit.delete"
    SETTINGS_SET = "settings.set"
    USER_SET_UNIT = "user.set_unit"
    CREDENTIALS_SET = "credentials.set"
    CREDENTIALS_DELETE = "credentials.delete"
    NOTIFICATION_SEND = "notification.send"
    NOTIFICATION_CANCEL = "notification.cancel"
    SECRETS_ROTATE = "secrets.rotate"
    RELAY_ORIGIN_CREATE = "relay_origin.create"
    RELAY_ORIGIN_UPDATE = "relay_origin.update"
    RELAY_ORIGIN_DELETE = "relay_origin.delete"

    @property
    def object_type(self) -> str:
        return self.value.partition(".")[0]


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: str
    at: int
    #: None for what concerns the whole instance (a tenant's creation, the instance key).
    tenant_id: str | None
    key_id: str
    key_name: str
    origin: str
    action: AuditAction
    object_id: str
    details: Mapping[str, Any] = field(default_factory=dict)


class AuditStorePort(Protocol):
    async def insert_event(self, event: AuditEvent) -> None: ...
    async def list_events(
        self, tenant_id: str | None, action: AuditAction | None, before: str | None, limit: int
    ) -> list[AuditEvent]: ...
    async def purge_events(self, cutoff: int) -> int: ...


class AuditLog:
    """Records events and lists them to administrators."""

    def __init__(self, store: AuditStorePort) -> None:
        self.store = store

    async def record(
        self,
        caller: Caller,
        action: AuditAction,
        object_id: str,
        tenant_id: str | None,
        **details: Any,
    ) -> None:
        await self.store.insert_event(
            AuditEvent(
                new_id(),
                now_ms(),
                tenant_id,
                caller.key.id,
                caller.key.name,
                caller.origin,
                action,
                object_id,
                details,
            )
        )

    async def events(
        self,
        caller: Caller,
        tenant: Tenant | None,
        action: AuditAction | None,
        before: str | None,
        limit: int,
    ) -> list[AuditEvent]:
        """Newest first. A tenant's admins see their tenant's events; instance admins see a
        named tenant's, or with none named, every event including the instance's own."""
        caller.require(Scope.ADMIN)
        if tenant is None:
            caller.require_instance_admin()
        return await self.store.list_events(
            None if tenant is None else tenant.id, action, before, limit
        )

    async def purge(self, cutoff: int) -> int:
        return await self.store.purge_events(cutoff)
