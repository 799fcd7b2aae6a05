"""Reading a received push's identity and actions back, per provider (docs/actions.md,
"Payload identity"), as a device's app would: what a test, or a simulated answer to the
push, needs to know of who sent it and how to answer it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import orjson

IDENTITY_KEY = "pushgate"
ACTIONS_KEY = "pushgate_actions"


@dataclass(frozen=True, slots=True)
class ReceivedIdentity:
    """The ``pushgate`` object of one received push, and its actions (the compact form:
    ``action``, ``title``, ``id``, ``options``, ``input``)."""

    fields: dict[str, str]
    actions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def token(self) -> str | None:
        return self.fields.get("token")

    @property
    def interaction_token(self) -> str | None:
        return self.fields.get("itoken")

    @property
    def url(self) -> str | None:
        return self.fields.get("url")

    def answer_url(self, action_id: str) -> str:
        """Where the device answers with the action ``action_id``."""
        return f"{self.fields['url']}{action_id}"

    def find_action(self, wanted: str) -> dict[str, str] | None:
        """The action whose key or id is ``wanted``, as ``{"action": key, "id": id}``.

        Most providers carry the compact form; a WNS toast's ``<action>`` carries them in
        its ``arguments`` (docs/actions.md, "Where each provider carries it")."""
        for named in self.named_actions():
            if wanted in (named["action"], named["id"]):
                return named
        return None

    def named_actions(self) -> list[dict[str, str]]:
        """Every action's key and id, in display order."""
        return [named for named in map(_named, self.actions) if named is not None]


def app_data(provider: str, body: Any) -> dict[str, Any]:
    """The notification's ``data`` as the device's app reads it from ``body`` (the
    provider's simulator's record), without pushgate's own keys; FCM's values are strings
    (docs/providers.md §2.3)."""
    match provider:
        case "apns":
            found = {k: v for k, v in body.items() if k != "aps"} if isinstance(body, dict) else {}
        case "fcm":
            found = body.get("data", {}) if isinstance(body, dict) else {}
        case "hms":
            data = body.get("data") if isinstance(body, dict) else None
            found = orjson.loads(data) if isinstance(data, str) else {}
        case "wns" if isinstance(body, str) and body.lstrip().startswith("<"):
            launch = ET.fromstring(body).get("launch")  # noqa: S314 - pushgate's own output
            found = orjson.loads(launch).get("data", {}) if launch else {}
        case "webpush" | "wns":
            loaded = orjson.loads(body) if isinstance(body, (str, bytes)) else body
            found = loaded.get("data", {}) if isinstance(loaded, dict) else {}
        case "webhook":
            event = body.get("data", {}) if isinstance(body, dict) else {}
            found = event.get("data", {}) if isinstance(event, dict) else {}
        case _:
            raise ValueError(f"unknown provider {provider!r}")
    reserved = (IDENTITY_KEY, ACTIONS_KEY)
    return {k: v for k, v in (found or {}).items() if k not in reserved}


def _named(action: dict[str, Any]) -> dict[str, str] | None:
    if isinstance(action.get("arguments"), str):
        action = toast_arguments(action["arguments"])
    key, action_id = action.get("action"), action.get("id")
    if not isinstance(key, str) or not isinstance(action_id, str):
        return None
    return {"action": key, "id": action_id}


def toast_arguments(arguments: str) -> dict[str, str]:
    """A WNS action's ``arguments`` read the way ``ToastArguments.Parse`` reads them:
    ``;`` between pairs, ``=`` in each, ``%3B``, ``%3D`` and ``%25`` unescaped last."""
    pairs = {}
    for pair in arguments.split(";"):
        name, _, value = pair.partition("=")
        pairs[_unescape(name)] = _unescape(value)
    return pairs


def _unescape(value: str) -> str:
    return value.replace("%3B", ";").replace("%3D", "=").replace("%25", "%")


def identity_of(provider: str, body: Any) -> ReceivedIdentity | None:
    """The identity in ``body`` as the ``provider``'s simulator recorded it, or None."""
    reader = _READERS.get(provider)
    return reader(body) if reader is not None else None


def _apns(body: Any) -> ReceivedIdentity | None:
    return _from_object(body, body.get(ACTIONS_KEY) if isinstance(body, dict) else None)


def _fcm(message: Any) -> ReceivedIdentity | None:
    data = message.get("data") if isinstance(message, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get(IDENTITY_KEY), str):
        return None
    actions = data.get(ACTIONS_KEY)
    return ReceivedIdentity(
        orjson.loads(data[IDENTITY_KEY]),
        orjson.loads(actions) if isinstance(actions, str) else [],
    )


def _hms(message: Any) -> ReceivedIdentity | None:
    data = message.get("data") if isinstance(message, dict) else None
    if not isinstance(data, str):
        return None
    loaded = orjson.loads(data)
    return _from_object(loaded, loaded.get(ACTIONS_KEY) if isinstance(loaded, dict) else None)


def _json_body(body: Any) -> ReceivedIdentity | None:
    """Web Push plaintext and WNS raw: the message JSON, ``actions`` at its top level."""
    if isinstance(body, (str, bytes)):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
    return _from_object(body, body.get("actions") if isinstance(body, dict) else None)


def _wns(body: Any) -> ReceivedIdentity | None:
    if isinstance(body, str) and body.lstrip().startswith("<"):
        toast = ET.fromstring(body)  # noqa: S314 - pushgate's own output, recorded in a test
        launch = toast.get("launch")
        if launch is None:
            return None
        actions = [dict(element.attrib) for element in toast.iter("action")]
        return _from_object(orjson.loads(launch), actions)
    return _json_body(body)


def _webhook(body: Any) -> ReceivedIdentity | None:
    data = body.get("data") if isinstance(body, dict) else None
    return _from_object(data, data.get("actions") if isinstance(data, dict) else None)


def _from_object(value: Any, actions: Any) -> ReceivedIdentity | None:
    if not isinstance(value, dict) or not isinstance(value.get(IDENTITY_KEY), dict):
        return None
    return ReceivedIdentity(dict(value[IDENTITY_KEY]), list(actions or []))


_READERS = {
    "apns": _apns,
    "fcm": _fcm,
    "hms": _hms,
    "webpush": _json_body,
    "wns": _wns,
    "webhook": _webhook,
}
