"""The instances a relay sends for (docs/relay.md, "Origins"): who they are, which relay
apps they may use, their quota, and the keys that speak for them.

An origin is known by the instance id and name its own ``GET /v1/instance`` shows. Its keys
have the ``relay`` scope and are bound to it: a request with one of them is that origin,
whatever its messages claim. Instance admins manage origins, in the tenant that holds the
relay apps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from pydantic import Field, StringConstraints

from pushgate.core.access import Access, Caller, CreatedKey
from pushgate.core.audit import AuditAction, AuditLog
from pushgate.core.ids import new_id, now_ms
from pushgate.core.inputs import KeyInput, Name, Strict
from pushgate.core.models import RateLimit, Scope, Tenant
from pushgate.errors import InvalidInput, NotFound

InstanceId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
InstanceName = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class QuotaInput(Strict):
    per_second: float = Field(gt=0, le=1_000_000, description="Messages per second, sustained.")
    burst: int = Field(ge=1, le=1_000_000, description="Messages allowed at once.")


class OriginInput(Strict):
    instance_id: InstanceId = Field(description="The origin's `instance_id` (GET /v1/instance).")
    instance_name: InstanceName = Field(
        description="The origin's public base URL, its `instance_name`: where answers go."
    )
    apps: list[Name] = Field(default_factory=list, max_length=100)
    rate_limit: QuotaInput | None = None
    per_day: int | None = Field(default=None, ge=1, description="Messages per UTC day.")


class OriginPatch(Strict):
    """Fields left out stay; ``null`` removes a quota."""

    instance_name: InstanceName | None = None
    apps: list[Name] | None = Field(default=None, max_length=100)
    rate_limit: QuotaInput | None = None
    per_day: int | None = Field(default=None, ge=1)


class OriginKeyInput(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)] = "relay"


@dataclass(frozen=True, slots=True)
class Origin:
    id: str
    tenant_id: str
    instance_id: str
    instance_name: str
    apps: tuple[str, ...]
    rate_limit: RateLimit | None
    per_day: int | None
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class BatchState:
    """A batch answered 202: when it came, and its answers once its send is over."""

    created_at: int
    answers: list[dict[str, Any]] | None


class RelayStorePort(Protocol):
    """Where origins, their keys, accepted message ids and counts are kept."""

    async def insert_origin(self, origin: Origin) -> None: ...
    async def origin(self, tenant_id: str, instance_id: str) -> Origin | None: ...
    async def origins(self, tenant_id: str) -> list[Origin]: ...
    async def update_origin(self, origin_id: str, values: dict[str, Any]) -> None: ...
    async def delete_origin(self, origin_id: str) -> bool: ...
    async def bind_key(self, key_id: str, origin_id: str) -> None: ...
    async def origin_of_key(self, key_id: str) -> Origin | None: ...
    async def keys_of(self, origin_id: str) -> list[str]: ...
    async def answers_of(self, origin_id: str, ids: list[str]) -> dict[str, dict[str, Any]]: ...
    async def settle(
        self,
        origin_id: str,
        final: list[tuple[str, dict[str, Any], int]],
        day: int,
        counts: dict[str, int],
    ) -> None: ...
    async def open_batch(
        self, batch_id: str, origin_id: str, created_at: int, keep_until: int
    ) -> None: ...
    async def finish_batch(
        self, batch_id: str, origin_id: str, answers: list[dict[str, Any]]
    ) -> None: ...
    async def batch(self, origin_id: str, batch_id: str) -> BatchState | None: ...
    async def add_counts(self, origin_id: str, day: int, counts: dict[str, int]) -> None: ...
    async def counts(self, origin_id: str, day: int) -> dict[str, int]: ...
    async def purge_accepted(self, before: int) -> int: ...


class RelayOrigins:
    """Create, read, change and delete origins, and make keys bound to them."""

    def __init__(self, store: RelayStorePort, access: Access, audit: AuditLog) -> None:
        self.store = store
        self.access = access
        self.audit = audit

    async def create(self, caller: Caller, tenant: Tenant, data: OriginInput) -> Origin:
        caller.require_instance_admin()
        at = now_ms()
        origin = Origin(
            new_id(),
            tenant.id,
            data.instance_id,
            data.instance_name,
            tuple(data.apps),
            _limit(data.rate_limit),
            data.per_day,
            at,
            at,
        )
        await self.store.insert_origin(origin)
        await self._audit(caller, AuditAction.RELAY_ORIGIN_CREATE, origin)
        return origin

    async def list(self, caller: Caller, tenant: Tenant) -> list[Origin]:
        caller.require_instance_admin()
        return await self.store.origins(tenant.id)

    async def read(self, caller: Caller, tenant: Tenant, instance_id: str) -> Origin:
        """The tenant's origin of that instance id."""
        caller.require_instance_admin()
        found = await self.store.origin(tenant.id, instance_id)
        if found is None:
            raise NotFound(f"origin {instance_id!r} not found", details={"origin": instance_id})
        return found

    async def update(
        self, caller: Caller, tenant: Tenant, instance_id: str, data: OriginPatch
    ) -> Origin:
        origin = await self.read(caller, tenant, instance_id)
        given = data.model_fields_set
        values: dict[str, Any] = {"updated_at": now_ms()}
        if "instance_name" in given:
            if data.instance_name is None:
                raise InvalidInput(
                    "instance_name: may not be null", details={"field": "instance_name"}
                )
            values["instance_name"] = data.instance_name
        if "apps" in given:
            values["apps"] = list(data.apps or [])
        if "rate_limit" in given:
            limit = data.rate_limit
            values["per_second"] = None if limit is None else limit.per_second
            values["burst"] = None if limit is None else limit.burst
        if "per_day" in given:
            values["per_day"] = data.per_day
        await self.store.update_origin(origin.id, values)
        changed = await self.read(caller, tenant, instance_id)
        await self._audit(caller, AuditAction.RELAY_ORIGIN_UPDATE, changed)
        return changed

    async def delete(self, caller: Caller, tenant: Tenant, instance_id: str) -> None:
        """The origin goes, and its keys stop working."""
        origin = await self.read(caller, tenant, instance_id)
        for key_id in await self.store.keys_of(origin.id):
            await self.access.revoke_key(caller, key_id)
        await self.store.delete_origin(origin.id)
        await self._audit(caller, AuditAction.RELAY_ORIGIN_DELETE, origin)

    async def create_key(
        self, caller: Caller, tenant: Tenant, instance_id: str, data: OriginKeyInput
    ) -> CreatedKey:
        """A ``relay`` key of the origin's tenant, bound to the origin; shown once."""
        origin = await self.read(caller, tenant, instance_id)
        made = await self.access.create_key(
            caller, KeyInput(name=data.name, scopes=[Scope.RELAY], tenant=tenant.name)
        )
        await self.store.bind_key(made.key.id, origin.id)
        return made

    async def usage(self, origin: Origin, day: int) -> dict[str, int]:
        return await self.store.counts(origin.id, day)

    async def _audit(self, caller: Caller, action: AuditAction, origin: Origin) -> None:
        await self.audit.record(
            caller,
            action,
            origin.id,
            origin.tenant_id,
            instance_id=origin.instance_id,
            instance_name=origin.instance_name,
            apps=list(origin.apps),
        )


def _limit(quota: QuotaInput | None) -> RateLimit | None:
    return None if quota is None else RateLimit(quota.per_second, quota.burst)
