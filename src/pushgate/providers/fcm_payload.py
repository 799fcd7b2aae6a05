"""Rendering a :class:`~pushgate.core.messages.Message` as an FCM HTTP v1 ``message``
(docs/providers.md §2.3), with the android, apns and webpush blocks.

``data`` values must be strings, so other values are sent JSON-encoded. The remaining TTL
goes to each platform its own way: ``android.ttl`` as ``"<seconds>s"``, the APNs
``apns-expiration`` header as a UNIX time, the Web Push ``TTL`` header in seconds. An expiry
of :data:`NOW_OR_NEVER` is a TTL of 0 on all three: ``"0s"``, ``apns-expiration: 0``,
``TTL: 0``, each platform's "deliver now or drop it".
``message.overrides["fcm"]`` is merged into the message last (dictionaries key by key).

``data`` carries the delivery's identity under ``pushgate`` and, with actions, the actions
under ``pushgate_actions``, each a JSON string (docs/actions.md): an Android app draws the
buttons from them. A fan-out renders the message once as a :class:`Template` and puts each
delivery's token and identity into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from pushgate.core.identity import IDENTITY_KEY
from pushgate.core.messages import Message, Priority
from pushgate.providers.apns_payload import COLLAPSE_ID_LIMIT, is_visible, render_aps
from pushgate.providers.payload_identity import ACTIONS_KEY, RESERVED_DATA_KEYS, actions_list

PAYLOAD_LIMIT = 4096  # §2.4: keys and values of the payload
# The expiry (epoch ms) that renders as a TTL of 0 (§2.3: "0 = now-or-never"): the epoch
# itself, so the seconds left are 0 and apns-expiration is 0 (§1.2: one attempt, not stored).
NOW_OR_NEVER = 0
MAX_TTL_SECONDS = 2_419_200  # §2.3: four weeks
# §2.3: keys FCM keeps for itself in ``data``.
RESERVED_KEYS = frozenset({"from", "message_type", "gcm"})
RESERVED_PREFIXES = ("google.", "gcm.notification.")
# RFC 8030 §5.4: a Topic is at most 32 characters of the URL-safe base64 alphabet.
_WEBPUSH_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")
# Stands for a delivery's identity in a template: one character, escaped by orjson, so the
# bytes below occur nowhere else (a quote inside a JSON string is always escaped).
_PLACEHOLDER = "\x00"
_DATA_OPEN = b'"data":{'
_IDENTITY_MEMBER = orjson.dumps(IDENTITY_KEY) + b":"
_MARKER = _DATA_OPEN + _IDENTITY_MEMBER + orjson.dumps(_PLACEHOLDER)


class MessageRefused(ValueError):
    """FCM would refuse the message as it is (too large, reserved key…); ``field`` names
    what the sender gave that FCM refuses (None when it is the whole payload's size)."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.field = field


@dataclass(frozen=True, slots=True)
class Template:
    """A message's request body around its token and identity: ``{"message":{"token":``
    <token> ``head`` <identity> ``tail``. ``size`` is what FCM counts against its limit
    without the identity (§2.4)."""

    head: bytes
    tail: bytes
    size: int


def render_message(message: Message, token: str, expires_at_ms: int, now: float) -> dict[str, Any]:
    """The ``message`` object for one registration token; :class:`MessageRefused` when FCM
    would refuse it, so it is never sent."""
    return {"token": token, **render_fields(message, expires_at_ms, now)}


def render_template(message: Message, expires_at_ms: int, now: float) -> Template:
    """The request body of ``message`` rendered once for every device of a fan-out;
    :func:`request_body` puts each device's token and identity in. The fields are never
    empty: android, apns and webpush are always there."""
    rendered = render_fields(message, expires_at_ms, now, _PLACEHOLDER)
    fields = orjson.dumps(rendered)
    at = fields.find(_MARKER)
    if at < 0:  # render_fields keeps the placeholder first in data
        raise MessageRefused("the identity could not be placed in data", "data")
    head = b"," + fields[1 : at + len(_DATA_OPEN)]
    tail = fields[at + len(_MARKER) :] + b"}"
    return Template(head, tail, payload_size(rendered) - len(_PLACEHOLDER))


def request_body(template: Template, token: str, identity: bytes | None = None) -> bytes:
    """``{"message": {"token": …, <template fields>}}`` without re-encoding the template;
    ``identity`` is the JSON of the delivery's identity (``PayloadIdentity.to_json``)."""
    start = b'{"message":{"token":' + orjson.dumps(token) + template.head
    if identity is None:
        tail = template.tail
        return start + (tail[1:] if tail.startswith(b",") else tail)
    return start + _IDENTITY_MEMBER + orjson.dumps(identity.decode()) + template.tail


def render_fields(
    message: Message, expires_at_ms: int, now: float, identity: str | None = None
) -> dict[str, Any]:
    """Everything of the ``message`` object but its target; see :func:`render_message`.
    ``identity`` (the JSON of a delivery's identity) goes first in ``data``."""
    ttl = min(max(0, (expires_at_ms - int(now * 1000)) // 1000), MAX_TTL_SECONDS)
    high = message.priority is Priority.HIGH
    rendered: dict[str, Any] = {}
    if not message.is_silent:
        notification = {"title": message.title, "body": message.body, "image": message.image}
        rendered["notification"] = {k: v for k, v in notification.items() if v}
    data = string_data(message.data)
    if identity is not None:
        data = {IDENTITY_KEY: identity, **data}
    if message.actions:
        data[ACTIONS_KEY] = orjson.dumps(actions_list(message)).decode()
    if data:
        rendered["data"] = data
    rendered["android"] = _android(message, ttl, high)
    rendered["apns"] = _apns(message, expires_at_ms // 1000, high)
    rendered["webpush"] = _webpush(message, ttl, high)
    override = message.overrides.get("fcm")
    if override:
        _check_override(override)
        rendered = merged(rendered, override)
    size = payload_size(rendered)
    if size > PAYLOAD_LIMIT:
        raise MessageRefused(f"payload too large: {size} bytes, FCM takes at most {PAYLOAD_LIMIT}")
    return rendered


def string_data(data: dict[str, Any]) -> dict[str, str]:
    """``data`` with every value a string (§2.3): non-strings are JSON-encoded."""
    result: dict[str, str] = {}
    for key, value in data.items():
        if key in RESERVED_KEYS or key.startswith(RESERVED_PREFIXES):
            raise MessageRefused(f"data key {key!r} is reserved by FCM", f"data.{key}")
        if key in RESERVED_DATA_KEYS:
            raise MessageRefused(f"data key {key!r} is reserved for pushgate", f"data.{key}")
        result[key] = value if isinstance(value, str) else orjson.dumps(value).decode()
    return result


def payload_size(rendered: dict[str, Any]) -> int:
    """Bytes FCM counts against the limit: data keys and values, notification values."""
    # An fcm override may have put anything anywhere: what is not an object counts nothing
    # here (FCM itself refuses such a message when it is sent).
    android = rendered.get("android")
    size = _data_size(rendered.get("data"))
    size += _data_size(android.get("data") if isinstance(android, dict) else None)
    notification = rendered.get("notification")
    if not isinstance(notification, dict):
        return size
    return size + sum(len(str(value).encode()) for value in notification.values())


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``extra``, nested dictionaries merged rather than replaced."""
    result = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def _check_override(override: dict[str, Any]) -> None:
    data = override.get("data")
    if isinstance(data, dict):
        for key in RESERVED_DATA_KEYS & data.keys():
            field = f"overrides.fcm.data.{key}"
            raise MessageRefused(f"data key {key!r} is reserved for pushgate", field)


def _android(message: Message, ttl: int, high: bool) -> dict[str, Any]:
    android: dict[str, Any] = {"priority": "HIGH" if high else "NORMAL", "ttl": f"{ttl}s"}
    if message.collapse_key:
        android["collapse_key"] = message.collapse_key
    notification: dict[str, Any] = {}
    if message.sound:
        notification["sound"] = message.sound
    if message.badge is not None:
        notification["notification_count"] = message.badge
    if message.category:
        notification["click_action"] = message.category
    if notification and not message.is_silent:
        android["notification"] = notification
    return android


def _apns(message: Message, expiration: int, high: bool) -> dict[str, Any]:
    visible = is_visible(message)
    # §2.3: data-only messages to iOS may only use priority 5 (§1.3: background pushes).
    priority = "10" if high and visible else "5"
    headers = {
        "apns-priority": priority,
        "apns-expiration": str(expiration),
        "apns-push-type": "alert" if visible else "background",
    }
    collapse = message.collapse_key
    if collapse and len(collapse.encode()) <= COLLAPSE_ID_LIMIT:
        headers["apns-collapse-id"] = collapse
    return {"headers": headers, "payload": {"aps": render_aps(message)}}


def _webpush(message: Message, ttl: int, high: bool) -> dict[str, Any]:
    # RFC 8030 §5.2 (TTL), §5.3 (Urgency), §5.4 (Topic).
    headers = {"TTL": str(ttl), "Urgency": "high" if high else "normal"}
    if message.collapse_key and _WEBPUSH_TOPIC.fullmatch(message.collapse_key):
        headers["Topic"] = message.collapse_key
    return {"headers": headers}


def _data_size(data: Any) -> int:
    if not isinstance(data, dict):
        return 0
    return sum(len(str(key).encode()) + len(str(value).encode()) for key, value in data.items())
