"""Units of a tenant, their settings, and settings by scope (docs/settings.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from pushgate.api.deps import CallerDep, ServicesDep, TenantDep
from pushgate.api.scope_schemas import (
    EffectiveOut,
    EffectiveSettingsOut,
    SettingIn,
    SettingsIn,
    SettingsOut,
    UnitOut,
)
from pushgate.core.scoped_settings import Effective
from pushgate.core.settings_catalog import GLOBAL, UNIT_KEY_PATTERN, unit_scope
from pushgate.core.units import UnitInput, UnitPatch

router = APIRouter(prefix="/v1", tags=["settings"])
UnitKey = Annotated[str, Path(pattern=UNIT_KEY_PATTERN)]
ExternalId = Annotated[str, Path(min_length=1, max_length=256)]


def _scope(unit: str | None) -> str:
    return GLOBAL if unit is None else unit_scope(unit)


def _effective(unit: str | None, found: list[Effective]) -> EffectiveSettingsOut:
    items = [EffectiveOut.of(item) for item in found]
    return EffectiveSettingsOut(scope=_scope(unit), unit=unit, settings=items)


@router.get("/units")
async def list_units(svc: ServicesDep, who: CallerDep, tenant: TenantDep) -> list[UnitOut]:
    return [UnitOut.of(u) for u in await svc.units.list(who, tenant)]


@router.post("/units", status_code=201)
async def create_unit(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, body: UnitInput
) -> UnitOut:
    """A unit, optionally under a parent unit; 409 when the key is taken, 422 for a
    parent that is missing or would make a cycle."""
    return UnitOut.of(await svc.units.create(who, tenant, body))


@router.get("/units/{unit}")
async def read_unit(svc: ServicesDep, who: CallerDep, tenant: TenantDep, unit: UnitKey) -> UnitOut:
    return UnitOut.of(await svc.units.get(who, tenant, unit))


@router.patch("/units/{unit}")
async def update_unit(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, unit: UnitKey, body: UnitPatch
) -> UnitOut:
    """Rename a unit or move it under another parent (null: to the top); the key stays."""
    svc.type_switches.forget()
    return UnitOut.of(await svc.units.update(who, tenant, unit, body))


@router.delete("/units/{unit}", status_code=204)
async def delete_unit(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, unit: UnitKey
) -> Response:
    """Delete a unit and its settings; 409 naming its child units and members when it
    has any (move them first)."""
    await svc.units.delete(who, tenant, unit)
    svc.type_switches.forget()
    return Response(status_code=204)


@router.get("/settings")
async def read_settings(svc: ServicesDep, who: CallerDep, tenant: TenantDep) -> SettingsOut:
    """The tenant's global settings (secrets masked)."""
    return SettingsOut(scope=GLOBAL, values=await svc.scoped_settings.read(who, tenant, None))


@router.put("/settings")
async def replace_settings(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, body: SettingsIn
) -> SettingsOut:
    """Replace the global settings: names left out are unset. A masked secret sent back
    keeps the stored one."""
    values = await svc.scoped_settings.replace(who, tenant, None, body.values)
    return SettingsOut(scope=GLOBAL, values=values)


@router.patch("/settings")
async def change_setting(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, body: SettingIn
) -> SettingsOut:
    """Set (or with null, unset) one global setting."""
    values = await svc.scoped_settings.change(who, tenant, None, body.name, body.value)
    return SettingsOut(scope=GLOBAL, values=values)


@router.get("/settings/effective")
async def global_effective(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep
) -> EffectiveSettingsOut:
    """Every known setting's value at the global scope, and where it came from."""
    return _effective(None, await svc.scoped_settings.effective(who, tenant, None))


@router.get("/units/{unit}/settings")
async def read_unit_settings(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, unit: UnitKey
) -> SettingsOut:
    values = await svc.scoped_settings.read(who, tenant, unit)
    return SettingsOut(scope=unit_scope(unit), values=values)


@router.put("/units/{unit}/settings")
async def replace_unit_settings(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, unit: UnitKey, body: SettingsIn
) -> SettingsOut:
    """Replace the unit's settings; a general setting is refused (422 `setting_scope`)."""
    values = await svc.scoped_settings.replace(who, tenant, unit, body.values)
    return SettingsOut(scope=unit_scope(unit), values=values)


@router.patch("/units/{unit}/settings")
async def change_unit_setting(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, unit: UnitKey, body: SettingIn
) -> SettingsOut:
    values = await svc.scoped_settings.change(who, tenant, unit, body.name, body.value)
    return SettingsOut(scope=unit_scope(unit), values=values)


@router.get("/units/{unit}/settings/effective")
async def unit_effective(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, unit: UnitKey
) -> EffectiveSettingsOut:
    """Every known setting's value for the unit's members, and the scope it came from."""
    return _effective(unit, await svc.scoped_settings.effective(who, tenant, unit))


@router.get("/users/{external_id}/settings/effective")
async def user_effective(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, external_id: ExternalId
) -> EffectiveSettingsOut:
    """Every known setting's value for the user (at their unit, else globally)."""
    unit, found = await svc.scoped_settings.effective_for_user(who, tenant, external_id)
    return _effective(unit, found)
