"""The short signed token every push carries so its device can report what became of it
(docs/reports.md, "Interaction tokens").

A device holds no API key. Every delivery's payload already names its notification and
delivery in clear (core/identity.py); the interaction token adds what the device cannot be
trusted to say: which device it went to and until when reports are taken, signed with a key
derived from the instance key (``SecretBox.sign``, its own purpose label, so a response
token's tag never passes for an interaction token's). The tag covers the delivery and
notification ids too, so the token is good for that one delivery only, and pushgate checks
it without a lookup and without storing it.

Binary layout, then base64url without padding (RFC 4648 §5), 55 characters::

    version (1 byte) | expires (4 bytes, seconds since the epoch, big-endian)
    | device id (16 bytes) | key id (4 bytes) | HMAC-SHA256 tag (16 bytes)

    tag = HMAC(purpose, version | expires | device | delivery id | notification id)

Why not the response token: that one (116 characters) repeats the two ids the payload
already carries; minted for every payload instead of those with actions only, it would add
~60 bytes more to each (bench/README.md, "Interaction tokens").
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass
from typing import Literal, NamedTuple

from pushgate.core.secretbox import SIGNATURE_BYTES, SecretBox, Signer, Verifier

VERSION = 1
_PURPOSE = b"pushgate interaction token v1"
_BODY = struct.Struct(">BI16s")
TOKEN_BYTES = _BODY.size + SIGNATURE_BYTES
TOKEN_CHARS = (TOKEN_BYTES * 4 + 2) // 3  # unpadded base64url length


# A tuple, not a frozen dataclass: one is built per reported event, in a third of the time.
class InteractionClaims(NamedTuple):
    """What a valid token says of one delivery: where it went, and until when (epoch
    seconds) its device may report on it."""

    delivery_id: str
    notification_id: str
    device_id: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class InteractionRefused:
    """Why a presented token is not taken. ``malformed`` and ``forged`` are the same to a
    caller; ``expired`` is an old report, not an attack."""

    reason: Literal["malformed", "forged", "expired"]


def _uuid_bytes(text: str) -> bytes:
    """A canonical UUID's 16 bytes, a third of what ``uuid.UUID`` costs. Ids pushgate made,
    or checked as canonical UUIDs by the caller; anything else raises ``ValueError``."""
    raw = bytes.fromhex(text.replace("-", ""))
    if len(raw) != 16:
        raise ValueError("not a UUID")
    return raw


def _uuid_text(raw: bytes) -> str:
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _signed(body: bytes, delivery_id: str, notification_id: str) -> bytes:
    return body + _uuid_bytes(delivery_id) + _uuid_bytes(notification_id)


class Minter:
    """Mints the tokens of one batch: one notification, one expiry, one key; what is the
    same for every delivery is prepared once (the send path mints one per delivery)."""

    __slots__ = ("_expires_at", "_notification", "_signer")

    def __init__(self, box: SecretBox, notification_id: str, expires_at: int) -> None:
        self._signer: Signer = box.signer(_PURPOSE)
        self._notification = _uuid_bytes(notification_id)
        self._expires_at = expires_at

    def mint(self, delivery_id: str, device_id: str) -> str:
        body = _BODY.pack(VERSION, self._expires_at, _uuid_bytes(device_id))
        signature = self._signer.sign(body + _uuid_bytes(delivery_id) + self._notification)
        return base64.urlsafe_b64encode(body + signature).rstrip(b"=").decode("ascii")


def mint(box: SecretBox, claims: InteractionClaims) -> str:
    minter = Minter(box, claims.notification_id, claims.expires_at)
    return minter.mint(claims.delivery_id, claims.device_id)


def read(
    box: SecretBox, text: str, delivery_id: str, notification_id: str, now_seconds: int
) -> InteractionClaims | InteractionRefused:
    """The token's claims when it was made for this delivery of this notification, its
    signature holds and it has not expired. The ids must be UUIDs (the caller's input
    rules check them first)."""
    return Reader(box).read(text, delivery_id, notification_id, now_seconds)


class Reader:
    """Reads tokens as :func:`read` does, with the keyed hash states prepared once (a
    batch of reports checks a token per event)."""

    __slots__ = ("_verifier",)

    def __init__(self, box: SecretBox) -> None:
        self._verifier: Verifier = box.verifier(_PURPOSE)

    def read(
        self, text: str, delivery_id: str, notification_id: str, now_seconds: int
    ) -> InteractionClaims | InteractionRefused:
        return _read(self._verifier, text, delivery_id, notification_id, now_seconds)


def _read(
    verifier: Verifier, text: str, delivery_id: str, notification_id: str, now_seconds: int
) -> InteractionClaims | InteractionRefused:
    if len(text) != TOKEN_CHARS or not text.isascii():
        return InteractionRefused("malformed")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return InteractionRefused("malformed")
    if len(raw) != TOKEN_BYTES or raw[0] != VERSION:
        return InteractionRefused("malformed")
    body, signature = raw[: _BODY.size], raw[_BODY.size :]
    try:
        signed = _signed(body, delivery_id, notification_id)
    except ValueError:
        return InteractionRefused("malformed")
    if not verifier.verify(signed, signature):
        return InteractionRefused("forged")
    _, expires_at, device = _BODY.unpack(body)
    if expires_at <= now_seconds:
        return InteractionRefused("expired")
    return InteractionClaims(delivery_id, notification_id, _uuid_text(device), expires_at)
