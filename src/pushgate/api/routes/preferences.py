"""A user's and a device's preferences (docs/preferences.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from pushgate.api.deps import CallerDep, ServicesDep, TenantDep
from pushgate.api.preference_schemas import DevicePreferencesOut, UserPreferencesOut
from pushgate.api.routes.devices import DeviceId, UserToken
from pushgate.core.inputs import NAME_PATTERN
from pushgate.core.preference_inputs import DevicePreferencesInput, UserPreferencesInput

router = APIRouter(prefix="/v1", tags=["preferences"])
ExternalId = Annotated[str, Path(min_length=1, max_length=256)]
TokenApp = Annotated[
    str | None,
    Query(
        pattern=NAME_PATTERN,
        description="For a devices:register key: the app whose user-auth secret signed "
        "the Pushgate-User-Token.",
    ),
]


@router.get("/users/{external_id}/preferences")
async def read_user_preferences(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    external_id: ExternalId,
    app: TokenApp = None,
    pushgate_user_token: UserToken = None,
) -> UserPreferencesOut:
    """The user's preferences (the defaults when they set none)."""
    found = await svc.preferences.user(who, tenant, external_id, app, pushgate_user_token)
    return UserPreferencesOut.of(external_id, found)


@router.put("/users/{external_id}/preferences")
async def set_user_preferences(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    external_id: ExternalId,
    body: UserPreferencesInput,
    app: TokenApp = None,
    pushgate_user_token: UserToken = None,
) -> UserPreferencesOut:
    """Replace the user's preferences; a type key the tenant has no type of is a 422."""
    found = await svc.preferences.set_user(
        who, tenant, external_id, body.value(), app, pushgate_user_token
    )
    return UserPreferencesOut.of(external_id, found)


@router.get("/devices/{device_id}/preferences")
async def read_device_preferences(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    device_id: DeviceId,
    pushgate_user_token: UserToken = None,
) -> DevicePreferencesOut:
    found = await svc.preferences.device(who, tenant, device_id, pushgate_user_token)
    return DevicePreferencesOut.of(device_id, found)


@router.put("/devices/{device_id}/preferences")
async def set_device_preferences(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    device_id: DeviceId,
    body: DevicePreferencesInput,
    pushgate_user_token: UserToken = None,
) -> DevicePreferencesOut:
    """Replace the device's preferences: `enabled: false` mutes it, `muted_types` mutes
    those types only."""
    found = await svc.preferences.set_device(
        who, tenant, device_id, body.value(), pushgate_user_token
    )
    return DevicePreferencesOut.of(device_id, found)
