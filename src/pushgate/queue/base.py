"""The queue interface: durable jobs with leases, whatever the backend.

A job is an opaque payload under a ``kind`` (the name workers ask for). Delivery is at
least once: a worker *leases* jobs, and a lease that is neither acked, retried nor
extended before it expires hands the job to the next worker, so a worker that dies
loses nothing. Every lease carries a token; an ack, retry or extend with a token that
is no longer current (the lease expired and someone else took the job) is refused, so a
slow worker cannot undo the work of the one that replaced it.

Times are UTC milliseconds since the epoch, like everywhere in pushgate; workers that
share a queue need clocks kept in step (NTP), as delayed jobs and lease expiries are
computed from the caller's clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from pushgate.core.ids import new_id

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

MAX_KIND_LENGTH = 64
MAX_JOB_ID_LENGTH = 64
# Reasons (retry and dead letter) are for people reading them; longer text is cut.
MAX_REASON_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to enqueue. ``payload`` is bytes the queue never reads (callers encode)."""

    kind: str
    payload: bytes
    id: str = field(default_factory=new_id)
    # What the job works for (a notification's id), so its jobs can be found and queued
    # again (see ``queue.outbox``); the queue itself never reads it.
    owner: str | None = None

    def __post_init__(self) -> None:
        if not 0 < len(self.kind) <= MAX_KIND_LENGTH:
            raise ValueError(f"job kind must be 1 to {MAX_KIND_LENGTH} characters")
        if not 0 < len(self.id) <= MAX_JOB_ID_LENGTH:
            raise ValueError(f"job id must be 1 to {MAX_JOB_ID_LENGTH} characters")


@dataclass(frozen=True, slots=True)
class Job:
    """A leased job, valid until ``lease_expires_at`` unless extended."""

    id: str
    kind: str
    payload: bytes
    # How many times the job has been leased, this lease included (1 on the first).
    attempts: int
    # When the job became due: its enqueue time, or the time a retry asked for.
    available_at: int
    # Proves this lease; opaque to callers (each backend encodes its own handle).
    lease_token: str
    lease_expires_at: int
    # The reason given to the last ``retry_later``, if any.
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class DeadJob:
    """A job set aside for good, kept with the reason and the attempts it took."""

    id: str
    kind: str
    payload: bytes
    attempts: int
    reason: str
    failed_at: int


@dataclass(frozen=True, slots=True)
class Depth:
    """How many jobs of one kind are in each state, for metrics.

    ``ready`` counts jobs a lease would take now (on the SQL backend that includes jobs
    whose lease expired); ``leased`` counts jobs held by a worker (on Redis, until they
    are reclaimed, even when their lease has run out).
    """

    ready: int = 0
    delayed: int = 0
    leased: int = 0
    dead: int = 0


class Queue(Protocol):
    """What the delivery pipeline asks of a job queue; ``queue.sql`` and ``queue.redis``
    implement it, and ``tests/contracts/test_queue.py`` holds both to one contract."""

    async def enqueue(self, jobs: Sequence[NewJob], available_at: int | None = None) -> None:
        """Store ``jobs`` durably in one batch; due now, or at ``available_at``."""
        ...

    async def lease(
        self, kinds: str | Sequence[str], max_jobs: int, lease_seconds: float
    ) -> list[Job]:
        """Take up to ``max_jobs`` due jobs, earliest ``available_at`` first.

        Jobs whose earlier lease expired are taken again with ``attempts`` raised.
        """
        ...

    async def ack(self, jobs: Sequence[Job]) -> int:
        """Remove finished jobs; answers how many were still held under their token."""
        ...

    async def retry_later(self, job: Job, at: int, reason: str) -> bool:
        """Give the job back, due again at ``at``; False when the lease was lost."""
        ...

    async def dead_letter(self, job: Job, reason: str) -> bool:
        """Set the job aside for good; False when the lease was lost."""
        ...

    async def extend(self, job: Job, lease_seconds: float) -> Job | None:
        """Renew the lease from now; None when it was lost."""
        ...

    async def dead_letters(self, kind: str, limit: int = 100) -> list[DeadJob]:
        """The most recent dead letters of ``kind``, newest first."""
        ...

    async def revive(self, kind: str, job_id: str) -> bool:
        """Put a dead-lettered job back, due now, as if leased once before (its next lease
        has ``attempts`` 2 and the dead letter's reason as ``last_error``: it may have been
        partly done); False when ``kind`` has no dead job ``job_id``."""
        ...

    async def depth(self, kinds: Sequence[str] | None = None) -> dict[str, Depth]:
        """Counts per kind (every kind the queue knows when ``kinds`` is None)."""
        ...

    async def oldest_due(self, kinds: Sequence[str]) -> dict[str, int]:
        """For each of ``kinds`` with a job a lease would take now: since when (epoch ms)
        the oldest such job has been due, for the queue-lag metric. Kinds with none are
        left out. Cheap: a look at the head of each kind's index or stream."""
        ...

    async def wait(self, kinds: str | Sequence[str], max_wait: float) -> bool:
        """Sleep until a job of ``kinds`` may be due (True) or ``max_wait`` seconds pass (False).

        Wakes on enqueue and when a delayed job's time comes, without polling; a True
        answer is a hint (another worker may take the job first).
        """
        ...

    async def close(self) -> None:
        """Release connections the queue opened itself."""
        ...


class PipelineQueue(Queue, Protocol):
    """The queue as the API and the workers hold it: besides the contract above, jobs
    written inside a transaction on pushgate's own database, so the change that makes a
    job and the job commit together or not at all (docs/architecture.md §9)."""

    async def enqueue_in(
        self,
        connection: AsyncConnection,
        jobs: Sequence[NewJob],
        available_at: int | None = None,
    ) -> None:
        """Write ``jobs`` within the caller's open transaction on ``connection``."""
        ...

    async def committed(self, jobs: Sequence[NewJob], available_at: int | None = None) -> None:
        """Tell the queue that the transaction holding ``jobs`` committed (wake workers,
        or move them on); never raises for an outage: they are stored already."""
        ...

    async def requeue(self, owner: str) -> None:
        """Make sure every stored job of ``owner`` is queued (harmless when it is)."""
        ...

    async def keep(self, stop: asyncio.Event) -> None:
        """Background upkeep (the outbox's relay and reconciler) until ``stop`` is set."""
        ...

    async def is_ready(self) -> tuple[bool, str]:
        """Whether jobs can be queued and leased now, and why not."""
        ...


def kinds_tuple(kinds: str | Sequence[str]) -> tuple[str, ...]:
    """One kind or many, as a non-empty tuple without repeats."""
    names = (kinds,) if isinstance(kinds, str) else tuple(dict.fromkeys(kinds))
    if not names:
        raise ValueError("name at least one job kind")
    return names


def cut_reason(reason: str) -> str:
    return reason[:MAX_REASON_LENGTH]


def lease_ms(lease_seconds: float) -> int:
    if lease_seconds <= 0:
        raise ValueError("lease_seconds must be positive")
    return max(1, round(lease_seconds * 1000))
