"""The ``redis`` queue: one Redis Stream per kind, read through one consumer group.

A lease is ``XREADGROUP`` (https://redis.io/docs/latest/develop/data-types/streams/):
the entry stays in the group's pending list, owned by this consumer, until ``XACK``.
Entries idle in the pending list for longer than a lease are taken over with
``XAUTOCLAIM``, so a worker that dies loses nothing. Redis measures that idle time, not
a per-job deadline: the lease length that counts is the one the *reclaiming* worker
passes, so workers of one kind should share one lease length. Delayed jobs wait in a
sorted set scored by due time and move to the stream, earliest first, when a lease
finds them due. Dead letters go to a stream per kind. The ids of the jobs a kind holds
(waiting, delayed or leased) are kept in a hash, and a job pushed again under an id held is
skipped, so the outbox in front of this queue (``queue.outbox``) may push a job more than
once. All keys share one hash tag, so the scripts stay valid on Redis Cluster. Durability
is Redis's own (AOF with ``appendfsync everysec`` or stricter is the setting to run this
with); what Redis loses anyway, the outbox queues again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.queue import redis_scripts
from pushgate.queue.base import (
    DeadJob,
    Depth,
    Job,
    NewJob,
    cut_reason,
    kinds_tuple,
    lease_ms,
)

GROUP = "workers"
CONNECT_TIMEOUT_SECONDS = 5.0
# The longest a blocking read waits at once; a reply later than this by the socket
# timeout means Redis went silent (an outage), not that there was nothing to read.
MAX_BLOCK_SECONDS = 5.0
SOCKET_TIMEOUT_SECONDS = MAX_BLOCK_SECONDS + 10.0
# Dead letters read per XRANGE while looking for one (each carries its job's payload).
_DEAD_SCAN = 50
# Consumers idle this long with nothing pending are removed (see ``close``).
_CONSUMER_TTL_MS = 24 * 3600 * 1000


class Keys:
    """Key names under one prefix, wrapped in a hash tag (``{prefix}``) so every key
    lands in one Redis Cluster slot and scripts may touch several at once."""

    def __init__(self, prefix: str) -> None:
        self.base = f"{{{prefix}}}"
        self.kinds = f"{self.base}:kinds"
        self.cursors = f"{self.base}:cursors"
        self.signals = f"{self.base}:signals"

    def stream(self, kind: str) -> str:
        return f"{self.base}:stream:{kind}"

    def delayed(self, kind: str) -> str:
        return f"{self.base}:delayed:{kind}"

    def bodies(self, kind: str) -> str:
        return f"{self.base}:bodies:{kind}"

    def dead(self, kind: str) -> str:
        return f"{self.base}:dead:{kind}"

    def live(self, kind: str) -> str:
        """The ids of the kind's jobs held (waiting, delayed or leased): enqueue skips them."""
        return f"{self.base}:live:{kind}"

    def for_lease(self, kind: str) -> tuple[str, str, str]:
        return self.stream(kind), self.delayed(kind), self.bodies(kind)


class RedisQueue:
    """The job queue on Redis Streams, consumer groups and a sorted set of delayed jobs."""

    def __init__(
        self, client: aioredis.Redis, prefix: str = "pushgate", clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.client = client
        # Due times and leases are read on it (a test's clock moves the queue's time too).
        self.clock = clock
        self.keys = Keys(prefix)
        # Unique per queue object: reclaimed entries move to the consumer that took them.
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        self._grouped: set[str] = set()
        # The idle time after which this queue reclaims entries: its last lease length.
        self._reclaim_ms = 30_000
        self._enqueue = client.register_script(redis_scripts.ENQUEUE)
        self._lease = client.register_script(redis_scripts.LEASE)
        self._ack = client.register_script(redis_scripts.ACK)
        self._retry = client.register_script(redis_scripts.RETRY)
        self._dead = client.register_script(redis_scripts.DEAD)
        self._revive = client.register_script(redis_scripts.REVIVE)
        self._extend = client.register_script(redis_scripts.EXTEND)
        self._release = client.register_script(redis_scripts.RELEASE)

    @classmethod
    def from_url(
        cls, url: str, prefix: str = "pushgate", clock: Clock = SYSTEM_CLOCK
    ) -> RedisQueue:
        # Bounded connects and replies: a Redis host gone silent fails a call within
        # seconds (an outage the callers back off from) rather than hold it for the OS's
        # minutes.
        client = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_keepalive=True,
        )
        return cls(client, prefix, clock)

    async def missing(self, jobs: Sequence[tuple[str, str]]) -> list[str]:
        """Of these (job id, kind) pairs, the ids the queue does not hold."""
        by_kind: dict[str, list[str]] = {}
        for job_id, kind in jobs:
            by_kind.setdefault(kind, []).append(job_id)
        async with self.client.pipeline(transaction=False) as pipe:
            for kind, ids in by_kind.items():
                pipe.hmget(self.keys.live(kind), ids)
            answers = await pipe.execute()
        return [
            job_id
            for ids, held in zip(by_kind.values(), answers, strict=True)
            for job_id, flag in zip(ids, held, strict=True)
            if flag is None
        ]

    async def _ensure_groups(self, kinds: Sequence[str] | set[str]) -> None:
        for kind in kinds:
            if kind in self._grouped:
                continue
            try:
                await self.client.xgroup_create(self.keys.stream(kind), GROUP, "0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            self._grouped.add(kind)

    async def enqueue(self, jobs: Sequence[NewJob], available_at: int | None = None) -> None:
        await self.enqueue_again(jobs, available_at, ran_before=False)

    async def enqueue_again(
        self, jobs: Sequence[NewJob], available_at: int | None = None, *, ran_before: bool = True
    ) -> int:
        """Queue ``jobs`` unless the queue holds their ids already; answers how many were
        stored. With ``ran_before``, each counts as leased once before (its next lease has
        ``attempts`` 2), as a job queued again after Redis lost it may have run in part."""
        if not jobs:
            return 0
        kinds = sorted({job.kind for job in jobs})
        await self._ensure_groups(kinds)
        position = {kind: str(index) for index, kind in enumerate(kinds, start=1)}
        keys = [self.keys.kinds, self.keys.signals]
        for kind in kinds:
            keys += [*self.keys.for_lease(kind), self.keys.live(kind)]
        due = self.clock.now_ms() if available_at is None else available_at
        delayed = 0 if available_at is None else 1
        args: list[str | int | bytes] = [due, delayed, 1 if ran_before else 0, len(kinds)]
        args += kinds
        for job in jobs:
            args += (position[job.kind], job.id, job.payload)
        return int(await self._enqueue(keys=keys, args=args))

    async def lease(
        self, kinds: str | Sequence[str], max_jobs: int, lease_seconds: float
    ) -> list[Job]:
        names = kinds_tuple(kinds)
        if max_jobs < 1:
            return []
        await self._ensure_groups(names)
        lease = self._reclaim_ms = lease_ms(lease_seconds)
        now = self.clock.now_ms()
        keys = [key for kind in names for key in self.keys.for_lease(kind)]
        keys.append(self.keys.cursors)
        args: list[str | int] = [GROUP, self.consumer, max_jobs, lease, now]
        try:
            found = await self._lease(keys=keys, args=args)
        except ResponseError as exc:
            await self._regroup(names, exc)
            found = await self._lease(keys=keys, args=args)
        leased = [_job(names, item, now + lease) for item in found]
        leased.sort(key=lambda job: (job.available_at, job.id))
        return leased

    async def ack(self, jobs: Sequence[Job]) -> int:
        by_kind: dict[str, list[str]] = {}
        for job in jobs:
            entry, deliveries = _handle(job)
            by_kind.setdefault(job.kind, []).extend((entry, deliveries, job.id))
        done = 0
        for kind, triples in by_kind.items():
            keys = [self.keys.stream(kind), self.keys.live(kind)]
            with _lost_with_the_stream():
                done += int(await self._ack(keys=keys, args=[GROUP, *triples]))
        return done

    async def retry_later(self, job: Job, at: int, reason: str) -> bool:
        entry, deliveries = _handle(job)
        keys = [*self.keys.for_lease(job.kind), self.keys.signals]
        args: list[str | int] = [GROUP, entry, deliveries, at, cut_reason(reason), job.kind]
        with _lost_with_the_stream():
            return bool(await self._retry(keys=keys, args=args))
        return False

    async def dead_letter(self, job: Job, reason: str) -> bool:
        entry, deliveries = _handle(job)
        keys = [self.keys.stream(job.kind), self.keys.dead(job.kind), self.keys.live(job.kind)]
        args: list[str | int] = [GROUP, entry, deliveries, cut_reason(reason), self.clock.now_ms()]
        with _lost_with_the_stream():
            return bool(await self._dead(keys=keys, args=args))
        return False

    async def extend(self, job: Job, lease_seconds: float) -> Job | None:
        expires = self.clock.now_ms() + lease_ms(lease_seconds)
        entry, deliveries = _handle(job)
        args = [GROUP, self.consumer, entry, deliveries]
        with _lost_with_the_stream():
            if await self._extend(keys=[self.keys.stream(job.kind)], args=args):
                return replace(job, lease_expires_at=expires)
        return None

    async def dead_letters(self, kind: str, limit: int = 100) -> list[DeadJob]:
        found: Any = await self.client.xrevrange(self.keys.dead(kind), count=limit)
        return [_dead_job(kind, fields) for _entry, fields in found]

    async def revive(self, kind: str, job_id: str) -> bool:
        """The dead letter is looked for a few entries at a time (an operator's action:
        Redis is never held by a walk of the whole dead stream), then moved by one script,
        which checks it is still there."""
        await self._ensure_groups([kind])
        dead = self.keys.dead(kind)
        start = "-"
        while True:
            found: Any = await self.client.xrange(dead, min=start, count=_DEAD_SCAN)
            for entry, fields in found:
                if fields[b"id"].decode() == job_id:
                    keys = [dead, self.keys.stream(kind), self.keys.live(kind)]
                    return bool(
                        await self._revive(keys=keys, args=[entry, job_id, self.clock.now_ms()])
                    )
            if len(found) < _DEAD_SCAN:
                return False
            start = "(" + found[-1][0].decode()

    async def depth(self, kinds: Sequence[str] | None = None) -> dict[str, Depth]:
        if kinds is None:
            kinds = sorted(_text(k) for k in await self.client.smembers(self.keys.kinds))
        try:
            return await self._depth(kinds)
        except ResponseError as exc:
            await self._regroup(kinds, exc)
            return await self._depth(kinds)

    async def oldest_due(self, kinds: Sequence[str]) -> dict[str, int]:
        try:
            return await self._oldest_due(kinds)
        except ResponseError as exc:
            await self._regroup(kinds, exc)
            return await self._oldest_due(kinds)

    async def _oldest_due(self, kinds: Sequence[str]) -> dict[str, int]:
        """The first entry no worker has read yet (its id is the time it was added, when
        it was due), or a delayed job past its time that no lease has moved yet."""
        await self._ensure_groups(kinds)
        async with self.client.pipeline(transaction=False) as pipe:
            for kind in kinds:
                pipe.xinfo_groups(self.keys.stream(kind))
                pipe.zrange(self.keys.delayed(kind), 0, 0, withscores=True)
            answers = await pipe.execute()
        now = self.clock.now_ms()
        found: dict[str, int] = {}
        for index, kind in enumerate(kinds):
            groups, first = answers[index * 2 : index * 2 + 2]
            group = next((g for g in groups if _text(g["name"]) == GROUP), None)
            if group is None:
                raise ResponseError(f"NOGROUP no group {GROUP} on {self.keys.stream(kind)}")
            due = [int(score) for _member, score in first if score <= now]
            after = "(" + _text(group["last-delivered-id"])
            unread: Any = await self.client.xrange(self.keys.stream(kind), min=after, count=1)
            due.extend(int(_text(entry_id).split("-")[0]) for entry_id, _ in unread)
            if due:
                found[kind] = min(due)
        return found

    async def _regroup(self, kinds: Sequence[str], exc: ResponseError) -> None:
        """The streams vanished under us (Redis restarted without persistence, or was
        flushed): make the groups again rather than fail every call after."""
        if "NOGROUP" not in str(exc) and "no such key" not in str(exc):
            raise exc
        self._grouped.difference_update(kinds)
        await self._ensure_groups(kinds)

    async def _depth(self, kinds: Sequence[str]) -> dict[str, Depth]:
        await self._ensure_groups(kinds)
        async with self.client.pipeline(transaction=False) as pipe:
            for kind in kinds:
                pipe.xlen(self.keys.stream(kind))
                pipe.xpending(self.keys.stream(kind), GROUP)
                pipe.zcard(self.keys.delayed(kind))
                pipe.xlen(self.keys.dead(kind))
            answers = await pipe.execute()
        counts: dict[str, Depth] = {}
        for index, kind in enumerate(kinds):
            length, pending, delayed, dead = answers[index * 4 : index * 4 + 4]
            held = int(pending["pending"])
            counts[kind] = Depth(int(length) - held, int(delayed), held, int(dead))
        return counts

    async def wait(self, kinds: str | Sequence[str], max_wait: float) -> bool:
        names = kinds_tuple(kinds)
        await self._ensure_groups(names)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while True:
            try:
                positions, next_due = await self._positions(names)
            except ResponseError as exc:
                await self._regroup(names, exc)
                positions, next_due = await self._positions(names)
            now = self.clock.now_ms()
            if next_due <= now:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            # Bounded blocks, so the client's socket timeout tells a silent Redis from a
            # long wait.
            remaining = min(remaining, (next_due - now) / 1000, MAX_BLOCK_SECONDS)
            # Blocks until an entry past each position arrives: on a kind's stream, one
            # no worker has read yet (ready work); on the signals stream, a new delayed
            # job (look again at the due times).
            woke: Any = await self.client.xread(
                positions, count=1, block=max(1, round(remaining * 1000))
            )
            if any(stream != self.keys.signals.encode() for stream, _ in woke or ()):
                return True

    async def _positions(self, names: tuple[str, ...]) -> tuple[dict[Any, Any], int]:
        """Where to block on each stream, and when a lease could next find work: now
        when an entry sits idle past the lease, else the earliest delayed job or one
        lease length from now (an abandoned lease can run out meanwhile)."""
        async with self.client.pipeline(transaction=False) as pipe:
            for kind in names:
                stream = self.keys.stream(kind)
                pipe.xinfo_groups(stream)
                pipe.zrange(self.keys.delayed(kind), 0, 0, withscores=True)
                pipe.xpending_range(stream, GROUP, "-", "+", 1, idle=self._reclaim_ms)
            pipe.xrevrange(self.keys.signals, count=1)
            answers = await pipe.execute()
        now = self.clock.now_ms()
        positions: dict[Any, Any] = {}
        due = [now + self._reclaim_ms]
        for index, kind in enumerate(names):
            groups, first, idle = answers[index * 3 : index * 3 + 3]
            group = next((g for g in groups if _text(g["name"]) == GROUP), None)
            if group is None:
                raise ResponseError(f"NOGROUP no group {GROUP} on {self.keys.stream(kind)}")
            positions[self.keys.stream(kind)] = group["last-delivered-id"]
            due.extend(int(score) for _member, score in first)
            if idle:
                due.append(now)
        signals = answers[-1]
        positions[self.keys.signals] = signals[0][0] if signals else "0-0"
        return positions, min(due)

    async def close(self) -> None:
        """Leave the group (when holding nothing) and close the client.

        Consumers of processes that died leave no such trace: once their entries are
        reclaimed, any close removes them after a day idle."""
        streams = [self.keys.stream(kind) for kind in sorted(self._grouped)]
        try:
            if streams:
                await self._release(keys=streams, args=[GROUP, self.consumer, _CONSUMER_TTL_MS])
        finally:
            await self.client.aclose()


@contextlib.contextmanager
def _lost_with_the_stream() -> Iterator[None]:
    """A lease whose stream or group is gone (Redis restarted without persistence, or
    was flushed) is a lost lease, answered as such, not an error: the outbox's
    reconciler queues the job again (docs/architecture.md §9)."""
    try:
        yield
    except ResponseError as exc:
        if "NOGROUP" not in str(exc):
            raise


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _handle(job: Job) -> tuple[str, str]:
    entry, _, deliveries = job.lease_token.partition("/")
    return entry, deliveries


def _job(names: tuple[str, ...], packed: bytes, expires: int) -> Job:
    """A job from the lease script's string (format in ``redis_scripts.LEASE``)."""
    head, _, rest = packed.partition(b"\n")
    index, entry, deliveries, before, due, id_length, error_length = head.split(b" ")
    id_end = int(id_length)
    error_end = id_end + int(error_length)
    return Job(
        id=rest[:id_end].decode(),
        kind=names[int(index) - 1],
        payload=rest[error_end:],
        attempts=int(before) + int(deliveries),
        available_at=int(due),
        lease_token=f"{entry.decode()}/{int(deliveries)}",
        lease_expires_at=expires,
        last_error=rest[id_end:error_end].decode() or None,
    )


def _dead_job(kind: str, fields: dict[bytes, bytes]) -> DeadJob:
    return DeadJob(
        id=fields[b"id"].decode(),
        kind=kind,
        payload=bytes(fields[b"p"]),
        attempts=int(fields[b"a"]),
        reason=fields[b"r"].decode(),
        failed_at=int(fields[b"f"]),
    )
