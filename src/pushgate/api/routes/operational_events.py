"""Operational events: what pushgate itself did that an operator must know
(docs/operations.md, "Operational events")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pushgate.api.deps import After, CallerDep, EventScopeDep, Limit, ServicesDep
from pushgate.api.schemas import OperationalEventOut, Page
from pushgate.core.inputs import NAME_PATTERN
from pushgate.core.operational_events import EventKind
from pushgate.errors import InvalidInput

router = APIRouter(prefix="/v1", tags=["operational events"])


@router.get("/operational-events")
async def list_operational_events(
    svc: ServicesDep,
    who: CallerDep,
    scope: EventScopeDep,
    kind: Annotated[EventKind | None, Query(description="Only this kind.")] = None,
    app: Annotated[
        str | None, Query(pattern=NAME_PATTERN, description="Only this app's events.")
    ] = None,
    limit: Limit = 100,
    after: After = None,
) -> Page[OperationalEventOut]:
    """Newest first; admin keys only."""
    app_id = None
    if app is not None:
        if scope is None:
            raise InvalidInput("name the tenant of the app", details={"field": "tenant"})
        app_id = (await svc.registry.app(scope, app)).id
    events = await svc.operational_events.events(who, scope, kind, app_id, after, limit)
    following = events[-1].id if len(events) == limit else None
    return Page[OperationalEventOut](
        items=[OperationalEventOut.of(e) for e in events], next=following
    )
