"""An app's actions and action sets (docs/actions.md, "Managing actions")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from pushgate.api.action_schemas import ActionOut, ActionSavedOut, ActionSetOut
from pushgate.api.deps import CallerDep, ServicesDep, TenantDep
from pushgate.core.action_inputs import ActionInput, ActionPatch, ActionSetInput, ActionSetPatch
from pushgate.core.actions import ACTION_KEY_PATTERN
from pushgate.core.inputs import NAME_PATTERN

router = APIRouter(prefix="/v1/apps/{app}", tags=["actions"])
AppName = Annotated[str, Path(pattern=NAME_PATTERN)]
ActionRef = Annotated[
    str, Path(pattern=ACTION_KEY_PATTERN, description="The action's id or its key.")
]
SetKey = Annotated[str, Path(pattern=ACTION_KEY_PATTERN)]


@router.get("/actions")
async def list_actions(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName
) -> list[ActionOut]:
    return [ActionOut.of(a) for a in await svc.catalog.list_actions(who, tenant, app)]


@router.post("/actions", status_code=201)
async def create_action(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, body: ActionInput
) -> ActionSavedOut:
    """Define an action. A webhook handler's signing secret is in this answer only."""
    return ActionSavedOut.saved(await svc.catalog.create_action(who, tenant, app, body))


@router.get("/actions/{action}")
async def read_action(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, action: ActionRef
) -> ActionOut:
    return ActionOut.of(await svc.catalog.action(who, tenant, app, action))


@router.patch("/actions/{action}")
async def update_action(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: AppName,
    action: ActionRef,
    body: ActionPatch,
) -> ActionSavedOut:
    """Change an action; notifications already accepted keep the actions they were sent
    with. `{"rotate_secret": true}` gives a webhook handler a new secret, shown once."""
    return ActionSavedOut.saved(await svc.catalog.update_action(who, tenant, app, action, body))


@router.delete("/actions/{action}", status_code=204)
async def delete_action(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, action: ActionRef
) -> Response:
    """Delete an action (409 while an action set uses it)."""
    await svc.catalog.delete_action(who, tenant, app, action)
    return Response(status_code=204)


@router.get("/action-sets")
async def list_sets(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName
) -> list[ActionSetOut]:
    return [ActionSetOut.of(s) for s in await svc.catalog.list_sets(who, tenant, app)]


@router.post("/action-sets", status_code=201)
async def create_set(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, body: ActionSetInput
) -> ActionSetOut:
    return ActionSetOut.of(await svc.catalog.create_set(who, tenant, app, body))


@router.get("/action-sets/{key}")
async def read_set(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, key: SetKey
) -> ActionSetOut:
    return ActionSetOut.of(await svc.catalog.action_set(who, tenant, app, key))


@router.patch("/action-sets/{key}")
async def update_set(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: AppName,
    key: SetKey,
    body: ActionSetPatch,
) -> ActionSetOut:
    """Replace the set's actions; notifications already accepted keep theirs."""
    return ActionSetOut.of(await svc.catalog.update_set(who, tenant, app, key, body))


@router.delete("/action-sets/{key}", status_code=204)
async def delete_set(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, key: SetKey
) -> Response:
    await svc.catalog.delete_set(who, tenant, app, key)
    return Response(status_code=204)
