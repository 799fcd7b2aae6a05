"""What one message becomes for WNS: toast XML, or raw bytes (docs/providers.md §4.3).

A message with something to show becomes a ``ToastGeneric`` toast built with ElementTree,
so every title, body and attribute is escaped; a data-only message becomes a raw
notification carrying the message as JSON. ``overrides["wns"]`` may pick another type
(``tile``, ``badge``, ``raw``, ``toast``) with a ready ``payload``, and a tile ``tag``.

The delivery's identity (docs/actions.md) is in the toast's ``launch`` JSON and the raw
JSON, under ``pushgate``. Each action is an ``<action>`` of the toast schema (§4.3) whose
``arguments`` carry, in the ``key=value;…`` form of the Windows Community Toolkit's
``ToastArguments``, the action key, its id, the response URL base and the token: all a
background activation needs to answer, since it receives these arguments and not
``launch``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import orjson

from pushgate.core.identity import PayloadIdentity
from pushgate.core.messages import Action, Message
from pushgate.providers.message_json import message_fields
from pushgate.providers.payload_identity import identity_fields

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


def render(
    message: Message, delivery_id: str, identity: PayloadIdentity | None = None
) -> WnsNotification:
    """The WNS notification for ``message``; raises :class:`WnsPayloadError`."""
    overrides: dict[str, Any] = message.overrides.get("wns", {})
    kind = str(overrides.get("type") or ("raw" if message.is_silent else "toast"))
    payload = overrides.get("payload")
    if payload is not None and not isinstance(payload, str):
        raise WnsPayloadError("overrides.wns.payload must be a string", "overrides.wns.payload")
    if kind == "raw":
        body = (
            payload.encode() if payload is not None else _raw_json(message, delivery_id, identity)
        )
        return WnsNotification("wns/raw", "application/octet-stream", body)
    if kind not in XML_TYPES:
        raise WnsPayloadError(f"unknown WNS type {kind!r}", "overrides.wns.type")
    if payload is None and kind != "toast":
        raise WnsPayloadError(
            f"a {kind} needs its XML in overrides.wns.payload", "overrides.wns.payload"
        )
    body = payload.encode() if payload is not None else toast_xml(message, delivery_id, identity)
    return WnsNotification(XML_TYPES[kind], "text/xml", body, _tag(kind, overrides, message))


def toast_xml(message: Message, delivery_id: str, identity: PayloadIdentity | None = None) -> bytes:
    """A ``ToastGeneric`` toast; ``launch`` carries the delivery id, data and identity as
    JSON."""
    launch = {"id": delivery_id, "data": message.data, **identity_fields(identity)}
    toast = ET.Element("toast", {"launch": orjson.dumps(launch).decode()})
    binding = ET.SubElement(ET.SubElement(toast, "visual"), "binding", {"template": "ToastGeneric"})
    for line in (message.title, message.subtitle, message.body):
        if line:
            ET.SubElement(binding, "text").text = line
    if message.image:
        ET.SubElement(binding, "image", {"src": message.image, "placement": "hero"})
    if message.actions:
        _actions(toast, message.actions, identity)
    return bytes(ET.tostring(toast, encoding="utf-8", xml_declaration=False))


def _actions(
    toast: ET.Element, actions: tuple[Action, ...], identity: PayloadIdentity | None
) -> None:
    """``<actions>``: the text inputs first, then one ``<action>`` per button, as the toast
    schema orders them (§4.3). A button with an input sits beside it (``hint-inputId``);
    a destructive one is styled ``Critical`` (``useButtonStyle`` on the toast)."""
    element = ET.SubElement(toast, "actions")
    for action in actions:
        if action.has_input:
            attributes = {"id": action.key, "type": "text"}
            if action.input_placeholder:
                attributes["placeHolderContent"] = action.input_placeholder
            ET.SubElement(element, "input", attributes)
    for action in actions:
        attributes = {
            "content": action.input_button_title or action.title,
            "arguments": action_arguments(action, identity),
            "activationType": "foreground" if action.foreground else "background",
        }
        if action.has_input:
            attributes["hint-inputId"] = action.key
        if action.destructive:
            attributes["hint-buttonStyle"] = "Critical"
            toast.set("useButtonStyle", "true")
        ET.SubElement(element, "action", attributes)


def action_arguments(action: Action, identity: PayloadIdentity | None) -> str:
    """``action=<key>;id=<action id>;url=<response URL base>;token=<token>`` (the last two
    with an identity that has them), escaped as ``ToastArguments`` escapes (``%``, ``;``,
    ``=``), so a Windows app parses it with ``ToastArguments.Parse``."""
    pairs = [("action", action.key), ("id", action.id)]
    if identity is not None and identity.response_url is not None:
        pairs.append(("url", identity.response_url))
    if identity is not None and identity.token is not None:
        pairs.append(("token", identity.token))
    return ";".join(f"{name}={_escape(value)}" for name, value in pairs)


def _escape(value: str) -> str:
    return value.replace("%", "%25").replace(";", "%3B").replace("=", "%3D")


def _raw_json(message: Message, delivery_id: str, identity: PayloadIdentity | None) -> bytes:
    return orjson.dumps({"id": delivery_id, **message_fields(message), **identity_fields(identity)})


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
