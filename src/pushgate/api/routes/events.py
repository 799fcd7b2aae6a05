"""Record events from host systems (docs/events.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response

from pushgate.api.deps import After, CallerDep, Limit, ServicesDep, TenantDep
from pushgate.api.event_schemas import (
    EventAccepted,
    EventBatchAccepted,
    EventOut,
    EventSummaryOut,
    accepted,
)
from pushgate.api.schemas import Page
from pushgate.core.event_inputs import EventBatchInput, EventInput
from pushgate.core.record_events import EventFilters

router = APIRouter(prefix="/v1/events", tags=["events"])
EventId = Annotated[str, Path(max_length=64)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=256,
        description="Within 24 h, the same event again returns the first one (200); another "
        "event with the key is refused (409 `idempotency_key_reused`).",
    ),
]
_REPEAT: dict[int | str, dict[str, Any]] = {
    200: {"model": EventAccepted, "description": "Recorded before, by the same key."}
}


@router.post("", status_code=202, responses=_REPEAT)
async def record_event(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    body: EventInput,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> EventAccepted:
    """Record an event: stored with its job, then the workers run the triggers it matches."""
    found = await svc.events.record(who, tenant, body, idempotency_key)
    if not found.created:
        response.status_code = 200
    return accepted(found)


@router.post(":batch", status_code=202)
async def record_events(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, body: EventBatchInput
) -> EventBatchAccepted:
    """Record up to 1,000 events in one transaction; each may carry its idempotency key."""
    found = await svc.events.record_many(who, tenant, body.events)
    return EventBatchAccepted(items=[accepted(item) for item in found])


@router.get("")
async def list_events(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    name: Annotated[str | None, Query(max_length=128, description="Only this event name.")] = None,
    record_type: Annotated[
        str | None, Query(max_length=64, description="Only events on records of this type.")
    ] = None,
    record_id: Annotated[
        str | None, Query(max_length=256, description="Only this record's (with record_type).")
    ] = None,
    limit: Limit = 100,
    after: After = None,
) -> Page[EventSummaryOut]:
    """The tenant's events, newest first, each with what its triggers made of it."""
    filters = EventFilters(name, record_type, record_id)
    found = await svc.events.recent(who, tenant, filters, after, limit)
    following = found[-1].id if len(found) == limit else None
    return Page[EventSummaryOut](items=[EventSummaryOut.of(e) for e in found], next=following)


@router.get("/{event_id}")
async def read_event(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, event_id: EventId
) -> EventOut:
    """The event, and per trigger its names took: matched, the notification, or why none."""
    return EventOut.of(await svc.events.read(who, tenant, event_id))
