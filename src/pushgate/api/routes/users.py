"""Users (by the host system's external id) and their per-app aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from pushgate.api.deps import After, CallerDep, Limit, ServicesDep, TenantDep
from pushgate.api.schemas import AliasOut, DeviceOut, Page, UserOut
from pushgate.core.inputs import NAME_PATTERN, AliasInput, UserInput

router = APIRouter(prefix="/v1", tags=["users"])
ExternalId = Annotated[str, Path(min_length=1, max_length=256)]


ATTRIBUTE = "attribute."


@router.get("/users")
async def list_users(
    request: Request,
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    limit: Limit = 100,
    after: After = None,
    email: Annotated[str | None, Query(max_length=256, description="attributes.email")] = None,
    phone: Annotated[str | None, Query(max_length=256, description="attributes.phone")] = None,
) -> Page[UserOut]:
    """The tenant's users by external id. `email`, `phone` and `attribute.<name>=<value>`
    keep those whose attributes hold exactly that string (how a host system maps its own
    contact id to the user)."""
    wanted = {
        key.removeprefix(ATTRIBUTE): value
        for key, value in request.query_params.items()
        if key.startswith(ATTRIBUTE)
    }
    wanted.update({k: v for k, v in (("email", email), ("phone", phone)) if v is not None})
    users = await svc.registry.list_users(who, tenant, after, limit, wanted)
    following = users[-1].external_id if len(users) == limit else None
    return Page[UserOut](items=[UserOut.of(u) for u in users], next=following)


@router.put(
    "/users/{external_id}",
    responses={201: {"model": UserOut, "description": "Created."}},
)
async def upsert_user(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    external_id: ExternalId,
    body: UserInput,
    response: Response,
) -> UserOut:
    """Create or update a user; only the fields sent are changed. 201 when created."""
    user, created = await svc.registry.upsert_user(who, tenant, external_id, body)
    response.status_code = 201 if created else 200
    return UserOut.of(user)


@router.get("/users/{external_id}")
async def read_user(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, external_id: ExternalId
) -> UserOut:
    return UserOut.of(await svc.registry.user(who, tenant, external_id))


@router.delete("/users/{external_id}", status_code=204)
async def delete_user(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, external_id: ExternalId
) -> Response:
    """Delete a user; their devices are unregistered."""
    await svc.registry.delete_user(who, tenant, external_id)
    return Response(status_code=204)


@router.get("/users/{external_id}/devices")
async def user_devices(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    external_id: ExternalId,
    limit: Limit = 100,
    after: After = None,
) -> Page[DeviceOut]:
    """Every device of the user, across all apps."""
    user = await svc.registry.user(who, tenant, external_id)
    found = await svc.registry.list_devices(who, tenant, {"user_id": user.id}, after, limit)
    following = found[-1].id if len(found) == limit else None
    return Page[DeviceOut](items=[DeviceOut.of(d) for d in found], next=following)


@router.get("/users/{external_id}/aliases")
async def list_aliases(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, external_id: ExternalId
) -> list[AliasOut]:
    return [AliasOut(**a) for a in await svc.registry.aliases(who, tenant, external_id)]


@router.put("/users/{external_id}/aliases", status_code=204)
async def set_alias(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, external_id: ExternalId, body: AliasInput
) -> Response:
    """Name the user in one app (the id the mobile app knows them by)."""
    await svc.registry.set_alias(who, tenant, external_id, body.app, body.alias)
    return Response(status_code=204)


@router.delete("/users/{external_id}/aliases/{app}/{alias}", status_code=204)
async def delete_alias(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    external_id: ExternalId,
    app: Annotated[str, Path(pattern=NAME_PATTERN)],
    alias: ExternalId,
) -> Response:
    await svc.registry.delete_alias(who, tenant, external_id, app, alias)
    return Response(status_code=204)


@router.get("/apps/{app}/aliases/{alias}")
async def resolve_alias(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: Annotated[str, Path(pattern=NAME_PATTERN)],
    alias: ExternalId,
) -> UserOut:
    """The user an app alias names."""
    found = await svc.registry.read_app(who, tenant, app)
    return UserOut.of(await svc.registry.resolve_alias(found, alias))
