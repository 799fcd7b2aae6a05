"""What an operator sees of the delivery queue and may do about it: how many jobs of each
kind wait, run or were set aside, the dead letters with their reasons, and a dead job sent
through the workers again (once whatever made it fail is fixed).

The queue is the instance's, shared by every tenant, so all of this is for instance-wide
admin keys only.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from pushgate.core.access import Caller
from pushgate.delivery.jobs import JOB_KINDS
from pushgate.errors import InvalidInput, NotFound
from pushgate.queue.base import DeadJob, Depth, Queue


@dataclass(frozen=True, slots=True)
class DeadLetter:
    job: DeadJob
    # The notification the job was working on, read from its payload when it has one.
    notification_id: str | None


class QueueAdmin:
    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    async def depth(self, caller: Caller) -> dict[str, Depth]:
        caller.require_instance_admin()
        counts = await self.queue.depth(JOB_KINDS)
        return {kind: counts.get(kind, Depth()) for kind in JOB_KINDS}

    async def dead_letters(self, caller: Caller, kind: str, limit: int) -> list[DeadLetter]:
        """The most recent dead letters of ``kind``, newest first."""
        caller.require_instance_admin()
        _known(kind)
        found = await self.queue.dead_letters(kind, limit)
        return [DeadLetter(job, _notification_of(job.payload)) for job in found]

    async def revive(self, caller: Caller, kind: str, job_id: str) -> None:
        """Queue a dead job again, due now; it runs as a retry (another nine attempts)."""
        caller.require_instance_admin()
        _known(kind)
        if not await self.queue.revive(kind, job_id):
            raise NotFound(f"no dead {kind} job {job_id!r}", details={"kind": kind, "job": job_id})


def _known(kind: str) -> None:
    if kind not in JOB_KINDS:
        raise InvalidInput(
            f"unknown job kind {kind!r}; the kinds are {', '.join(JOB_KINDS)}",
            details={"field": "kind", "kinds": list(JOB_KINDS)},
        )


def _notification_of(payload: bytes) -> str | None:
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    found = data.get("n") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None
