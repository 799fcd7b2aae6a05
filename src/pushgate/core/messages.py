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
    """A button on an actionable notification; the answer comes back over REST."""

    id: str
    title: str
    destructive: bool = False
    foreground: bool = False
    text_input: bool = False


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
