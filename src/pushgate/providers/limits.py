"""Would a message fit? Each provider's own renderer, asked before a notification is
accepted, so a sender learns at once which provider refuses it, and why: by how much it is
too large, or which field or key it will not take.

Each renders the message with the identity every delivery adds at its largest
(``core.identity.largest_identity``: the longest instance and app names, a response token
and URL when there are actions), so what is accepted is never too large when it is sent."""

from __future__ import annotations

import time
from collections.abc import Callable

from pushgate.core.identity import PayloadIdentity, largest_identity
from pushgate.core.messages import Message
from pushgate.core.payload_problems import FieldRefused, PayloadProblem, TooLarge

# Renderers take ids and tokens only to embed them; these stand in for the longest real ones.
_SAMPLE_ID = "00000000-0000-7000-8000-000000000000"


def _problem(reason: str, field: str | None) -> PayloadProblem:
    return TooLarge(reason) if field is None else FieldRefused(field, reason)


def _largest(message: Message) -> PayloadIdentity:
    return largest_identity(bool(message.actions), message.action_set)


def _apns(message: Message) -> PayloadProblem | None:
    from pushgate.providers.apns_payload import PayloadRefused, render_push

    try:
        render_push(message, "com.example.app", _largest(message))
    except PayloadRefused as exc:
        return _problem(str(exc), exc.field)
    return None


def _fcm(message: Message) -> PayloadProblem | None:
    from pushgate.providers.fcm_payload import MessageRefused, render_fields

    now = time.time()
    try:
        identity = _largest(message).to_json().decode()
        render_fields(message, int(now * 1000) + 3_600_000, now, identity)
    except MessageRefused as exc:
        return _problem(str(exc), exc.field)
    return None


def _webpush(message: Message) -> PayloadProblem | None:
    from pushgate.providers.webpush import plaintext
    from pushgate.providers.webpush_crypto import MAX_PLAINTEXT_BYTES

    size = len(plaintext(_SAMPLE_ID, message, _largest(message)))
    if size > MAX_PLAINTEXT_BYTES:
        return TooLarge(
            f"payload too large: {size} bytes, Web Push takes at most {MAX_PLAINTEXT_BYTES}"
        )
    return None


def _wns(message: Message) -> PayloadProblem | None:
    from pushgate.providers.wns_payload import MAX_PAYLOAD_BYTES, WnsPayloadError, render

    try:
        size = len(render(message, _SAMPLE_ID, _largest(message)).body)
    except WnsPayloadError as exc:
        return FieldRefused(exc.field, str(exc))
    if size > MAX_PAYLOAD_BYTES:
        return TooLarge(f"payload too large: {size} bytes, WNS takes at most {MAX_PAYLOAD_BYTES}")
    return None


def _hms(message: Message) -> PayloadProblem | None:
    from pushgate.providers.hms_payload import (
        MAX_MESSAGE_BYTES,
        HmsPayloadError,
        encoded_size,
        render,
    )

    try:
        size = encoded_size(render(message, 86_400, _largest(message)))
    except HmsPayloadError as exc:
        return FieldRefused(exc.field, str(exc))
    if size > MAX_MESSAGE_BYTES:
        return TooLarge(f"payload too large: {size} bytes, HMS takes at most {MAX_MESSAGE_BYTES}")
    return None


CHECKS: dict[str, Callable[[Message], PayloadProblem | None]] = {
    "apns": _apns,
    "fcm": _fcm,
    "webpush": _webpush,
    "wns": _wns,
    "hms": _hms,
}


def payload_problem(kind: str, message: Message) -> PayloadProblem | None:
    """Why ``kind`` would refuse ``message``, or None when it fits (or has no limit)."""
    check = CHECKS.get(kind)
    return check(message) if check is not None else None
