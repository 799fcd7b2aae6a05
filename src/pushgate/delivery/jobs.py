"""The job kinds the delivery workers run, and their payloads (orjson)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import orjson

from pushgate.core.interaction_forwarding import ForwardBatch, ForwardedEvent
from pushgate.core.notifications import AudienceMember
from pushgate.core.ports import InTransaction
from pushgate.queue.base import NewJob, PipelineQueue

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")

FANOUT = "fanout"
SEND = "send"
# Run an action's handler for one response (delivery/responses.py; docs/actions.md).
RESPOND = "respond"
# POST an operational event to its tenant's operational webhook (delivery/ops_webhook.py).
OPS_WEBHOOK = "ops_webhook"
# Run a record event's triggers, or one delayed trigger when due (core/event_processing.py).
RECORD_EVENT = "event"
# POST a batch of recorded interactions to its tenant's operational webhook
# (core/interaction_forwarding.py, delivery/ops_webhook.py).
INTERACTIONS_WEBHOOK = "interactions_webhook"
JOB_KINDS = (FANOUT, SEND, RESPOND, OPS_WEBHOOK, RECORD_EVENT, INTERACTIONS_WEBHOOK)
# The respond and ops_webhook payloads' layout; a reader refuses one it does not know.
RESPOND_VERSION = 1
OPS_WEBHOOK_VERSION = 1
RECORD_EVENT_VERSION = 1
INTERACTIONS_WEBHOOK_VERSION = 1


@dataclass(frozen=True, slots=True)
class FanoutJob:
    """Turn the next page of a notification's audience into deliveries."""

    notification_id: str
    after: str | None = None


@dataclass(frozen=True, slots=True)
class SendJob:
    """Send these pending deliveries of one notification (one app, one provider).

    A fan-out's job also carries its devices as the page read them (``members``, one per
    delivery, in order), so its first run sends without reading the batch back; a retry,
    or any later run of the job, reads what is still pending instead. A job with a ``key``
    always carries its devices: there is nothing to read back.
    """

    notification_id: str
    delivery_ids: tuple[str, ...]
    members: tuple[AudienceMember, ...] | None = None
    # Set for a notification that records failures only: its deliveries are pending in
    # this job alone (no rows), which settles once under this key; ``attempts`` is what
    # each of them had before this run (a job's deliveries share their history).
    key: str | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class RespondJob:
    """Run the handler of the action this response answered."""

    response_id: str


def fanout_job(item: FanoutJob) -> NewJob:
    payload = orjson.dumps({"n": item.notification_id, "after": item.after})
    if item.after is None:
        # The first page's job has an id of its own notification's: queued again (an
        # Idempotency-Key repeat, the reconciler), it is the same job, never a second.
        return NewJob(FANOUT, payload, first_fanout_id(item.notification_id), item.notification_id)
    return NewJob(FANOUT, payload, owner=item.notification_id)


def first_fanout_id(notification_id: str) -> str:
    return f"fanout-{notification_id}"


def send_job(item: SendJob) -> NewJob:
    body: dict[str, object] = {"n": item.notification_id, "d": list(item.delivery_ids)}
    if item.members:
        # One provider per job: named once; each member without it, as a plain list.
        body["p"] = item.members[0].provider
        body["a"] = [(m[0], *m[2:]) for m in item.members]
    if item.key is not None:
        body["k"] = item.key
        body["t"] = item.attempts
    return NewJob(SEND, orjson.dumps(body), owner=item.notification_id)


def read_fanout(payload: bytes) -> FanoutJob:
    data = orjson.loads(payload)
    return FanoutJob(str(data["n"]), data.get("after"))


def read_send(payload: bytes) -> SendJob:
    data = orjson.loads(payload)
    ids = tuple(str(i) for i in data["d"])
    carried = data.get("a")
    if carried is None or len(carried) != len(ids):
        return SendJob(str(data["n"]), ids)
    provider = str(data["p"])
    members = tuple(AudienceMember(a[0], provider, *a[1:]) for a in carried)
    key = data.get("k")
    return SendJob(str(data["n"]), ids, members, key, int(data.get("t", 0)) if key else 0)


def respond_job(item: RespondJob) -> NewJob:
    """The response's job, with an id of the response's own: queued again (a repeat of
    the answer, the reconciler), it is the same job, never a second handler run."""
    return _owned_job(RESPOND, RESPOND_VERSION, "r", "respond", item.response_id)


def read_respond(payload: bytes) -> RespondJob:
    return RespondJob(_read_owned(payload, RESPOND, RESPOND_VERSION, "r"))


@dataclass(frozen=True, slots=True)
class OpsWebhookJob:
    """POST this operational event to its tenant's operational webhook."""

    event_id: str


def ops_webhook_job(item: OpsWebhookJob) -> NewJob:
    """The event's job, with an id of the event's own: queued again, it is the same job."""
    return _owned_job(OPS_WEBHOOK, OPS_WEBHOOK_VERSION, "e", "opsev", item.event_id)


def read_ops_webhook(payload: bytes) -> OpsWebhookJob:
    return OpsWebhookJob(_read_owned(payload, OPS_WEBHOOK, OPS_WEBHOOK_VERSION, "e"))


def _owned_job(kind: str, version: int, field: str, prefix: str, owner_id: str) -> NewJob:
    """The one job of an owner (a response, an event): a versioned payload naming it, and
    an id of the owner's own, so queueing it again is the same job."""
    payload = orjson.dumps({"v": version, field: owner_id})
    return NewJob(kind, payload, f"{prefix}-{owner_id}", owner_id)


def _read_owned(payload: bytes, kind: str, version: int, field: str) -> str:
    data = orjson.loads(payload)
    if not isinstance(data, dict) or data.get("v") != version:
        raise ValueError(f"{kind} job payload of an unknown version: {payload[:80]!r}")
    return str(data[field])


def batches(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class FanoutStarter:
    """Queues a notification's first fan-out page, in the transaction that stores it."""

    def __init__(self, queue: PipelineQueue) -> None:
        self.queue = queue

    def within(self, notification_id: str, at: int) -> InTransaction:
        """The writes to make in the notification's own transaction."""
        job = fanout_job(FanoutJob(notification_id))

        async def write(connection: AsyncConnection) -> None:
            await self.queue.enqueue_in(connection, [job], available_at=at)

        return write

    async def committed(self, notification_id: str, at: int) -> None:
        """After the commit: the job goes on its way (to Redis, or wakes a worker)."""
        await self.queue.committed([fanout_job(FanoutJob(notification_id))], available_at=at)

    async def requeue(self, notification_id: str) -> None:
        """Make sure the notification's stored jobs are queued (an Idempotency-Key repeat
        of one whose queueing was cut short)."""
        await self.queue.requeue(notification_id)


class OwnedJobs:
    """Queues the one job of an owner (a response, an operational event) in the
    transaction that writes the owner, and sends it on its way after the commit."""

    def __init__(self, queue: PipelineQueue, make: Callable[[str], NewJob]) -> None:
        self.queue = queue
        self.make = make

    def within(self, owner_id: str) -> InTransaction:
        job = self.make(owner_id)

        async def write(connection: AsyncConnection) -> None:
            await self.queue.enqueue_in(connection, [job])

        return write

    async def committed(self, owner_id: str) -> None:
        await self.queue.committed([self.make(owner_id)])

    async def requeue(self, owner_id: str) -> None:
        await self.queue.requeue(owner_id)


class ResponseStarter(OwnedJobs):
    """Queues a response's job, in the transaction that stores the response."""

    def __init__(self, queue: PipelineQueue) -> None:
        super().__init__(queue, lambda response_id: respond_job(RespondJob(response_id)))


class EventJobs(OwnedJobs):
    """Queues an operational event's webhook job, in the transaction that writes the event
    (core/operational_events.py ``EventJobsPort``)."""

    def __init__(self, queue: PipelineQueue) -> None:
        super().__init__(queue, lambda event_id: ops_webhook_job(OpsWebhookJob(event_id)))


@dataclass(frozen=True, slots=True)
class RecordEventJob:
    """Run the event's triggers; with ``trigger_id``, that delayed trigger, now due."""

    event_id: str
    trigger_id: str | None = None


def record_event_job(item: RecordEventJob) -> NewJob:
    """The event's job, with an id of the event's own (and the trigger's, for a delayed
    one): queued again, it is the same job, never a second run of the triggers."""
    body: dict[str, object] = {"v": RECORD_EVENT_VERSION, "e": item.event_id}
    job_id = f"event-{item.event_id}"
    if item.trigger_id is not None:
        body["t"] = item.trigger_id
        # Within the queue's 64 characters: the two ids hashed together.
        pair = f"{item.event_id}/{item.trigger_id}".encode()
        job_id = f"event-delay-{hashlib.sha256(pair).hexdigest()[:40]}"
    return NewJob(RECORD_EVENT, orjson.dumps(body), job_id, item.event_id)


def read_record_event(payload: bytes) -> RecordEventJob:
    data = orjson.loads(payload)
    if not isinstance(data, dict) or data.get("v") != RECORD_EVENT_VERSION:
        raise ValueError(f"event job payload of an unknown version: {payload[:80]!r}")
    trigger = data.get("t")
    return RecordEventJob(str(data["e"]), None if trigger is None else str(trigger))


class RecordEventJobs:
    """Queues record events' jobs in the transaction that stores them
    (core/record_events.py ``EventJobsPort``), and a delayed trigger's for when it is due
    (core/event_processing.py ``DelayPort``)."""

    def __init__(self, queue: PipelineQueue) -> None:
        self.queue = queue

    def within(self, event_ids: Sequence[str]) -> InTransaction:
        jobs = [record_event_job(RecordEventJob(e)) for e in event_ids]

        async def write(connection: AsyncConnection) -> None:
            await self.queue.enqueue_in(connection, jobs)

        return write

    async def committed(self, event_ids: Sequence[str]) -> None:
        await self.queue.committed([record_event_job(RecordEventJob(e)) for e in event_ids])

    def delayed_within(self, event_id: str, due: Sequence[tuple[str, int]]) -> InTransaction:
        async def write(connection: AsyncConnection) -> None:
            for at, jobs in _delayed_jobs(event_id, due).items():
                await self.queue.enqueue_in(connection, jobs, at)

        return write

    async def delayed_committed(self, event_id: str, due: Sequence[tuple[str, int]]) -> None:
        for at, jobs in _delayed_jobs(event_id, due).items():
            await self.queue.committed(jobs, at)


def _delayed_jobs(event_id: str, due: Sequence[tuple[str, int]]) -> dict[int, list[NewJob]]:
    """A delayed trigger's jobs by due time (a queue writes one due time per call)."""
    by_due: dict[int, list[NewJob]] = {}
    for trigger_id, at in due:
        by_due.setdefault(at, []).append(record_event_job(RecordEventJob(event_id, trigger_id)))
    return by_due


def interactions_webhook_job(batch: ForwardBatch) -> NewJob:
    """The batch's job; its payload is the batch, its id the batch's own."""
    body = {
        "v": INTERACTIONS_WEBHOOK_VERSION,
        "id": batch.id,
        "t": batch.tenant_id,
        "a": batch.app_id,
        "at": batch.at,
        "e": [
            [e.notification, e.delivery, e.device, e.event, e.action_key, e.at]
            for e in batch.events
        ],
    }
    return NewJob(INTERACTIONS_WEBHOOK, orjson.dumps(body), f"fwd-{batch.id}", batch.id)


def read_interactions_webhook(payload: bytes) -> ForwardBatch:
    data = orjson.loads(payload)
    if not isinstance(data, dict) or data.get("v") != INTERACTIONS_WEBHOOK_VERSION:
        raise ValueError(f"{INTERACTIONS_WEBHOOK} job payload of an unknown version")
    events = tuple(
        ForwardedEvent(str(n), str(d), str(dev), str(ev), key, int(at))
        for n, d, dev, ev, key, at in data["e"]
    )
    return ForwardBatch(str(data["id"]), str(data["t"]), str(data["a"]), int(data["at"]), events)


class InteractionForwards:
    """Queues forwarded batches' jobs in the transaction that records their events
    (core/interaction_forwarding.py ``ForwardQueuePort``)."""

    def __init__(self, queue: PipelineQueue) -> None:
        self.queue = queue

    async def enqueue_in(
        self, connection: AsyncConnection, batches: Sequence[ForwardBatch]
    ) -> None:
        await self.queue.enqueue_in(connection, [interactions_webhook_job(b) for b in batches])

    async def committed(self, batches: Sequence[ForwardBatch]) -> None:
        await self.queue.committed([interactions_webhook_job(b) for b in batches])
