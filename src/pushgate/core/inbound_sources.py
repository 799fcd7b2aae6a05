"""A tenant's inbound sources: define, read, change, pause, delete (docs/events.md,
"Inbound sources").

A source's verification (an HS256 secret, a public key, a ``whsec_`` secret) is sealed with
the instance key, bound to the source by its AAD (``app:<tenant id>:source:<id>``, re-sealed
by ``pushgate secrets rotate``), and never shown again: a
source's view names its algorithm (and a public key, which is no secret) only.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, replace
from typing import Any, Protocol, assert_never

import orjson
from pydantic import TypeAdapter, ValidationError

from pushgate.core.access import Caller
from pushgate.core.audit import AuditAction, AuditLog
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.ids import new_id
from pushgate.core.inbound_inputs import (
    MIN_HS256_SECRET_BYTES,
    DataNotifierSource,
    Hs256Key,
    PublicKey,
    SourceInput,
    SourcePatch,
    SourceSpec,
    StandardWebhooksSource,
)
from pushgate.core.models import Scope, Sealed, Tenant, sealed_for
from pushgate.core.registry import MAX_PAGE, Registry
from pushgate.core.secretbox import SecretBox
from pushgate.core.ttlcache import TtlCache
from pushgate.errors import InvalidInput, NotFound

SOURCE_CACHE_SECONDS = 1.0
_SPEC: TypeAdapter[DataNotifierSource | StandardWebhooksSource] = TypeAdapter(SourceSpec)


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    tenant_id: str
    spec: DataNotifierSource | StandardWebhooksSource
    version: int
    created_at: int
    updated_at: int

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def path(self) -> str:
        """Where the host sends: by id, which names the tenant too."""
        return f"/v1/inbound/{self.id}"


@dataclass(frozen=True, slots=True)
class StoredSource:
    """A source as kept: its spec without the verification, which is ``sealed``."""

    id: str
    tenant_id: str
    key: str
    kind: str
    spec: dict[str, Any]
    sealed: bytes
    version: int
    created_at: int
    updated_at: int


class SourceStorePort(Protocol):
    async def insert_source(self, item: StoredSource) -> None: ...
    async def source(self, tenant_id: str, key: str) -> StoredSource | None: ...
    async def source_by_id(self, source_id: str) -> StoredSource | None: ...
    async def list_sources(
        self, tenant_id: str, after: str | None, limit: int
    ) -> list[StoredSource]: ...
    async def update_source(self, item: StoredSource) -> None: ...
    async def delete_source(self, tenant_id: str, key: str) -> bool: ...


def generated_hs256_secret() -> str:
    """A random HS256 secret of 32 bytes (RFC 7518 §3.2's least), as text."""
    return secrets.token_urlsafe(MIN_HS256_SECRET_BYTES)


def generated_webhook_secret() -> str:
    """A random Standard Webhooks secret: ``whsec_`` and 32 bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def verification_view(spec: DataNotifierSource | StandardWebhooksSource) -> dict[str, Any]:
    """What may be shown of a verification: never a secret."""
    match spec:
        case DataNotifierSource():
            key = spec.verification
            match key:
                case Hs256Key():
                    return {"alg": "HS256"}
                case PublicKey():
                    return {"alg": key.alg, "public_key": key.public_key}
                case _:
                    assert_never(key)
        case StandardWebhooksSource():
            return {"scheme": "v1"}
        case _:
            assert_never(spec)


class SourceCatalog:
    """Define, read, change and delete a tenant's sources; open them for a request."""

    def __init__(
        self,
        store: SourceStorePort,
        registry: Registry,
        box: SecretBox,
        *,
        audit: AuditLog,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.registry = registry
        self.box = box
        self.audit = audit
        self.clock = clock
        # Hosts' requests read their source, its secret opened, once a second rather than
        # once a request; this process's own writes forget it at once (``forget``).
        self.lookups: TtlCache[str, Source] = TtlCache(SOURCE_CACHE_SECONDS)

    async def create(self, caller: Caller, tenant: Tenant, data: SourceInput) -> Source:
        caller.require(Scope.ADMIN)
        spec = data.root
        await self._check(tenant, spec)
        now = self.clock.now_ms()
        item = Source(new_id(), tenant.id, spec, 1, now, now)
        await self.store.insert_source(self.stored(item))
        self.forget()
        await self._audit(caller, tenant, AuditAction.SOURCE_CREATE, item)
        return item

    async def read(self, caller: Caller, tenant: Tenant, key: str) -> Source:
        caller.require(Scope.ADMIN)
        return await self._source(tenant, key)

    async def list_sources(
        self, caller: Caller, tenant: Tenant, after: str | None, limit: int
    ) -> list[Source]:
        caller.require(Scope.ADMIN)
        found = await self.store.list_sources(tenant.id, after, min(limit, MAX_PAGE))
        return [self.opened(item) for item in found]

    async def update(self, caller: Caller, tenant: Tenant, key: str, data: SourcePatch) -> Source:
        caller.require(Scope.ADMIN)
        item = await self._source(tenant, key)
        given = data.model_dump(exclude_unset=True)
        merged = {**item.spec.model_dump(), **given}
        try:
            spec = _SPEC.validate_python(merged)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"][1:]) or "body"
            raise InvalidInput(
                f"{where}: {first['msg']}", details={"field": where, "reason": first["msg"]}
            ) from exc
        await self._check(tenant, spec)
        changed = replace(item, spec=spec, version=item.version + 1, updated_at=self.clock.now_ms())
        await self.store.update_source(self.stored(changed))
        self.forget()
        action = AuditAction.SOURCE_UPDATE
        if set(given) == {"paused"}:
            action = AuditAction.SOURCE_PAUSE if spec.paused else AuditAction.SOURCE_RESUME
        await self._audit(caller, tenant, action, changed)
        return changed

    async def delete(self, caller: Caller, tenant: Tenant, key: str) -> None:
        caller.require(Scope.ADMIN)
        item = await self._source(tenant, key)
        await self.store.delete_source(tenant.id, key)
        self.forget()
        await self._audit(caller, tenant, AuditAction.SOURCE_DELETE, item)

    async def by_id(self, source_id: str) -> Source | None:
        """The source a host's request names, verification opened; None: no such source.
        Another process's change to it shows within ``SOURCE_CACHE_SECONDS``."""
        return await self.lookups.get(source_id, lambda: self._by_id(source_id))

    async def _by_id(self, source_id: str) -> Source | None:
        found = await self.store.source_by_id(source_id)
        return None if found is None else self.opened(found)

    def forget(self) -> None:
        """Drop what ``by_id`` keeps: after a write to sources in this process."""
        self.lookups.invalidate()

    async def _source(self, tenant: Tenant, key: str) -> Source:
        found = await self.store.source(tenant.id, key)
        if found is None:
            raise NotFound(f"no source {key!r}", details={"source": key})
        return self.opened(found)

    async def _check(
        self, tenant: Tenant, spec: DataNotifierSource | StandardWebhooksSource
    ) -> None:
        if spec.app is not None:
            await self.registry.app(tenant, spec.app)  # 404 for an app the tenant lacks

    def stored(self, item: Source) -> StoredSource:
        shown = item.spec.model_dump(mode="json", exclude={"verification"})
        secret = orjson.dumps(item.spec.verification.model_dump(mode="json"))
        return StoredSource(
            item.id,
            item.tenant_id,
            item.key,
            item.spec.kind,
            shown,
            self.box.seal(secret, _aad(item.tenant_id, item.id)),
            item.version,
            item.created_at,
            item.updated_at,
        )

    def opened(self, row: StoredSource) -> Source:
        verification = orjson.loads(self.box.open(row.sealed, _aad(row.tenant_id, row.id)))
        spec = _SPEC.validate_python({**row.spec, "verification": verification})
        return Source(row.id, row.tenant_id, spec, row.version, row.created_at, row.updated_at)

    async def _audit(
        self, caller: Caller, tenant: Tenant, action: AuditAction, item: Source
    ) -> None:
        await self.audit.record(
            caller, action, item.id, tenant.id, key=item.key, kind=item.spec.kind
        )


def _aad(tenant_id: str, source_id: str) -> bytes:
    """Bound to the source (``pushgate secrets rotate`` re-seals it under the same AAD)."""
    return sealed_for(tenant_id, Sealed.SOURCE + source_id)
