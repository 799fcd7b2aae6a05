"""Apps and their provider credentials."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Response

from pushgate.api.deps import CallerDep, ServicesDep, TenantDep
from pushgate.api.schemas import AppOut, CredentialOut
from pushgate.core.inputs import NAME_PATTERN, AppInput, AppUpdate

router = APIRouter(prefix="/v1/apps", tags=["apps"])
AppName = Annotated[str, Path(pattern=NAME_PATTERN)]
Kind = Literal["apns", "fcm", "webpush", "wns", "hms", "webhook", "relay"]


@router.get("")
async def list_apps(svc: ServicesDep, who: CallerDep, tenant: TenantDep) -> list[AppOut]:
    return [AppOut.of(a) for a in await svc.registry.list_apps(who, tenant)]


@router.post("", status_code=201)
async def create_app(svc: ServicesDep, who: CallerDep, tenant: TenantDep, body: AppInput) -> AppOut:
    return AppOut.of(await svc.registry.create_app(who, tenant, body))


@router.get("/{app}")
async def read_app(svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName) -> AppOut:
    return AppOut.of(await svc.registry.read_app(who, tenant, app))


@router.patch("/{app}")
async def update_app(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, body: AppUpdate
) -> AppOut:
    return AppOut.of(await svc.registry.update_app(who, tenant, app, body))


@router.delete("/{app}", status_code=204)
async def delete_app(svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName) -> Response:
    await svc.registry.delete_app(who, tenant, app)
    return Response(status_code=204)


@router.get("/{app}/credentials")
async def list_credentials(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName
) -> list[CredentialOut]:
    """Which credentials are set: public values and fingerprints, never secrets."""
    return [CredentialOut.of(c) for c in await svc.registry.list_credentials(who, tenant, app)]


@router.put("/{app}/credentials/{kind}")
async def set_credentials(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: AppName,
    kind: Kind,
    body: Annotated[dict[str, Any], Body()],
) -> CredentialOut:
    """Set or replace one provider's credentials (secrets are write-only).

    The body's schema is the one of the path's `kind` (the union member titled so). How to
    get each provider's credentials and upload them from a file: docs/credentials.md."""
    return CredentialOut.of(await svc.registry.set_credentials(who, tenant, app, kind, body))


@router.delete("/{app}/credentials/{kind}", status_code=204)
async def delete_credentials(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, kind: Kind
) -> Response:
    await svc.registry.delete_credentials(who, tenant, app, kind)
    return Response(status_code=204)
