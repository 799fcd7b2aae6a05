"""From a stored notification's content to the message one device gets."""

from __future__ import annotations

from collections.abc import Sequence
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
        actions=tuple(_action(a, locales) for a in content.get("actions") or ()),
        action_set=content.get("action_set"),
        priority=Priority(content.get("priority") or Priority.HIGH),
        collapse_key=content.get("collapse_key"),
        content_available=bool(content.get("content_available")),
        mutable_content=bool(content.get("mutable_content")),
        interruption_level=content.get("interruption_level"),
        relevance_score=content.get("relevance_score"),
        overrides=dict(content.get("overrides") or {}),
    )


def _action(stored: dict[str, Any], locales: Sequence[str | None]) -> Action:
    """One action of ``content["actions"]`` (``core.actions.content_actions``' shape), its
    title the one for the first of ``locales`` that has one, chosen as the text is."""
    chosen = choose_variant(stored.get("titles") or {}, *locales)
    given = stored.get("input")
    text_input = given if isinstance(given, dict) else None
    return Action(
        id=str(stored["id"]),
        key=str(stored.get("key") or stored["id"]),
        title=str(chosen) if chosen is not None else str(stored["title"]),
        foreground=bool(stored.get("foreground")),
        destructive=bool(stored.get("destructive")),
        authentication_required=bool(stored.get("authentication_required")),
        has_input=text_input is not None,
        input_placeholder=None if text_input is None else text_input.get("placeholder"),
        input_button_title=None if text_input is None else text_input.get("button_title"),
    )
