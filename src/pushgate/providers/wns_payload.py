"""What one message becomes for WNS: toast XML, or raw bytes (docs/providers.md §4.3).

A message with something to show becomes a ``ToastGeneric`` toast built with ElementTree,
so every title, body and attribute is escaped; a data-only message becomes a raw
notification carrying the message as JSON. ``overrides["wns"]`` may pick another type
(``tile``, ``badge``, ``raw``, ``toast``) with a ready ``payload``, and a tile ``tag``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import orjson

from pushgate.core.messages import Message
from pushgate.providers.message_json import message_fields

MAX_PAYLOAD_BYTES = 5000  # §4.3
TAG_PATTERN = re.compile(r"[A-Za-z0-9]{1,16}")  # §4.3: X-WNS-Tag, tiles only
XML_TYPES = {"toast": "wns/toast", "tile": "wns/tile", "badge": "wns/badge"}


class WnsPayloadError(ValueError):
    """The message cannot be expressed as the WNS notification it asks for; ``field`` names
    the override at fault."""

    def __init__(self, reason: str, field: str) -> None:
        super().__init__(reason)
        self.field = field


@dataclass(frozen=True, slots=True)
class WnsNotification:
    """The body and the headers that describe it."""

    wns_type: str
    content_type: str
    body: bytes
    tag: str | None = None


def render(message: Message, delivery_id: str) -> WnsNotification:
    """The WNS notification for ``message``; raises :class:`WnsPayloadError`."""
    overrides: dict[str, Any] = message.overrides.get("wns", {})
    kind = str(overrides.get("type") or ("raw" if message.is_silent else "toast"))
    payload = overrides.get("payload")
    if payload is not None and not isinstance(payload, str):
        raise WnsPayloadError("overrides.wns.payload must be a string", "overrides.wns.payload")
    if kind == "raw":
        body = payload.encode() if payload is not None else _raw_json(message, delivery_id)
        return WnsNotification("wns/raw", "application/octet-stream", body)
    if kind not in XML_TYPES:
        raise WnsPayloadError(f"unknown WNS type {kind!r}", "overrides.wns.type")
    if payload is None and kind != "toast":
        raise WnsPayloadError(
            f"a {kind} needs its XML in overrides.wns.payload", "overrides.wns.payload"
        )
    body = payload.encode() if payload is not None else toast_xml(message, delivery_id)
    return WnsNotification(XML_TYPES[kind], "text/xml", body, _tag(kind, overrides, message))


def toast_xml(message: Message, delivery_id: str) -> bytes:
    """A ``ToastGeneric`` toast; ``launch`` carries the delivery id and data as JSON."""
    launch = orjson.dumps({"id": delivery_id, "data": message.data}).decode()
    toast = ET.Element("toast", {"launch": launch})
    binding = ET.SubElement(ET.SubElement(toast, "visual"), "binding", {"template": "ToastGeneric"})
    for line in (message.title, message.subtitle, message.body):
        if line:
            ET.SubElement(binding, "text").text = line
    if message.image:
        ET.SubElement(binding, "image", {"src": message.image, "placement": "hero"})
    if message.actions:
        actions = ET.SubElement(toast, "actions")
        for action in message.actions:
            mode = "foreground" if action.foreground else "background"
            attributes = {"content": action.title, "arguments": action.id, "activationType": mode}
            ET.SubElement(actions, "action", attributes)
    return bytes(ET.tostring(toast, encoding="utf-8", xml_declaration=False))


def _raw_json(message: Message, delivery_id: str) -> bytes:
    return orjson.dumps({"id": delivery_id, **message_fields(message)})


def _tag(kind: str, overrides: dict[str, Any], message: Message) -> str | None:
    if kind != "tile":
        return None
    tag = overrides.get("tag")
    if tag is None:
        # A collapse key that happens to be a valid tag replaces the queued tile, as a
        # collapse key should; any other collapse key is no tag at all.
        key = message.collapse_key
        return key if key is not None and TAG_PATTERN.fullmatch(key) else None
    if not isinstance(tag, str) or not TAG_PATTERN.fullmatch(tag):
        raise WnsPayloadError("a tile tag must be 1-16 letters or digits", "overrides.wns.tag")
    return tag
