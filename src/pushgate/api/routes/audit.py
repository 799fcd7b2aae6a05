"""The audit log: who did what to which object, when and from where."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pushgate.api.deps import After, CallerDep, EventScopeDep, Limit, ServicesDep
from pushgate.api.schemas import AuditEventOut, Page
from pushgate.core.audit import AuditAction

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get("/audit")
async def list_audit_events(
    svc: ServicesDep,
    who: CallerDep,
    scope: EventScopeDep,
    action: Annotated[AuditAction | None, Query(description="Only this action.")] = None,
    limit: Limit = 100,
    after: After = None,
) -> Page[AuditEventOut]:
    """Newest first; never a secret (credentials appear as kind, fields and fingerprints)."""
    events = await svc.audit.events(who, scope, action, after, limit)
    following = events[-1].id if len(events) == limit else None
    return Page[AuditEventOut](items=[AuditEventOut.of(e) for e in events], next=following)
