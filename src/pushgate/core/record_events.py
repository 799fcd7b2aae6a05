"""Record events: stored with their processing job before the answer (docs/events.md).

:meth:`EventLog.record` is the one way an event enters pushgate, whoever sends it (the
API, the command line, an inbound adapter): it checks the caller, honours an
``Idempotency-Key`` (a repeat with the same event answers the first one; with another,
409), and writes the event and its job in one transaction (docs/architecture.md §9), so a
stored event is always processed, at least once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import orjson

from pushgate.core.access import Caller
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.event_inputs import EventInput
from pushgate.core.ids import new_id
from pushgate.core.models import Scope, Tenant
from pushgate.core.ports import InTransaction
from pushgate.core.registry import Registry
from pushgate.errors import IdempotencyKeyReused, InvalidInput, NotFound

IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000


class EventState(StrEnum):
    PENDING = "pending"  # stored, its job not yet run
    PROCESSED = "processed"
    FAILED = "failed"  # a condition failed on it (``reason``); the other triggers ran


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    id: str
    tenant_id: str
    idempotency_key: str | None
    request_hash: str | None
    body: EventInput
    state: EventState
    created_at: int
    #: Per trigger that the event's names and record took: what it made of the event.
    outcome: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    reason: str | None = None
    processed_at: int | None = None


class EventStorePort(Protocol):
    async def insert_events(
        self, events: Sequence[RecordedEvent], within: InTransaction
    ) -> None: ...
    async def event_by_key(self, tenant_id: str, key: str) -> RecordedEvent | None: ...
    async def release_key(self, event_id: str) -> None: ...
    async def event(self, event_id: str) -> RecordedEvent | None: ...
    async def later_events(self, item: RecordedEvent, until: int) -> list[RecordedEvent]: ...
    async def list_events(
        self, tenant_id: str, filters: EventFilters, after: str | None, limit: int
    ) -> list[RecordedEvent]: ...
    async def set_outcome(
        self,
        event_id: str,
        state: EventState,
        outcome: Sequence[Mapping[str, Any]],
        reason: str | None,
        at: int,
        within: InTransaction | None = None,
    ) -> bool:
        """Store the event's outcome once, while it is pending, with ``within`` in the same
        transaction; False (nothing written) when an earlier run stored it already."""
        ...

    async def set_trigger_outcome(
        self, event_id: str, index: int, trigger_id: str, entry: Mapping[str, Any]
    ) -> None:
        """Replace the outcome's entry at ``index`` (that of ``trigger_id``) alone, so
        delayed triggers of one event finishing at once keep each other's entries."""
        ...


class EventJobsPort(Protocol):
    """Queues each event's processing job in the transaction that stores it."""

    def within(self, event_ids: Sequence[str]) -> InTransaction: ...
    async def committed(self, event_ids: Sequence[str]) -> None: ...


def event_hash(data: EventInput) -> str:
    """The event's canonical form (parsed fields, sorted keys), the key left out."""
    fields = data.model_dump(mode="json", exclude={"idempotency_key"})
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()


def event_view(item: RecordedEvent) -> dict[str, Any]:
    """The event as conditions (``event``) and templates (``data.event``) see it."""
    body = item.body
    occurred = body.occurred_at or datetime.fromtimestamp(item.created_at / 1000, UTC)
    return {
        "id": item.id,
        "name": body.name,
        "operation": None if body.operation is None else body.operation.value,
        "record": {"type": body.record.type, "id": body.record.id, "fields": body.record.fields},
        "changes": body.changes,
        "actor": body.actor,
        "occurred_at": occurred.isoformat().replace("+00:00", "Z"),
        "data": body.data,
    }


@dataclass(frozen=True, slots=True)
class EventFilters:
    """What ``GET /v1/events`` narrows the log to: an event name, a record (its type, and
    optionally its id)."""

    name: str | None = None
    record_type: str | None = None
    record_id: str | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    event: RecordedEvent
    created: bool


class EventLog:
    """Records events and reads them back."""

    def __init__(
        self,
        store: EventStorePort,
        jobs: EventJobsPort,
        registry: Registry,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.registry = registry
        self.clock = clock

    async def record(
        self, caller: Caller, tenant: Tenant, data: EventInput, key: str | None = None
    ) -> Recorded:
        """Store one event and its job; ``key`` (a header's) wins over the body's."""
        return (await self.record_many(caller, tenant, [data], [key]))[0]

    async def record_many(
        self,
        caller: Caller,
        tenant: Tenant,
        items: Sequence[EventInput],
        keys: Sequence[str | None] | None = None,
    ) -> list[Recorded]:
        """Store events and their jobs in one transaction; repeats of keyed events answer
        the first ones (``created`` false) and store nothing."""
        caller.require(Scope.SEND)
        now = self.clock.now_ms()
        out: list[Recorded | None] = []
        fresh: list[RecordedEvent] = []
        for name in sorted({data.app for data in items if data.app is not None}):
            await self.registry.app(tenant, name)  # 404 for an app the tenant lacks
        for index, data in enumerate(items):
            key = (keys[index] if keys else None) or data.idempotency_key
            digest = event_hash(data) if key else None
            earlier = await self._earlier(tenant, key, digest, now) if key else None
            if earlier is not None:
                out.append(Recorded(earlier, False))
                continue
            event = RecordedEvent(new_id(), tenant.id, key, digest, data, EventState.PENDING, now)
            fresh.append(event)
            out.append(None)
        if fresh:
            await self.store.insert_events(fresh, self.jobs.within([e.id for e in fresh]))
            await self.jobs.committed([e.id for e in fresh])
        made = iter(fresh)
        return [found if found is not None else Recorded(next(made), True) for found in out]

    async def read(self, caller: Caller, tenant: Tenant, event_id: str) -> RecordedEvent:
        caller.require(Scope.SEND)
        found = await self.store.event(event_id)
        if found is None or found.tenant_id != tenant.id:
            raise NotFound(f"no event {event_id!r}", details={"event": event_id})
        return found

    async def recent(
        self,
        caller: Caller,
        tenant: Tenant,
        filters: EventFilters,
        after: str | None,
        limit: int,
    ) -> list[RecordedEvent]:
        """The tenant's events, newest first (``after``: the last id of the page before)."""
        caller.require(Scope.SEND)
        if filters.record_id is not None and filters.record_type is None:
            raise InvalidInput(
                "record_id needs record_type (a record is named by both)",
                details={"field": "record_id"},
            )
        return await self.store.list_events(tenant.id, filters, after, limit)

    async def _earlier(
        self, tenant: Tenant, key: str, digest: str | None, now: int
    ) -> RecordedEvent | None:
        found = await self.store.event_by_key(tenant.id, key)
        if found is None:
            return None
        if found.created_at < now - IDEMPOTENCY_WINDOW_MS:
            await self.store.release_key(found.id)  # the key may be used again
            return None
        if found.request_hash != digest:
            raise IdempotencyKeyReused(
                f"the Idempotency-Key {key!r} was used for another event",
                details={"idempotency_key": key},
            )
        return found
