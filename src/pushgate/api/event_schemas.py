"""Answers of the events and triggers routes (docs/events.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from pushgate.api.schemas import iso
from pushgate.core.event_inputs import TriggerInput
from pushgate.core.record_events import Recorded, RecordedEvent
from pushgate.core.triggers import Trigger


class EventAccepted(BaseModel):
    id: str
    created: bool
    state: str


class EventBatchAccepted(BaseModel):
    items: list[EventAccepted]


class EventOut(BaseModel):
    id: str
    state: str
    event: dict[str, Any]
    idempotency_key: str | None
    #: Per trigger the event's name and record took: matched, the notification it made,
    #: or why none (condition false, throttled, delayed, cancelled, an error).
    triggers: list[dict[str, Any]]
    reason: str | None
    created_at: str | None
    processed_at: str | None

    @classmethod
    def of(cls, item: RecordedEvent) -> EventOut:
        return cls(
            id=item.id,
            state=item.state.value,
            event=item.body.model_dump(mode="json", exclude={"idempotency_key"}),
            idempotency_key=item.idempotency_key,
            triggers=[_entry(o) for o in item.outcome],
            reason=item.reason,
            created_at=iso(item.created_at),
            processed_at=iso(item.processed_at),
        )


class EventSummaryOut(BaseModel):
    """An event in the log's listing: what happened to which record, and what came of it
    (its page, ``GET /v1/events/{id}``, has each trigger's entry)."""

    id: str
    name: str
    record_type: str
    record_id: str
    actor: str | None
    state: str
    reason: str | None
    #: Triggers whose names and record took the event; of them, those whose condition held.
    triggers: int
    matched: int
    #: Notifications the event's triggers made.
    notifications: int
    created_at: str | None

    @classmethod
    def of(cls, item: RecordedEvent) -> EventSummaryOut:
        return cls(
            id=item.id,
            name=item.body.name,
            record_type=item.body.record.type,
            record_id=item.body.record.id,
            actor=item.body.actor,
            state=item.state.value,
            reason=item.reason,
            triggers=len(item.outcome),
            matched=sum(1 for o in item.outcome if o.get("matched")),
            notifications=sum(1 for o in item.outcome if o.get("notification")),
            created_at=iso(item.created_at),
        )


def _entry(entry: Any) -> dict[str, Any]:
    out = dict(entry)
    for name in ("delayed_until",):
        if isinstance(out.get(name), int):
            out[name] = iso(out[name])
    return out


def accepted(found: Recorded) -> EventAccepted:
    return EventAccepted(id=found.event.id, created=found.created, state=found.event.state.value)


class TriggerOut(TriggerInput):
    id: str
    version: int
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, item: Trigger) -> TriggerOut:
        return cls(
            **item.spec.model_dump(),
            id=item.id,
            version=item.version,
            created_at=iso(item.created_at),
            updated_at=iso(item.updated_at),
        )


class TriggerTestOut(BaseModel):
    """What the trigger would do with the sample event; nothing is sent."""

    matched: bool
    #: Why it would not send: the names or record do not take the event, the condition is
    #: false or fails (with the message), no recipient.
    reason: str | None = None
    recipients: dict[str, Any] | None = None
    rendered: dict[str, Any] | None = None
    delayed_minutes: int | None = None
