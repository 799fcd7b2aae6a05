"""The message as plain JSON, for providers whose payload is ours to shape: the Web Push
plaintext a service worker reads, the webhook body, WNS raw and the HMS ``data`` string.
"""

from __future__ import annotations

from typing import Any

from pushgate.core.messages import Message


def message_fields(message: Message) -> dict[str, Any]:
    """Every field the message sets, under stable snake_case names; unset ones are left out."""
    fields: dict[str, Any] = {
        "title": message.title,
        "subtitle": message.subtitle,
        "body": message.body,
        "image": message.image,
        "badge": message.badge,
        "sound": message.sound,
        "category": message.category,
        "thread_id": message.thread_id,
        "collapse_key": message.collapse_key,
        "priority": str(message.priority),
    }
    present = {name: value for name, value in fields.items() if value is not None}
    if message.data:
        present["data"] = message.data
    if message.actions:
        present["actions"] = [
            {
                "id": action.id,
                "title": action.title,
                "destructive": action.destructive,
                "foreground": action.foreground,
                "text_input": action.text_input,
            }
            for action in message.actions
        ]
    if message.content_available:
        present["content_available"] = True
    return present


def with_overrides(payload: dict[str, Any], message: Message, kind: str) -> dict[str, Any]:
    """``payload`` with the sender's fields for ``kind`` merged in at the top level."""
    overrides = message.overrides.get(kind)
    return {**payload, **overrides} if overrides else payload
