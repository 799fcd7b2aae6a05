"""Device registration, lookup and unregistration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response

from pushgate.api.deps import After, CallerDep, Limit, ServicesDep, TenantDep
from pushgate.api.schemas import DeviceOut, Page, TokenChangeOut, VapidKeyOut, iso
from pushgate.core.inputs import NAME_PATTERN, DeviceInput
from pushgate.core.models import DeviceState, Provider

router = APIRouter(prefix="/v1", tags=["devices"])
DeviceId = Annotated[str, Path(max_length=64)]
UserToken = Annotated[
    str | None,
    Header(
        max_length=4096,
        description="Host-signed user token; a devices:register key of an app with a "
        "user-auth secret acts only on the devices of the user it names.",
    ),
]


@router.post(
    "/apps/{app}/devices",
    responses={201: {"model": DeviceOut, "description": "Registered (new device)."}},
)
async def register_device(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: Annotated[str, Path(pattern=NAME_PATTERN)],
    body: DeviceInput,
    response: Response,
    pushgate_user_token: UserToken = None,
) -> DeviceOut:
    """Register or refresh a device (upsert by app, provider and token). 201 when new."""
    made = await svc.registry.register_device(who, tenant, app, body, pushgate_user_token)
    response.status_code = 201 if made.created else 200
    return DeviceOut.of(made.device)


@router.get("/apps/{app}/webpush/vapid-public-key")
async def webpush_public_key(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: Annotated[str, Path(pattern=NAME_PATTERN)],
) -> VapidKeyOut:
    """The app's VAPID public key, for `pushManager.subscribe` (a devices:register key reads it)."""
    key = await svc.registry.webpush_public_key(who, tenant, app)
    return VapidKeyOut(app=app, application_server_key=key)


@router.get("/devices")
async def list_devices(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
    provider: Provider | None = None,
    state: DeviceState | None = None,
    limit: Limit = 100,
    after: After = None,
) -> Page[DeviceOut]:
    filters: dict[str, str] = {}
    if app is not None:
        filters["app_id"] = (await svc.registry.read_app(who, tenant, app)).id
    if provider is not None:
        filters["provider"] = provider.value
    if state is not None:
        filters["state"] = state.value
    found = await svc.registry.list_devices(who, tenant, filters, after, limit)
    following = found[-1].id if len(found) == limit else None
    return Page[DeviceOut](items=[DeviceOut.of(d) for d in found], next=following)


@router.get("/devices/{device_id}")
async def read_device(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    device_id: DeviceId,
    pushgate_user_token: UserToken = None,
) -> DeviceOut:
    return DeviceOut.of(await svc.registry.device(who, tenant, device_id, pushgate_user_token))


@router.delete("/devices/{device_id}")
async def unregister_device(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    device_id: DeviceId,
    pushgate_user_token: UserToken = None,
) -> DeviceOut:
    """Unregister: the device is kept with state `unregistered` and gets nothing more."""
    found = await svc.registry.unregister_device(who, tenant, device_id, pushgate_user_token)
    return DeviceOut.of(found)


@router.get("/devices/{device_id}/history")
async def token_history(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    device_id: DeviceId,
    pushgate_user_token: UserToken = None,
) -> list[TokenChangeOut]:
    """Earlier tokens of this registration, oldest first."""
    device = await svc.registry.device(who, tenant, device_id, pushgate_user_token)
    return [
        TokenChangeOut(old_token=c.old_token, new_token=c.new_token, changed_at=iso(c.changed_at))
        for c in await svc.people.token_history(device.id)
    ]
