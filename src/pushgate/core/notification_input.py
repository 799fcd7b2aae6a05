"""What a sender may ask for: one notification, one audience, content and delivery options.

Validated before anything is stored, so a notification that is accepted can be sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from pydantic import Field, StringConstraints, field_validator, model_validator

from pushgate.core.actions import ACTION_KEY_PATTERN, MAX_SET_ACTIONS
from pushgate.core.audience import Audience, ShortText
from pushgate.core.inputs import Locale, Name, Strict
from pushgate.core.messages import Priority
from pushgate.core.notifications import DeliveryRecords
from pushgate.core.quiet_hours import LOCAL_TIME_PATTERN, LocalTime
from pushgate.errors import InvalidInput

MAX_DATA_BYTES = 4096
# Every provider's overrides together; one provider's payload is 4 KiB at most (APNs, Web
# Push; docs/providers.md §1.4, §3.2), so this leaves room and bounds what is stored.
MAX_OVERRIDES_BYTES = 8192
MAX_TTL_SECONDS = 28 * 24 * 3600  # FCM's ceiling (docs/providers.md §2.3); APNs allows 30 days

Text = Annotated[str, StringConstraints(max_length=2048)]
ActionKey = Annotated[str, StringConstraints(pattern=ACTION_KEY_PATTERN)]
TypeKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]


class Content(Strict):
    """What the person sees; also the shape of one locale variant."""

    title: ShortText | None = None
    subtitle: ShortText | None = None
    body: Text | None = None


class NotificationInput(Content):
    app: Name
    type: TypeKey | None = Field(
        default=None, description="The key of one of the app's notification types."
    )
    audience: Audience
    data: dict[str, Any] = Field(default_factory=dict)
    image: Annotated[str, StringConstraints(max_length=2048)] | None = None
    badge: Annotated[int, Field(ge=0, le=99_999)] | None = None
    sound: ShortText | None = None
    category: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")] | None = None
    thread_id: ShortText | None = None
    action_set: ActionKey | None = Field(
        default=None,
        description="The key of one of the app's action sets: its buttons are shown, and "
        "its key is the APNs category (so `category` must then be left out).",
    )
    actions: list[ActionKey] = Field(
        default_factory=list,
        max_length=MAX_SET_ACTIONS,
        description="Keys of the app's actions, in display order, when no set is named.",
    )
    locales: dict[Locale, Content] = Field(default_factory=dict, max_length=100)
    content_available: bool = False
    mutable_content: bool = False
    interruption_level: str | None = Field(
        default=None, pattern=r"^(passive|active|time-sensitive|critical)$"
    )
    relevance_score: Annotated[float, Field(ge=0, le=1)] | None = None
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict, max_length=6)
    ttl: Annotated[int, Field(ge=0, le=MAX_TTL_SECONDS)] | None = Field(
        default=None, description="Seconds the notification may wait; default from settings."
    )
    priority: Priority = Priority.HIGH
    collapse_key: Annotated[str, StringConstraints(max_length=64)] | None = None
    send_at: datetime | None = Field(default=None, description="Send at this time (scheduled).")
    deliver_at_local: Annotated[str, StringConstraints(pattern=LOCAL_TIME_PATTERN)] | None = Field(
        default=None,
        description="Send to each recipient at this wall-clock time in their own time zone "
        "(the device's, else the user's, else the tenant's `default_timezone`, else UTC): "
        "`HH:MM` for its next occurrence, `YYYY-MM-DDTHH:MM` for that date; within the TTL. "
        "Not with `send_at`.",
        examples=["09:00", "2026-12-24T09:00"],
    )
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    records: DeliveryRecords | None = Field(
        default=None,
        description="What to keep of each delivery: `all` (a row each, listable by outcome) "
        "or `failures` (counts of every outcome, a row only for deliveries that did not go "
        "out: much less written for a big send); default from settings.",
    )

    @field_validator("data")
    @classmethod
    def _data(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(_encoded(value)) > MAX_DATA_BYTES:
            raise ValueError(f"data exceeds {MAX_DATA_BYTES} bytes as JSON")
        return value

    @field_validator("overrides")
    @classmethod
    def _overrides(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        unknown = set(value) - {"apns", "fcm", "webpush", "wns", "hms", "webhook"}
        if unknown:
            raise ValueError(f"unknown provider in overrides: {', '.join(sorted(unknown))}")
        if len(_encoded(value)) > MAX_OVERRIDES_BYTES:
            raise ValueError(f"overrides exceed {MAX_OVERRIDES_BYTES} bytes as JSON")
        return value

    @field_validator("send_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("send_at needs a time zone offset, e.g. 2026-12-24T18:00:00+01:00")
        return value

    @field_validator("deliver_at_local")
    @classmethod
    def _local_time(cls, value: str | None) -> str | None:
        if value is not None:
            LocalTime.parse(value)
        return value

    @model_validator(mode="after")
    def _one_way_to_time(self) -> NotificationInput:
        if self.send_at is not None and self.deliver_at_local is not None:
            raise InvalidInput(
                "deliver_at_local: give send_at or deliver_at_local, not both",
                details={"field": "deliver_at_local", "reason": "send_at is given too"},
            )
        return self

    @field_validator("actions")
    @classmethod
    def _distinct_actions(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("an action is listed twice")
        return value

    @model_validator(mode="after")
    def _one_way_to_name_actions(self) -> NotificationInput:
        # The set's key is the APNs category of the push (docs/actions.md, "Model").
        if self.action_set is not None and self.actions:
            raise InvalidInput(
                "actions: name an action set or list actions, not both",
                details={"field": "actions", "reason": "action_set is given too"},
            )
        if self.action_set is not None and self.category is not None:
            raise InvalidInput(
                "category: an action set's key is the notification's category; leave it out",
                details={"field": "category", "reason": "action_set is given"},
            )
        return self

    @model_validator(mode="after")
    def _something_to_send(self) -> NotificationInput:
        # A type's template may make the text: checked once it is rendered (core/typed_sends.py).
        if self.type is None and not self.has_something_to_send:
            raise ValueError(
                "nothing to send: give a title, subtitle, body, data, badge, sound "
                "or content_available"
            )
        return self

    @property
    def has_something_to_send(self) -> bool:
        """Text, data, a badge (0 clears it: present, not empty), a sound or a background
        wake-up. Empty strings and an empty ``data`` carry nothing; a sound alone plays
        (APNs counts it as an alert, docs/providers.md §1.3)."""
        return bool(
            self.title
            or self.subtitle
            or self.body
            or self.data
            or self.sound
            or self.content_available
            or self.badge is not None
        )


def _encoded(value: object) -> bytes:
    """``value`` as the JSON every provider payload is made of; a ValueError (so a 422 naming
    the field) for what JSON parsing lets in but no payload can carry: integers beyond 64
    bits."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"cannot be sent as JSON: {exc}") from exc
