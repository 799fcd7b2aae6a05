"""Who may do what: instance identity, tenants, API keys, scopes and tenant scoping."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pushgate.core import apikeys
from pushgate.core.audit import AuditAction, AuditLog
from pushgate.core.ids import new_id
from pushgate.core.inputs import (
    KeyInput,
    KeyPatch,
    KeyRotation,
    TenantInput,
    TenantPatch,
    limit_value,
)
from pushgate.core.models import DEFAULT_TENANT, ApiKey, RateLimit, Scope, Tenant
from pushgate.core.ports import AccountStorePort
from pushgate.core.ttlcache import TtlCache
from pushgate.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PushgateError,
    Unauthenticated,
)

log = logging.getLogger(__name__)

#: A revocation, expiry or rotation made by another process is seen within this many seconds
#: (the key cache's lifetime): one indexed read per key and process each second.
KEY_CACHE_SECONDS = 1.0
#: ``last_used_at`` is written at most this often per key and process.
LAST_USED_EVERY_MS = 60_000


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated request's key and the tenant it acts in."""

    key: ApiKey
    #: Where the request came from: the client's address, or ``cli``; kept in audit events.
    origin: str = ""

    def may(self, *scopes: Scope) -> bool:
        return Scope.ADMIN in self.key.scopes or any(s in self.key.scopes for s in scopes)

    def require(self, *scopes: Scope) -> None:
        if not self.may(*scopes):
            wanted = " or ".join(s.value for s in scopes) or "admin"
            raise Forbidden(
                f"this key lacks the {wanted} scope",
                details={"required": [s.value for s in scopes]},
            )

    def require_instance_admin(self) -> None:
        if not self.key.is_instance_admin:
            raise Forbidden("only an instance-wide admin key may do this")


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKey
    plaintext: str


@dataclass(frozen=True, slots=True)
class RotatedKey:
    """A rotation's new key (shown once) and the old key with the end of its overlap."""

    created: CreatedKey
    previous: ApiKey


class Access:
    """Authentication and the administration of tenants and keys."""

    def __init__(
        self,
        store: AccountStorePort,
        *,
        audit: AuditLog,
        cache_seconds: float = 5.0,
        key_cache_seconds: float = KEY_CACHE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.audit = audit
        self._clock = clock
        # Renames made by other processes are seen within cache_seconds; key changes (a
        # revocation above all) within key_cache_seconds.
        self.keys: TtlCache[str, ApiKey] = TtlCache(key_cache_seconds, clock=clock)
        self.tenants: TtlCache[str, Tenant] = TtlCache(cache_seconds, clock=clock)
        self.tenants_by_name: TtlCache[str, Tenant] = TtlCache(cache_seconds, clock=clock)
        self._last_used_written: dict[str, int] = {}
        self._instance_id: str | None = None

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def instance_id(self) -> str:
        """Made on the first start and never changed, so read once per process."""
        if self._instance_id is None:
            self._instance_id = await self.store.instance_value("instance_id", str(uuid.uuid4()))
        return self._instance_id

    async def ensure_default_tenant(self) -> Tenant:
        found = await self.store.tenant_by_name(DEFAULT_TENANT)
        if found is not None:
            return found
        # Another process starting beside this one may make it first.
        with contextlib.suppress(Conflict):
            await self.store.insert_tenant(Tenant(new_id(), DEFAULT_TENANT, self.now_ms()))
        made = await self.store.tenant_by_name(DEFAULT_TENANT)
        if made is None:
            raise RuntimeError(f"tenant {DEFAULT_TENANT!r} deleted while it was being made")
        return made

    async def bootstrap_admin_key(self) -> CreatedKey | None:
        """On the very first start only: an instance-wide admin key, to be shown once."""
        claim = new_id()
        if await self.store.instance_value("bootstrap_key", claim) != claim:
            return None
        if await self.store.count_keys() > 0:
            return None
        return await self._create(None, "bootstrap admin", frozenset({Scope.ADMIN}))

    async def authenticate(self, authorization: str | None, origin: str = "") -> Caller:
        if not authorization:
            raise Unauthenticated("missing Authorization: Bearer <api key>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("expected Authorization: Bearer <api key>")
        prefix = apikeys.split_prefix(token.strip())
        key = None
        if prefix:
            key = await self.keys.get(prefix, lambda: self.store.key_by_prefix(prefix))
        if key is None or not apikeys.is_matching(token.strip(), key.secret_hash):
            raise Unauthenticated("unknown API key")
        if key.revoked_at is not None:
            raise Unauthenticated("this API key was revoked")
        now = self.now_ms()
        if key.expired(now):
            raise Unauthenticated("this API key has expired")
        await self._note_use(key, now)
        return Caller(key, origin)

    async def _note_use(self, key: ApiKey, now: int) -> None:
        """Record when the key was last used, once a minute at most: a write per request
        would cost more than the request."""
        written = self._last_used_written.get(key.id, key.last_used_at or 0)
        if now - written < LAST_USED_EVERY_MS:
            return
        self._last_used_written[key.id] = now
        try:
            await self.store.touch_key(key.id, now)
        except PushgateError as exc:
            # A busy or unreachable database must not refuse a request that authenticated.
            log.warning("could not record the use of key %s: %s", key.id, exc.message)

    async def tenant_by_id(self, tenant_id: str) -> Tenant | None:
        """A tenant by id, cached: read on every rate-limited request."""
        return await self.tenants.get(tenant_id, lambda: self.store.tenant_by_id(tenant_id))

    async def tenant_for(self, caller: Caller, name: str | None) -> Tenant:
        """The tenant a request acts in: the key's own, or any named one for instance admins."""
        if caller.key.tenant_id is not None:
            tenant_id = caller.key.tenant_id
            own = await self.tenants.get(tenant_id, lambda: self.store.tenant_by_id(tenant_id))
            if own is None or (name is not None and name != own.name):
                raise NotFound(f"tenant {name!r} not found", details={"tenant": name})
            return own
        wanted = name or DEFAULT_TENANT
        found = await self.tenants_by_name.get(wanted, lambda: self.store.tenant_by_name(wanted))
        if found is None:
            raise NotFound(f"tenant {wanted!r} not found", details={"tenant": wanted})
        return found

    # -- tenants ------------------------------------------------------------------------
    async def create_tenant(self, caller: Caller, data: TenantInput) -> Tenant:
        caller.require_instance_admin()
        tenant = Tenant(new_id(), data.name, self.now_ms())
        await self.store.insert_tenant(tenant)
        self.tenants_by_name.invalidate(data.name)
        await self.audit.record(
            caller, AuditAction.TENANT_CREATE, tenant.id, None, name=tenant.name
        )
        return tenant

    async def list_tenants(self, caller: Caller) -> list[Tenant]:
        if caller.key.is_instance_admin:
            return await self.store.list_tenants()
        return [await self.tenant_for(caller, None)]

    async def rename_tenant(self, caller: Caller, name: str, data: TenantInput) -> Tenant:
        caller.require_instance_admin()
        tenant = await self.tenant_for(caller, name)
        if tenant.name == DEFAULT_TENANT:
            raise InvalidInput("the default tenant cannot be renamed", details={"field": "name"})
        await self.store.rename_tenant(tenant.id, data.name)
        self.tenants.invalidate()
        self.tenants_by_name.invalidate()
        await self.audit.record(
            caller, AuditAction.TENANT_RENAME, tenant.id, None, name=tenant.name, new_name=data.name
        )
        return dataclasses.replace(tenant, name=data.name)

    async def update_tenant(self, caller: Caller, name: str, data: TenantPatch) -> Tenant:
        """Rename a tenant and set or clear its limits; only instance admins may, since a
        tenant's limits bound what its own admins can do."""
        caller.require_instance_admin()
        tenant = await self.tenant_for(caller, name)
        if data.name is not None and data.name != tenant.name:
            tenant = await self.rename_tenant(caller, name, TenantInput(name=data.name))
        if not data.changes_limits():
            return tenant
        given = data.model_fields_set
        rate = limit_value(data.rate_limit) if "rate_limit" in given else tenant.rate_limit
        sends = (
            limit_value(data.send_rate_limit)
            if "send_rate_limit" in given
            else tenant.send_rate_limit
        )
        per_day = (
            data.deliveries_per_day if "deliveries_per_day" in given else tenant.deliveries_per_day
        )
        await self.store.set_tenant_limits(tenant.id, rate, sends, per_day)
        self.tenants.invalidate()
        self.tenants_by_name.invalidate()
        await self.audit.record(
            caller,
            AuditAction.TENANT_UPDATE,
            tenant.id,
            None,
            name=tenant.name,
            rate_limit=limit_details(rate),
            send_rate_limit=limit_details(sends),
            deliveries_per_day=per_day,
        )
        updated = await self.store.tenant_by_id(tenant.id)
        if updated is None:  # deleted meanwhile
            raise NotFound(f"tenant {name!r} not found", details={"tenant": name})
        return updated

    async def delete_tenant(self, caller: Caller, name: str) -> None:
        caller.require_instance_admin()
        tenant = await self.tenant_for(caller, name)
        if tenant.name == DEFAULT_TENANT:
            raise InvalidInput("the default tenant cannot be deleted", details={"tenant": name})
        await self.store.delete_tenant(tenant.id)
        self.tenants.invalidate()
        self.tenants_by_name.invalidate()
        self.keys.invalidate()
        await self.audit.record(
            caller, AuditAction.TENANT_DELETE, tenant.id, None, name=tenant.name
        )

    # -- keys ---------------------------------------------------------------------------
    async def create_key(self, caller: Caller, data: KeyInput) -> CreatedKey:
        caller.require(Scope.ADMIN)
        scopes = frozenset(data.scopes)
        if data.instance_wide:
            caller.require_instance_admin()
            if scopes != {Scope.ADMIN}:
                raise InvalidInput(
                    "an instance-wide key has exactly the admin scope",
                    details={"field": "scopes"},
                )
            made = await self._create(None, data.name, scopes, self._expiry(data.expires_at))
        else:
            tenant = await self.tenant_for(caller, data.tenant)
            made = await self._create(tenant.id, data.name, scopes, self._expiry(data.expires_at))
        await self._audit_key(caller, AuditAction.KEY_CREATE, made.key)
        return made

    async def _audit_key(
        self, caller: Caller, action: AuditAction, key: ApiKey, **details: object
    ) -> None:
        await self.audit.record(
            caller,
            action,
            key.id,
            key.tenant_id,
            name=key.name,
            prefix=key.prefix,
            scopes=sorted(key.scopes),
            **details,
        )

    def _expiry(self, at: datetime | None) -> int | None:
        if at is None:
            return None
        expires_at = int(at.timestamp() * 1000)
        if expires_at <= self.now_ms():
            raise InvalidInput("expires_at is in the past", details={"field": "expires_at"})
        return expires_at

    async def _create(
        self,
        tenant_id: str | None,
        name: str,
        scopes: frozenset[Scope],
        expires_at: int | None = None,
    ) -> CreatedKey:
        material = apikeys.generate_key()
        key = ApiKey(
            new_id(),
            tenant_id,
            name,
            material.prefix,
            material.secret_hash,
            scopes,
            self.now_ms(),
            expires_at=expires_at,
        )
        await self.store.insert_key(key)
        return CreatedKey(key, material.plaintext)

    async def rotate_key(self, caller: Caller, key_id: str, data: KeyRotation) -> RotatedKey:
        """A new key with the old one's tenant, name and scopes; the old one keeps working
        for ``overlap_seconds`` (or less, if it was to expire sooner), then stops."""
        caller.require(Scope.ADMIN)
        old = await self._visible_key(caller, key_id)
        now = self.now_ms()
        if old.revoked_at is not None or old.expired(now):
            raise Conflict(
                "a revoked or expired key cannot be rotated: create a new one",
                details={"key": key_id},
            )
        expires_at = self._expiry(data.expires_at)
        created = await self._create(old.tenant_id, old.name, old.scopes, expires_at)
        await self.store.expire_key(old.id, now + data.overlap_seconds * 1000)
        self.keys.invalidate(old.prefix)
        previous = await self._visible_key(caller, key_id)
        await self._audit_key(
            caller,
            AuditAction.KEY_ROTATE,
            previous,
            new_key=created.key.id,
            works_until=previous.expires_at,
        )
        return RotatedKey(created, previous)

    async def _visible_key(self, caller: Caller, key_id: str) -> ApiKey:
        key = await self.store.key_by_id(key_id)
        visible = key is not None and (
            caller.key.is_instance_admin or key.tenant_id == caller.key.tenant_id
        )
        if key is None or not visible:
            raise NotFound(f"API key {key_id!r} not found", details={"key": key_id})
        return key

    async def list_keys(self, caller: Caller, tenant: str | None) -> list[ApiKey]:
        caller.require(Scope.ADMIN)
        if caller.key.is_instance_admin and tenant is None:
            return await self.store.list_keys(None, every_tenant=True)
        scope = await self.tenant_for(caller, tenant)
        return await self.store.list_keys(scope.id, every_tenant=False)

    async def update_key(self, caller: Caller, key_id: str, data: KeyPatch) -> ApiKey:
        """Set or clear a key's rate limit: any admin key of the key's tenant may (the
        tenant's own limit still bounds all its keys together), instance admins on any key."""
        caller.require(Scope.ADMIN)
        key = await self._visible_key(caller, key_id)
        if "rate_limit" not in data.model_fields_set:
            return key
        limit = limit_value(data.rate_limit)
        await self.store.set_key_limit(key.id, limit)
        self.keys.invalidate(key.prefix)
        updated = await self._visible_key(caller, key_id)
        await self._audit_key(
            caller, AuditAction.KEY_UPDATE, updated, rate_limit=limit_details(limit)
        )
        return updated

    async def revoke_key(self, caller: Caller, key_id: str) -> ApiKey:
        caller.require(Scope.ADMIN)
        key = await self._visible_key(caller, key_id)
        await self.store.revoke_key(key.id, self.now_ms())
        self.keys.invalidate(key.prefix)
        revoked = await self.store.key_by_id(key_id)
        if revoked is None:  # its tenant was deleted meanwhile, and the key with it
            raise NotFound(f"API key {key_id!r} not found", details={"key": key_id})
        await self._audit_key(caller, AuditAction.KEY_REVOKE, revoked)
        return revoked


def limit_details(limit: RateLimit | None) -> dict[str, float | int] | None:
    """A limit as the audit log and the API show it."""
    if limit is None:
        return None
    return {"per_second": limit.per_second, "burst": limit.burst}
