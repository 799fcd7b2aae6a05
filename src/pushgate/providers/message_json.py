"""The message as plain JSON, for providers whose payload is ours to shape: the Web Push
plaintext a service worker reads, the webhook body and WNS raw.
"""

from __future__ import annotations

from typing import Any

from pushgate.core.messages import Message
from pushgate.providers.payload_identity import actions_list


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
        # As the Notification API's actions ({action, title}) with what answering needs
        # (docs/actions.md).
        present["actions"] = actions_list(message)
    if message.action_set:
        present["action_set"] = message.action_set
    if message.content_available:
        present["content_available"] = True
    return present


def with_overrides(payload: dict[str, Any], message: Message, kind: str) -> dict[str, Any]:
    """``payload`` with the sender's fields for ``kind`` merged in at the top level."""
    overrides = message.overrides.get(kind)
    return {**payload, **overrides} if overrides else payload
