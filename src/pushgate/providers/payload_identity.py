"""What every provider's payload adds for actionable notifications: the delivery's identity
(core/identity.py) and the actions in one compact form (docs/actions.md, "Payload
identity").

The identity goes under ``"pushgate"``: an object where the payload is JSON of ours (APNs
custom key, Web Push, webhook, WNS launch and raw, HMS ``data``), a JSON string where the
provider takes strings only (FCM ``data``, docs/providers.md §2.3). The actions go under
``"actions"`` in the JSON bodies that are ours alone, and under ``"pushgate_actions"``
where they share a namespace with the sender's ``data`` (APNs custom keys, FCM and HMS
``data``); both keys are reserved there.
"""

from __future__ import annotations

from typing import Any

import orjson

from pushgate.core.identity import IDENTITY_KEY, PayloadIdentity
from pushgate.core.messages import Action, Message

ACTIONS_KEY = "pushgate_actions"
RESERVED_DATA_KEYS = frozenset({IDENTITY_KEY, ACTIONS_KEY})
_KEY_PREFIX = orjson.dumps(IDENTITY_KEY) + b":"


def action_fields(action: Action) -> dict[str, Any]:
    """One action as a device draws it: ``action`` (the key) and ``title`` as the
    Notification API's ``NotificationAction`` has them, ``id`` to append to the response
    URL, ``options`` and ``input`` only when set."""
    fields: dict[str, Any] = {"action": action.key, "title": action.title, "id": action.id}
    options = [
        name
        for name, on in (
            ("foreground", action.foreground),
            ("destructive", action.destructive),
            ("auth", action.authentication_required),
        )
        if on
    ]
    if options:
        fields["options"] = options
    if action.has_input:
        text = {"placeholder": action.input_placeholder, "button": action.input_button_title}
        fields["input"] = {name: value for name, value in text.items() if value is not None}
    return fields


def actions_list(message: Message) -> list[dict[str, Any]]:
    return [action_fields(action) for action in message.actions]


def identity_fields(identity: PayloadIdentity | None) -> dict[str, Any]:
    """``{"pushgate": {...}}`` to merge into a JSON body, or nothing."""
    return {} if identity is None else {IDENTITY_KEY: identity.fields()}


def with_identity(body: bytes, identity: PayloadIdentity | None) -> bytes:
    """A serialized JSON object with ``"pushgate": {...}`` added as its last member,
    without serializing the rest again: the shared part of a fan-out is rendered once."""
    if identity is None:
        return body
    member = _KEY_PREFIX + identity.to_json()
    if body == b"{}":
        return b"{" + member + b"}"
    return body[:-1] + b"," + member + b"}"


def reserved_key(data: dict[str, Any]) -> str | None:
    """A key of the sender's ``data`` that would collide with ours, if any."""
    for key in RESERVED_DATA_KEYS:
        if key in data:
            return key
    return None
