"""What a host sends as a record event, and what an app's trigger is made of (docs/events.md).

Recipients are a tagged union (``kind``), matched with ``assert_never`` where they are
resolved (core/trigger_recipients.py): a new kind a branch forgets fails ``mypy``.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import orjson
from pydantic import Discriminator, Field, StringConstraints, field_validator

from pushgate.core import tagexpr
from pushgate.core.inputs import NAME_PATTERN, ExternalId, Strict, Topic
from pushgate.core.notification_input import TypeKey

EventName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
RecordType = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
TriggerKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
ConditionSource = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
# A field path into the event: where the recipients' external ids are (docs/events.md).
FIELD_PATH = re.compile(r"^(record\.fields|changes|data)(\.[A-Za-z0-9_-]{1,64}){1,8}$|^actor$")
MAX_EVENT_BYTES = 65_536
MAX_BATCH = 1000
MAX_THROTTLE_MINUTES = 7 * 24 * 60
MAX_DELAY_MINUTES = 7 * 24 * 60


class Operation(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class RecordInput(Strict):
    type: RecordType
    id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    fields: dict[str, Any] = Field(default_factory=dict)


class EventInput(Strict):
    """One thing that happened to one record of the host."""

    name: EventName
    record: RecordInput
    operation: Operation | None = Field(
        default=None, description="create, update or delete; absent: none said"
    )
    changes: dict[str, Any] = Field(default_factory=dict)
    actor: ExternalId | None = None
    occurred_at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    app: Annotated[str, StringConstraints(pattern=NAME_PATTERN)] | None = Field(
        default=None, description="Only this app's triggers; absent: every app of the tenant"
    )
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None

    @field_validator("data", "changes")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(orjson.dumps(value)) > MAX_EVENT_BYTES:
            raise ValueError(f"exceeds {MAX_EVENT_BYTES} bytes as JSON")
        return value


class EventBatchInput(Strict):
    events: list[EventInput] = Field(min_length=1, max_length=MAX_BATCH)


def check_path(value: str) -> str:
    if not FIELD_PATH.match(value):
        raise ValueError(
            "a field path is actor, or record.fields, changes or data followed by up to "
            "8 dotted names (record.fields.assigned_to)"
        )
    return value


class FieldRecipients(Strict):
    """The users whose external ids are at a field path: one id, or a list of them (the
    watchers of a record)."""

    kind: Literal["field"] = "field"
    path: str

    _path = field_validator("path")(check_path)


class UsersRecipients(Strict):
    kind: Literal["users"] = "users"
    users: list[ExternalId] = Field(min_length=1, max_length=1000)


class UnitRecipients(Strict):
    """The users of a unit (not of its child units)."""

    kind: Literal["unit"] = "unit"
    unit: Annotated[str, StringConstraints(pattern=NAME_PATTERN)]


class TopicRecipients(Strict):
    kind: Literal["topic"] = "topic"
    topic: Topic


class TagsRecipients(Strict):
    kind: Literal["tags"] = "tags"
    tags: Annotated[str, StringConstraints(min_length=1, max_length=tagexpr.MAX_LENGTH)]

    @field_validator("tags")
    @classmethod
    def _parses(cls, value: str) -> str:
        tagexpr.parse(value)
        return value


Recipients = Annotated[
    FieldRecipients | UsersRecipients | UnitRecipients | TopicRecipients | TagsRecipients,
    Discriminator("kind"),
]


class TriggerInput(Strict):
    """An app's rule: on these events, if the condition holds, send this type to these
    recipients (docs/events.md, "Triggers")."""

    key: TriggerKey
    name: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    events: list[EventName] = Field(min_length=1, max_length=32)
    record_type: RecordType | None = None
    operations: list[Operation] = Field(default_factory=list, max_length=3)
    condition: ConditionSource | None = None
    recipients: Recipients
    type: TypeKey
    throttle_minutes: Annotated[int, Field(ge=1, le=MAX_THROTTLE_MINUTES)] | None = None
    delay_minutes: Annotated[int, Field(ge=1, le=MAX_DELAY_MINUTES)] | None = None
    cancel_on: ConditionSource | None = Field(
        default=None,
        description="With a delay: a later event on the same record for which this holds "
        "cancels the send; absent: any later event on the record cancels it",
    )
    enabled: bool = True


class TriggerPatch(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=32)
    record_type: RecordType | None = None
    operations: list[Operation] | None = Field(default=None, max_length=3)
    condition: ConditionSource | None = None
    recipients: Recipients | None = None
    type: TypeKey | None = None
    throttle_minutes: Annotated[int, Field(ge=1, le=MAX_THROTTLE_MINUTES)] | None = None
    delay_minutes: Annotated[int, Field(ge=1, le=MAX_DELAY_MINUTES)] | None = None
    cancel_on: ConditionSource | None = None
    enabled: bool | None = None


class TriggerTestInput(Strict):
    """A sample event to run a trigger against; nothing is sent."""

    event: EventInput
