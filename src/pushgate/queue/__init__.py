"""Durable jobs with leases: the interface (``base``) and its backends (``sql``, ``redis``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from pushgate.queue.base import DeadJob, Depth, Job, NewJob, Queue

__all__ = ["DeadJob", "Depth", "Job", "NewJob", "Queue", "queue_from_url"]


def queue_from_url(url: str, engine: AsyncEngine, *, prefix: str = "pushgate") -> Queue:
    """The queue a setting names: ``sql`` (jobs in the database behind ``engine``) or a
    ``redis://`` / ``rediss://`` / ``unix://`` URL (keys under ``prefix``)."""
    if url == "sql":
        from pushgate.queue.sql import SqlQueue

        return SqlQueue(engine)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from pushgate.queue.redis import RedisQueue

        return RedisQueue.from_url(url, prefix)
    raise ValueError(f"unknown queue URL {url!r}: use 'sql' or a redis:// URL")
