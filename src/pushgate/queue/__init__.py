"""Durable jobs with leases: the interface (``base``) and its backends (``sql``, ``redis``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.queue.base import DeadJob, Depth, Job, NewJob, PipelineQueue, Queue

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["DeadJob", "Depth", "Job", "NewJob", "PipelineQueue", "Queue", "queue_from_url"]


def queue_from_url(
    url: str,
    engine: AsyncEngine,
    *,
    prefix: str = "pushgate",
    reconcile_seconds: float = 30.0,
    clock: Clock = SYSTEM_CLOCK,
) -> PipelineQueue:
    """The queue a setting names: ``sql`` (jobs in the database behind ``engine``) or a
    ``redis://`` / ``rediss://`` / ``unix://`` URL (keys under ``prefix``, each job
    stored first in the outbox table of the database behind ``engine``)."""
    if url == "sql":
        from pushgate.queue.sql import SqlQueue

        return SqlQueue(engine, clock)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from pushgate.queue.outbox import OutboxQueue
        from pushgate.queue.redis import RedisQueue

        redis = RedisQueue.from_url(url, prefix, clock)
        return OutboxQueue(redis, engine, reconcile_seconds=reconcile_seconds)
    raise ValueError(f"unknown queue URL {url!r}: use 'sql' or a redis:// URL")
