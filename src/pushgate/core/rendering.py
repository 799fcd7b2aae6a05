"""From a stored notification's content to the message one device gets."""

from __future__ import annotations

from typing import Any

from pushgate.core.localize import choose_variant
from pushgate.core.messages import Action, Message, Priority
from pushgate.core.models import Device


def render(content: dict[str, Any], device: Device, user_locale: str | None = None) -> Message:
    """The device's message: its locale's variant of title/subtitle/body, the rest shared."""
    return render_for(content, device.locale, user_locale)


def every_variant(content: dict[str, Any]) -> list[Message]:
    """The default message and one per locale variant (to check each against limits)."""
    return [
        render_for(content),
        *(render_for(content, tag) for tag in content.get("locales") or {}),
    ]


def render_for(content: dict[str, Any], *locales: str | None) -> Message:
    """The message for the first of ``locales`` that has a variant, else the default."""
    variant = choose_variant(content.get("locales") or {}, *locales) or {}

    def text(name: str) -> str | None:
        chosen = variant.get(name)
        return str(chosen) if chosen is not None else content.get(name)

    return Message(
        title=text("title"),
        subtitle=text("subtitle"),
        body=text("body"),
        data=dict(content.get("data") or {}),
        image=content.get("image"),
        badge=content.get("badge"),
        sound=content.get("sound"),
        category=content.get("category"),
        thread_id=content.get("thread_id"),
        actions=tuple(Action(**a) for a in content.get("actions") or ()),
        priority=Priority(content.get("priority") or Priority.HIGH),
        collapse_key=content.get("collapse_key"),
        content_available=bool(content.get("content_available")),
        mutable_content=bool(content.get("mutable_content")),
        interruption_level=content.get("interruption_level"),
        relevance_score=content.get("relevance_score"),
        overrides=dict(content.get("overrides") or {}),
    )
