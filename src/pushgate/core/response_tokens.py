"""The short signed token a push carries so the device can answer it (docs/actions.md).

A device holds no API key. Each delivery of a notification that has actions carries a token
that names the delivery, the notification and the device it went to, and until when an
answer is taken; pushgate signs it with a key derived from the instance key
(``SecretBox.sign``), so it checks the token without a lookup and without storing it. A
token made before a key rotation still verifies while the previous key is configured.

Binary layout, then base64url without padding (RFC 4648 §5), 116 characters::

    version (1 byte) | expires (4 bytes, seconds since the epoch, big-endian)
    | delivery id | notification id | device id (16 bytes each, UUIDs as bytes)
    | key id (4 bytes) | HMAC-SHA256 tag (16 bytes)

The action is not in the token: one token answers any action of the notification's set,
and the route names the action.
"""

from __future__ import annotations

import base64
import binascii
import struct
import uuid
from dataclasses import dataclass
from typing import Literal

from pushgate.core.secretbox import SIGNATURE_BYTES, SecretBox

VERSION = 1
_PURPOSE = b"pushgate response token v1"
_BODY = struct.Struct(">BI16s16s16s")
TOKEN_BYTES = _BODY.size + SIGNATURE_BYTES
TOKEN_CHARS = (TOKEN_BYTES * 4 + 2) // 3  # unpadded base64url length


@dataclass(frozen=True, slots=True)
class ResponseToken:
    """What a valid token says: who may answer what, until when (epoch seconds)."""

    delivery_id: str
    notification_id: str
    device_id: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class TokenRefused:
    """Why a presented token is not taken. ``malformed`` and ``forged`` are the same to a
    caller (401); ``expired`` says so, since a late answer is an honest mistake."""

    reason: Literal["malformed", "forged", "expired"]


def mint(box: SecretBox, token: ResponseToken) -> str:
    body = _BODY.pack(
        VERSION,
        token.expires_at,
        uuid.UUID(token.delivery_id).bytes,
        uuid.UUID(token.notification_id).bytes,
        uuid.UUID(token.device_id).bytes,
    )
    raw = body + box.sign(_PURPOSE, body)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def read(box: SecretBox, text: str, now_seconds: int) -> ResponseToken | TokenRefused:
    """The token's claims when its signature holds and it has not expired."""
    if len(text) != TOKEN_CHARS or not text.isascii():
        return TokenRefused("malformed")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return TokenRefused("malformed")
    body, signature = raw[: _BODY.size], raw[_BODY.size :]
    if len(raw) != TOKEN_BYTES or body[0] != VERSION:
        return TokenRefused("malformed")
    if not box.verify(_PURPOSE, body, signature):
        return TokenRefused("forged")
    _, expires_at, delivery, notification, device = _BODY.unpack(body)
    if expires_at <= now_seconds:
        return TokenRefused("expired")
    return ResponseToken(
        str(uuid.UUID(bytes=delivery)),
        str(uuid.UUID(bytes=notification)),
        str(uuid.UUID(bytes=device)),
        expires_at,
    )
