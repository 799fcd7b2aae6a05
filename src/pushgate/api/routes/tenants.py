"""Tenants and API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from pushgate.api.deps import CallerDep, ServicesDep
from pushgate.api.errors import documented
from pushgate.api.schemas import (
    KeyCreatedOut,
    KeyOut,
    KeyRotatedOut,
    OperationalWebhookOut,
    TenantOut,
    TenantUpdatedOut,
)
from pushgate.core.inputs import (
    NAME_PATTERN,
    KeyInput,
    KeyPatch,
    KeyRotation,
    TenantInput,
    TenantPatch,
)

router = APIRouter(prefix="/v1")
TenantName = Annotated[str, Path(pattern=NAME_PATTERN)]


@router.get("/tenants", tags=["tenants"])
async def list_tenants(svc: ServicesDep, who: CallerDep) -> list[TenantOut]:
    return [TenantOut.of(t) for t in await svc.access.list_tenants(who)]


@router.post("/tenants", tags=["tenants"], status_code=201)
async def create_tenant(svc: ServicesDep, who: CallerDep, body: TenantInput) -> TenantOut:
    return TenantOut.of(await svc.access.create_tenant(who, body))


@router.patch("/tenants/{name}", tags=["tenants"])
async def update_tenant(
    svc: ServicesDep, who: CallerDep, name: TenantName, body: TenantPatch
) -> TenantUpdatedOut:
    """Rename a tenant, or set its limits (`null` clears one); instance admins only. The
    operational webhook (docs/operations.md) its own admin keys may set as well; a
    generated signing secret is in this answer and never again."""
    if body.changes_tenant():
        tenant = await svc.access.update_tenant(who, name, body)
    else:
        tenant = await svc.access.tenant_for(who, name)
    secret = None
    if "operational_webhook" in body.model_fields_set:
        hooks = svc.operational_webhooks
        secret = await hooks.configure(who, tenant, body.operational_webhook)
    url = await svc.operational_webhooks.url_of(tenant.id)
    hook = None if url is None else OperationalWebhookOut(url=url, secret=secret)
    return TenantUpdatedOut(**TenantOut.of(tenant).model_dump(), operational_webhook=hook)


@router.delete("/tenants/{name}", tags=["tenants"], status_code=204)
async def delete_tenant(svc: ServicesDep, who: CallerDep, name: TenantName) -> Response:
    await svc.access.delete_tenant(who, name)
    return Response(status_code=204)


@router.get("/keys", tags=["keys"])
async def list_keys(
    svc: ServicesDep,
    who: CallerDep,
    tenant: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
) -> list[KeyOut]:
    return [KeyOut.of(k) for k in await svc.access.list_keys(who, tenant)]


@router.post("/keys", tags=["keys"], status_code=201)
async def create_key(svc: ServicesDep, who: CallerDep, body: KeyInput) -> KeyCreatedOut:
    """Create an API key; the key itself is in this answer and never again."""
    return KeyCreatedOut.created(await svc.access.create_key(who, body))


@router.patch("/keys/{key_id}", tags=["keys"])
async def update_key(
    svc: ServicesDep, who: CallerDep, key_id: Annotated[str, Path(max_length=64)], body: KeyPatch
) -> KeyOut:
    """Set a key's rate limit (`null` clears it); admin keys of its tenant or instance admins."""
    return KeyOut.of(await svc.access.update_key(who, key_id, body))


@router.delete("/keys/{key_id}", tags=["keys"])
async def revoke_key(
    svc: ServicesDep, who: CallerDep, key_id: Annotated[str, Path(max_length=64)]
) -> KeyOut:
    return KeyOut.of(await svc.access.revoke_key(who, key_id))


@router.post(
    "/keys/{key_id}/rotate",
    tags=["keys"],
    status_code=201,
    responses=documented(401, 403, 404, 409, 422),
)
async def rotate_key(
    svc: ServicesDep,
    who: CallerDep,
    key_id: Annotated[str, Path(max_length=64)],
    body: KeyRotation | None = None,
) -> KeyRotatedOut:
    """A new key with this key's name, tenant and scopes, shown once; this key keeps working
    for `overlap_seconds` (default a day), so clients can move to the new one, then stops."""
    rotated = await svc.access.rotate_key(who, key_id, body or KeyRotation())
    return KeyRotatedOut.rotated(rotated)
