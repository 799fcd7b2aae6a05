"""The delivery queue, for instance-wide admins: depth per job kind, dead letters, retry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from pushgate.api.deps import CallerDep, ServicesDep
from pushgate.api.schemas import iso
from pushgate.delivery.queue_admin import DeadLetter

router = APIRouter(prefix="/v1/queue", tags=["queue"])
Kind = Annotated[str, Path(max_length=64, description="Job kind: fanout or send.")]


class DepthOut(BaseModel):
    ready: int = Field(description="Due now (on the SQL queue, also leases that ran out).")
    delayed: int = Field(description="Waiting for their time (retries, scheduled sends).")
    leased: int = Field(description="Held by a worker.")
    dead: int = Field(description="Set aside after failing too often.")


class QueueOut(BaseModel):
    kinds: dict[str, DepthOut]


class DeadJobOut(BaseModel):
    id: str
    kind: str
    notification_id: str | None
    attempts: int
    reason: str
    failed_at: str | None

    @classmethod
    def of(cls, item: DeadLetter) -> DeadJobOut:
        job = item.job
        return cls(
            id=job.id,
            kind=job.kind,
            notification_id=item.notification_id,
            attempts=job.attempts,
            reason=job.reason,
            failed_at=iso(job.failed_at),
        )


@router.get("")
async def depth(svc: ServicesDep, who: CallerDep) -> QueueOut:
    """How many jobs of each kind are ready, delayed, leased and dead."""
    counts = await svc.queue_admin.depth(who)
    return QueueOut(
        kinds={
            kind: DepthOut(ready=d.ready, delayed=d.delayed, leased=d.leased, dead=d.dead)
            for kind, d in counts.items()
        }
    )


@router.get("/{kind}/dead")
async def dead_letters(
    svc: ServicesDep,
    who: CallerDep,
    kind: Kind,
    limit: Annotated[int, Query(ge=1, le=500, description="How many, newest first.")] = 100,
) -> list[DeadJobOut]:
    """Jobs set aside after failing too often, with why, newest first."""
    return [DeadJobOut.of(item) for item in await svc.queue_admin.dead_letters(who, kind, limit)]


@router.post("/{kind}/dead/{job_id}/retry", status_code=204)
async def retry(
    svc: ServicesDep, who: CallerDep, kind: Kind, job_id: Annotated[str, Path(max_length=64)]
) -> Response:
    """Send a dead job through the workers again, due now (another nine attempts)."""
    await svc.queue_admin.revive(who, kind, job_id)
    return Response(status_code=204)
