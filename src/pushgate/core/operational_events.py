"""Operational events: what pushgate itself did that an operator must know.

The audit log (core/audit.py) records who did what through the API; these record what the
system did on its own: credentials paused after a provider refused them and resumed by a
probe, a job set aside in the dead-letter queue, an action response whose handler failed
for good, a notification that reached nobody (docs/operations.md, "Operational events").
Each is listed by ``GET /v1/operational-events`` and, when the tenant set an operational
webhook, POSTed to it by a job queued in the transaction that writes the event.

Recording never breaks the work that emits it: a failure to record is logged, not raised.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.ids import new_id
from pushgate.core.models import Scope, Tenant

if TYPE_CHECKING:
    from pushgate.core.access import Caller
    from pushgate.core.ports import InTransaction

log = logging.getLogger(__name__)

# Details are for people and webhook receivers, not a dump: each text is cut, and details
# whose JSON grows past the bound are replaced by a note saying so.
MAX_DETAIL_TEXT = 512
MAX_DETAILS_BYTES = 4096


class EventKind(StrEnum):
    """What happened; the name a webhook receiver sees as ``type``."""

    CREDENTIALS_PAUSED = "credentials.paused"
    CREDENTIALS_RESUMED = "credentials.resumed"
    JOB_DEAD_LETTERED = "job.dead_lettered"
    ACTION_RESPONSE_FAILED = "action_response.failed"
    # Completed with at least one delivery and none sent: every one failed, was invalid
    # or expired (docs/operations.md, "Operational events").
    NOTIFICATION_FAILED = "notification.failed"


class SubjectType(StrEnum):
    APP = "app"
    NOTIFICATION = "notification"
    JOB = "job"
    RESPONSE = "response"


# What each kind of event is about: one table, checked whole by the tests.
SUBJECT_OF: Mapping[EventKind, SubjectType] = {
    EventKind.CREDENTIALS_PAUSED: SubjectType.APP,
    EventKind.CREDENTIALS_RESUMED: SubjectType.APP,
    EventKind.JOB_DEAD_LETTERED: SubjectType.JOB,
    EventKind.ACTION_RESPONSE_FAILED: SubjectType.RESPONSE,
    EventKind.NOTIFICATION_FAILED: SubjectType.NOTIFICATION,
}


@dataclass(frozen=True, slots=True)
class OperationalEvent:
    id: str
    at: int
    #: None for what concerns the whole instance (a job no tenant's object owns).
    tenant_id: str | None
    kind: EventKind
    subject_id: str
    app_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def subject_type(self) -> SubjectType:
        return SUBJECT_OF[self.kind]


class OperationalEventStorePort(Protocol):
    async def insert_event(
        self, event: OperationalEvent, within: InTransaction | None = None
    ) -> None: ...
    async def insert_in(self, connection: Any, event: OperationalEvent) -> None: ...
    async def event(self, event_id: str) -> OperationalEvent | None: ...
    async def list_events(
        self,
        tenant_id: str | None,
        kind: EventKind | None,
        app_id: str | None,
        before: str | None,
        limit: int,
    ) -> list[OperationalEvent]: ...
    async def purge_events(self, cutoff: int) -> int: ...
    async def has_webhook(self, tenant_id: str) -> bool: ...


class EventJobsPort(Protocol):
    """Queues the job that POSTs an event to its tenant's operational webhook."""

    def within(self, event_id: str) -> InTransaction: ...
    async def committed(self, event_id: str) -> None: ...


def bounded(details: Mapping[str, Any]) -> dict[str, Any]:
    """``details`` with each text cut to :data:`MAX_DETAIL_TEXT`, or a note when still too
    large (a row and a webhook body stay small whatever a provider answered)."""
    cut = {
        str(key)[:64]: value[:MAX_DETAIL_TEXT] if isinstance(value, str) else value
        for key, value in details.items()
    }
    try:
        size = len(orjson.dumps(cut))
    except TypeError:
        return {"truncated": True, "note": "details were not JSON"}
    if size > MAX_DETAILS_BYTES:
        return {"truncated": True, "keys": sorted(cut)[:32]}
    return cut


@dataclass(slots=True)
class Recording:
    """An event to write in another store's transaction (``write`` as its ``within``),
    then ``committed`` once that transaction has."""

    event: OperationalEvent
    store: OperationalEventStorePort
    jobs: EventJobsPort | None  # None: the tenant has no operational webhook

    async def write(self, connection: Any) -> None:
        await self.store.insert_in(connection, self.event)
        if self.jobs is not None:
            await self.jobs.within(self.event.id)(connection)

    async def committed(self) -> None:
        if self.jobs is None:
            return
        try:
            await self.jobs.committed(self.event.id)
        except Exception:  # stored already: the outbox relays it
            log.exception("operational event %s: its webhook job waits", self.event.id)


class OperationalEvents:
    """Records operational events and lists them to administrators."""

    def __init__(
        self, store: OperationalEventStorePort, jobs: EventJobsPort, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.clock = clock

    def new(
        self,
        kind: EventKind,
        subject_id: str,
        *,
        tenant_id: str | None,
        app_id: str | None = None,
        **details: Any,
    ) -> OperationalEvent:
        return OperationalEvent(
            new_id(), self.clock.now_ms(), tenant_id, kind, subject_id, app_id, bounded(details)
        )

    async def prepare(self, event: OperationalEvent) -> Recording:
        """The event's writes, its webhook job included when the tenant has a webhook.
        Never raises: should the lookup fail, the event goes without its job."""
        hook = False
        if event.tenant_id is not None:
            try:
                hook = await self.store.has_webhook(event.tenant_id)
            except Exception:
                log.exception("operational event %s: webhook lookup failed", event.id)
        return Recording(event, self.store, self.jobs if hook else None)

    async def record(self, event: OperationalEvent) -> None:
        """Write the event (and its webhook job) in a transaction of its own; a failure is
        logged, never raised into the work that emitted it."""
        recording = await self.prepare(event)
        try:
            job = None if recording.jobs is None else recording.jobs.within(event.id)
            await self.store.insert_event(event, job)
        except Exception:
            log.exception("operational event %s (%s) not recorded", event.kind, event.subject_id)
            return
        log.info("operational event %s %s %s", event.kind, event.subject_type, event.subject_id)
        await recording.committed()

    async def events(
        self,
        caller: Caller,
        tenant: Tenant | None,
        kind: EventKind | None,
        app_id: str | None,
        before: str | None,
        limit: int,
    ) -> list[OperationalEvent]:
        """Newest first. A tenant's admins see their tenant's events; instance admins see a
        named tenant's, or with none named, every event including the instance's own."""
        caller.require(Scope.ADMIN)
        if tenant is None:
            caller.require_instance_admin()
        tenant_id = None if tenant is None else tenant.id
        return await self.store.list_events(tenant_id, kind, app_id, before, limit)

    async def event(self, event_id: str) -> OperationalEvent | None:
        return await self.store.event(event_id)

    async def purge(self, cutoff: int) -> int:
        return await self.store.purge_events(cutoff)
