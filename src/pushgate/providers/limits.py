"""Would a message fit? Each provider's own renderer, asked before a notification is
accepted, so a sender learns at once which provider refuses it and by how much."""

from __future__ import annotations

import time
from collections.abc import Callable

from pushgate.core.messages import Message

# Renderers take ids and tokens only to embed them; these stand in for the longest real ones.
_SAMPLE_ID = "00000000-0000-7000-8000-000000000000"


def _apns(message: Message) -> str | None:
    from pushgate.providers.apns_payload import PayloadRefused, render_push

    try:
        render_push(message, "com.example.app")
    except PayloadRefused as exc:
        return str(exc)
    return None


def _fcm(message: Message) -> str | None:
    from pushgate.providers.fcm_payload import PAYLOAD_LIMIT, payload_size, render_fields

    now = time.time()
    size = payload_size(render_fields(message, int(now * 1000) + 3_600_000, now))
    if size > PAYLOAD_LIMIT:
        return f"payload too large: {size} bytes, FCM takes at most {PAYLOAD_LIMIT}"
    return None


def _webpush(message: Message) -> str | None:
    from pushgate.providers.webpush import plaintext
    from pushgate.providers.webpush_crypto import MAX_PLAINTEXT_BYTES

    size = len(plaintext(_SAMPLE_ID, message))
    if size > MAX_PLAINTEXT_BYTES:
        return f"payload too large: {size} bytes, Web Push takes at most {MAX_PLAINTEXT_BYTES}"
    return None


def _wns(message: Message) -> str | None:
    from pushgate.providers.wns_payload import MAX_PAYLOAD_BYTES, WnsPayloadError, render

    try:
        size = len(render(message, _SAMPLE_ID).body)
    except WnsPayloadError as exc:
        return str(exc)
    if size > MAX_PAYLOAD_BYTES:
        return f"payload too large: {size} bytes, WNS takes at most {MAX_PAYLOAD_BYTES}"
    return None


def _hms(message: Message) -> str | None:
    from pushgate.providers.hms_payload import MAX_MESSAGE_BYTES, encoded_size, render

    size = encoded_size(render(message, 86_400))
    if size > MAX_MESSAGE_BYTES:
        return f"payload too large: {size} bytes, HMS takes at most {MAX_MESSAGE_BYTES}"
    return None


CHECKS: dict[str, Callable[[Message], str | None]] = {
    "apns": _apns,
    "fcm": _fcm,
    "webpush": _webpush,
    "wns": _wns,
    "hms": _hms,
}


def payload_problem(kind: str, message: Message) -> str | None:
    """Why ``kind`` would refuse ``message``, or None when it fits (or has no limit)."""
    check = CHECKS.get(kind)
    return check(message) if check is not None else None
