"""A tenant's inbound sources (docs/events.md, "Inbound sources"); scope ``admin``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from pushgate.api.deps import After, CallerDep, Limit, ServicesDep, TenantDep
from pushgate.api.schemas import Page
from pushgate.api.source_schemas import SourceOut
from pushgate.core.inbound_inputs import SourceInput, SourcePatch
from pushgate.core.inputs import NAME_PATTERN

router = APIRouter(prefix="/v1/sources", tags=["sources"])
SourceKeyPath = Annotated[str, Path(pattern=NAME_PATTERN)]


@router.get("")
async def list_sources(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, limit: Limit = 100, after: After = None
) -> Page[SourceOut]:
    """The tenant's sources in key order; `next` is the `after` of the following page."""
    found = await svc.sources.list_sources(who, tenant, after, limit)
    following = found[-1].key if len(found) == limit else None
    return Page[SourceOut](items=[SourceOut.of(s) for s in found], next=following)


@router.post("", status_code=201)
async def create_source(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, body: SourceInput
) -> SourceOut:
    """Define a source: how its requests are verified and how a body becomes an event.
    Its secret is stored sealed and never shown again."""
    return SourceOut.of(await svc.sources.create(who, tenant, body))


@router.get("/{key}")
async def read_source(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, key: SourceKeyPath
) -> SourceOut:
    return SourceOut.of(await svc.sources.read(who, tenant, key))


@router.patch("/{key}")
async def update_source(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, key: SourceKeyPath, body: SourcePatch
) -> SourceOut:
    """Change a source (not its key or kind); `{"paused": true}` pauses it."""
    return SourceOut.of(await svc.sources.update(who, tenant, key, body))


@router.delete("/{key}", status_code=204)
async def delete_source(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, key: SourceKeyPath
) -> Response:
    await svc.sources.delete(who, tenant, key)
    return Response(status_code=204)
