"""An app's triggers (docs/events.md, "Triggers")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from pushgate.api.deps import After, CallerDep, Limit, ServicesDep, TenantDep
from pushgate.api.event_schemas import TriggerOut, TriggerTestOut
from pushgate.api.schemas import Page
from pushgate.core.event_inputs import TriggerInput, TriggerPatch, TriggerTestInput
from pushgate.core.inputs import NAME_PATTERN

router = APIRouter(prefix="/v1/apps/{app}/triggers", tags=["triggers"])
AppName = Annotated[str, Path(pattern=NAME_PATTERN)]
TriggerKeyPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]


@router.get("")
async def list_triggers(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: AppName,
    limit: Limit = 100,
    after: After = None,
) -> Page[TriggerOut]:
    """The app's triggers in key order; `next` is the `after` of the following page."""
    found = await svc.triggers.list_triggers(who, tenant, app, after, limit)
    following = found[-1].key if len(found) == limit else None
    return Page[TriggerOut](items=[TriggerOut.of(t) for t in found], next=following)


@router.post("", status_code=201)
async def create_trigger(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, body: TriggerInput
) -> TriggerOut:
    """Define a trigger; its condition must compile and its type exist (422 naming the field)."""
    return TriggerOut.of(await svc.triggers.create(who, tenant, app, body))


@router.get("/{key}")
async def read_trigger(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, key: TriggerKeyPath
) -> TriggerOut:
    return TriggerOut.of(await svc.triggers.read(who, tenant, app, key))


@router.patch("/{key}")
async def update_trigger(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: AppName,
    key: TriggerKeyPath,
    body: TriggerPatch,
) -> TriggerOut:
    """Change a trigger (not its key); events already processed keep their outcome."""
    return TriggerOut.of(await svc.triggers.update(who, tenant, app, key, body))


@router.delete("/{key}", status_code=204)
async def delete_trigger(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, app: AppName, key: TriggerKeyPath
) -> Response:
    await svc.triggers.delete(who, tenant, app, key)
    return Response(status_code=204)


@router.post("/{key}/test")
async def test_trigger(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: AppName,
    key: TriggerKeyPath,
    body: TriggerTestInput,
) -> TriggerTestOut:
    """Run the trigger against a sample event: match, recipients, rendered text; no send."""
    found = await svc.trigger_tester.test(who, tenant, app, key, body)
    return TriggerTestOut.model_validate(found)
