"""An app's notification types (docs/types.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from pushgate.api.deps import After, CallerDep, Limit, ServicesDep, TenantDep
from pushgate.api.schemas import Page
from pushgate.api.type_schemas import PreviewOut, TypeOut
from pushgate.core.inputs import NAME_PATTERN
from pushgate.core.type_inputs import PreviewInput, TypeInput, TypePatch

router = APIRouter(prefix="/v1/apps/{app}/types", tags=["types"])
AppName = Annotated[str, Path(pattern=NAME_PATTERN)]
TypeKeyPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]


@router.get("")
async def list_types(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: AppName,
    limit: Limit = 100,
    after: After = None,
) -> Page[TypeOut]:
    """The app's types in key order; `next` is the `after` of the following page."""
    found = await svc.types.list_types(who, tenant, app, after, limit)
    following = found[-1].key if len(found) == limit else None
    return Page[TypeOut](items=[TypeOut.of(t) for t in found], next=following)


@router.post("", status_code=201)
async def create_type(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, body: TypeInput
) -> TypeOut:
    """Define a type; its template must compile (422 naming the template's field)."""
    return TypeOut.of(await svc.types.create(who, tenant, app, body))


@router.get("/{key}")
async def read_type(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, key: TypeKeyPath
) -> TypeOut:
    return TypeOut.of(await svc.types.read(who, tenant, app, key))


@router.patch("/{key}")
async def update_type(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: AppName,
    key: TypeKeyPath,
    body: TypePatch,
) -> TypeOut:
    """Change a type (not its key); notifications already accepted keep their content."""
    return TypeOut.of(await svc.types.update(who, tenant, app, key, body))


@router.delete("/{key}", status_code=204)
async def delete_type(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, key: TypeKeyPath
) -> Response:
    """Delete a type; notifications sent as it keep their content and its key."""
    await svc.types.delete(who, tenant, app, key)
    return Response(status_code=204)


@router.post("/{key}/preview")
async def preview_type(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: AppName,
    key: TypeKeyPath,
    body: PreviewInput,
) -> PreviewOut:
    """Render the type's template for `data`, a user and a device (422 with the error)."""
    return PreviewOut.model_validate(await svc.types.preview(who, tenant, app, key, body))
