"""What one message becomes for HMS Push Kit: the ``message`` object without its tokens
(docs/providers.md §5.2), so deliveries of the same message share one request.

``data`` (one JSON string) carries the delivery's identity under ``pushgate`` and, with
actions, the actions under ``pushgate_actions`` (docs/actions.md), for the app to draw its
buttons. The identity differs per delivery, so with one each delivery is its own request.
"""

from __future__ import annotations

from typing import Any

import orjson

from pushgate.core.identity import PayloadIdentity
from pushgate.core.messages import Message, Priority
from pushgate.providers.payload_identity import (
    ACTIONS_KEY,
    actions_list,
    identity_fields,
    reserved_key,
)

MAX_MESSAGE_BYTES = 4096  # §5.2: the message body, tokens excluded
MIN_TTL_SECONDS = 1  # §5.2: 1 s to 15 days
MAX_TTL_SECONDS = 15 * 24 * 60 * 60
COLLAPSE_KEYS = range(-1, 101)  # §5.2 (bound unconfirmed): an integer, -1 meaning "no collapsing"
OPEN_APP = 3  # click_action type 3: open the app's launcher activity


class HmsPayloadError(ValueError):
    """The message cannot be sent to HMS as it is; ``field`` names what the sender gave."""

    def __init__(self, reason: str, field: str) -> None:
        super().__init__(reason)
        self.field = field


def render(
    message: Message, ttl_seconds: int, identity: PayloadIdentity | None = None
) -> dict[str, Any]:
    """The ``message`` object for ``messages:send``; the caller adds ``token``.
    :class:`HmsPayloadError` when ``data`` uses a key of pushgate's."""
    android: dict[str, Any] = {
        "urgency": "HIGH" if message.priority is Priority.HIGH else "NORMAL",
        "ttl": f"{min(ttl_seconds, MAX_TTL_SECONDS)}s",
    }
    collapse_key = _collapse_key(message.collapse_key)
    if collapse_key is not None:
        android["collapse_key"] = collapse_key
    if not message.is_silent:
        android["notification"] = _notification(message)
    # §5.2: ``data`` is a string, which the app parses; JSON is the common choice.
    reserved = reserved_key(message.data)
    if reserved is not None:
        raise HmsPayloadError(f"data key {reserved!r} is reserved for pushgate", f"data.{reserved}")
    data: dict[str, Any] = {**message.data, **identity_fields(identity)}
    if message.actions:
        data[ACTIONS_KEY] = actions_list(message)
    rendered: dict[str, Any] = {"data": orjson.dumps(data).decode(), "android": android}
    overrides = message.overrides.get("hms")
    return {**rendered, **overrides} if overrides else rendered


def encoded_size(rendered: dict[str, Any]) -> int:
    """Bytes of the message as sent, before tokens are added (the §5.2 limit's measure)."""
    return len(orjson.dumps(rendered))


def _notification(message: Message) -> dict[str, Any]:
    notification: dict[str, Any] = {"click_action": {"type": OPEN_APP}}
    if message.title:
        notification["title"] = message.title
    if message.body:
        notification["body"] = message.body
    if message.image:
        notification["image"] = message.image
    return notification


def _collapse_key(value: str | None) -> int | None:
    """HMS collapse keys are small integers; other collapse keys cannot be expressed."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number in COLLAPSE_KEYS else None
