"""The provider-neutral message one device receives, after locale and template choices.

Providers render this into their own payloads (APNs ``aps``, FCM ``message``, …); what a
provider has no field for is carried in ``data`` or ignored, and ``overrides`` lets a
sender set provider-specific fields directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Priority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"


@dataclass(frozen=True, slots=True)
class Action:
    """A button on an actionable notification; the answer comes back over REST
    (docs/actions.md). ``id`` is what the device appends to the response URL, ``key`` what
    the app knows the button by (its APNs category action identifier), ``title`` the one
    chosen for the device's locale. A text input is there when either input field is set or
    ``has_input`` is true."""

    id: str
    key: str
    title: str
    foreground: bool = False
    destructive: bool = False
    authentication_required: bool = False
    has_input: bool = False
    input_placeholder: str | None = None
    input_button_title: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    title: str | None = None
    subtitle: str | None = None
    body: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    image: str | None = None
    badge: int | None = None
    sound: str | None = None
    category: str | None = None
    thread_id: str | None = None
    actions: tuple[Action, ...] = ()
    # The action set's key (APNs: the category), None for an inline list or no actions.
    action_set: str | None = None
    priority: Priority = Priority.HIGH
    collapse_key: str | None = None
    content_available: bool = False
    mutable_content: bool = False
    interruption_level: str | None = None
    relevance_score: float | None = None
    # Provider kind → fields merged into that provider's payload as given.
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def is_silent(self) -> bool:
        """Data-only: nothing to show (APNs background push, FCM data message)."""
        return not (self.title or self.subtitle or self.body)
