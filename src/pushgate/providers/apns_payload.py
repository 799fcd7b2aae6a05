"""Rendering a :class:`~pushgate.core.messages.Message` for APNs (docs/providers.md §1.3–§1.4).

The body is ``{"aps": {...}, <custom keys>}``: Apple's keys under ``aps``, the message's
``data`` as siblings of ``aps`` (APNs ignores custom keys inside it). A message with
something to show is an ``alert`` push; one without is a ``background`` push
(``content-available: 1``, priority 5, no alert, badge or sound).

Every push carries the delivery's identity under the custom key ``pushgate`` and, with
actions, the actions under ``pushgate_actions`` (docs/actions.md); ``aps.category`` is the
action set's key, the category the app registered its buttons under (§1.4).

``message.overrides["apns"]`` may hold ``aps`` (merged into ``aps``), ``push_type`` (any
type of §1.3, e.g. ``voip``; the topic suffix follows), ``priority`` (1, 5 or 10) and
``payload`` (extra custom keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pushgate.core.identity import PayloadIdentity
from pushgate.core.messages import Message, Priority
from pushgate.providers.payload_identity import (
    ACTIONS_KEY,
    actions_list,
    reserved_key,
    with_identity,
)

PAYLOAD_LIMIT = 4096
VOIP_PAYLOAD_LIMIT = 5120  # §1.4: VoIP pushes may be larger
COLLAPSE_ID_LIMIT = 64  # bytes, §1.2 (BadCollapseId above it)

# apns-push-type → the suffix its apns-topic carries after the bundle id (§1.3). ``mdm``
# is absent: its topic comes from the MDM certificate, not from the bundle id.
TOPIC_SUFFIXES: dict[str, str] = {
    "alert": "",
    "background": "",
    "voip": ".voip",
    "complication": ".complication",
    "fileprovider": ".pushkit.fileprovider",
    "liveactivity": ".push-type.liveactivity",
    "location": ".location-query",
    "pushtotalk": ".voip-ptt",
    "widgets": ".push-type.widgets",
    "controls": ".push-type.controls",
}
PRIORITIES = frozenset({1, 5, 10})


class PayloadRefused(ValueError):
    """The message cannot be sent to APNs as it is (too large, bad override…); ``field``
    names what the sender gave that APNs refuses (None when it is the whole payload's size)."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.field = field


@dataclass(frozen=True, slots=True)
class ApnsPush:
    """Everything of one APNs request that depends on the message alone."""

    body: bytes
    push_type: str
    topic: str
    priority: int
    collapse_id: str | None
    limit: int  # bytes the body may have once a delivery's identity is added


def render_push(
    message: Message, bundle_id: str, identity: PayloadIdentity | None = None
) -> ApnsPush:
    """The body and apns-* header values for ``message`` (with ``identity`` when given;
    a fan-out adds each delivery's with :func:`with_identity`); :class:`PayloadRefused`
    when APNs would refuse it, so an oversize message is never sent."""
    override = message.overrides.get("apns", {})
    push_type = str(override.get("push_type") or _default_push_type(message))
    suffix = TOPIC_SUFFIXES.get(push_type)
    if suffix is None:
        raise PayloadRefused(f"unknown apns push_type {push_type!r}", "overrides.apns.push_type")
    aps = render_aps(message)
    aps.update(_object(override, "aps"))
    reserved = reserved_key(message.data)
    if reserved is not None:
        raise PayloadRefused(f"{reserved!r} is reserved for pushgate", f"data.{reserved}")
    custom = {key: value for key, value in message.data.items() if key != "aps"}
    if message.image and "image" not in custom:
        custom["image"] = message.image  # for the Notification Service Extension
    if message.actions:
        custom[ACTIONS_KEY] = actions_list(message)
    custom.update(_object(override, "payload"))
    body = with_identity(orjson.dumps({"aps": aps, **custom}), identity)
    limit = VOIP_PAYLOAD_LIMIT if push_type == "voip" else PAYLOAD_LIMIT
    if len(body) > limit:
        raise PayloadRefused(
            f"payload too large: {len(body)} bytes, APNs takes at most {limit} "
            f"for {push_type} pushes"
        )
    collapse_id = message.collapse_key
    if collapse_id is not None and len(collapse_id.encode()) > COLLAPSE_ID_LIMIT:
        raise PayloadRefused(f"collapse key longer than {COLLAPSE_ID_LIMIT} bytes", "collapse_key")
    priority = _priority(message, push_type, override.get("priority"))
    return ApnsPush(body, push_type, bundle_id + suffix, priority, collapse_id, limit)


def render_aps(message: Message) -> dict[str, Any]:
    """The ``aps`` dictionary (§1.4); FCM reuses it for its ``apns.payload`` block."""
    aps: dict[str, Any] = {}
    alert = {
        key: value
        for key, value in (
            ("title", message.title),
            ("subtitle", message.subtitle),
            ("body", message.body),
        )
        if value
    }
    if alert:
        aps["alert"] = alert
    if message.badge is not None:
        aps["badge"] = message.badge
    if message.sound:
        aps["sound"] = message.sound
    # The action set's key names the category whose buttons iOS shows (§1.4).
    category = message.action_set or message.category
    if category:
        aps["category"] = category
    if message.thread_id:
        aps["thread-id"] = message.thread_id
    if message.content_available or not is_visible(message):
        aps["content-available"] = 1
    if message.mutable_content or message.image:
        aps["mutable-content"] = 1
    if message.interruption_level:
        aps["interruption-level"] = message.interruption_level
    if message.relevance_score is not None:
        aps["relevance-score"] = message.relevance_score
    return aps


def is_visible(message: Message) -> bool:
    """Whether the user sees or hears it: text, a badge change or a sound (an alert push)."""
    return not message.is_silent or message.badge is not None or bool(message.sound)


def _default_push_type(message: Message) -> str:
    return "alert" if is_visible(message) else "background"


def _object(override: dict[str, Any], name: str) -> dict[str, Any]:
    """``override[name]``, which is merged into a JSON object, so must be one (§1.4)."""
    value = override.get(name, {})
    if not isinstance(value, dict):
        raise PayloadRefused(f"{name} must be a JSON object", f"overrides.apns.{name}")
    return value


def _priority(message: Message, push_type: str, override: object) -> int:
    if push_type == "background":
        return 5  # §1.3: background pushes must use priority 5
    if override is not None:
        if override not in PRIORITIES:
            raise PayloadRefused("apns priority must be 1, 5 or 10", "overrides.apns.priority")
        return int(str(override))
    return 10 if message.priority is Priority.HIGH else 5
