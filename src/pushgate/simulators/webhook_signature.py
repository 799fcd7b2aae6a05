"""Receiver-side Standard Webhooks verification (docs/providers.md §6.2, spec v1.0.0):
``webhook-id``, ``webhook-timestamp`` within a tolerance, and ``v1`` HMAC-SHA256 entries of
``webhook-signature`` compared in constant time against every configured secret.
"""

from __future__ import annotations

import base64
import binascii
import hmac

WHSEC_PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60  # the reference libraries' ±5 minutes (§6.2)


class SignatureError(ValueError):
    """The request does not carry a valid Standard Webhooks signature."""


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret (missing base64 padding tolerated)."""
    encoded = secret.removeprefix(WHSEC_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("webhook secret is not base64 after the whsec_ prefix") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def sign(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    """``base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))`` over the exact bytes sent."""
    signed_content = f"{webhook_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.digest(key, signed_content, "sha256")).decode("ascii")


def verify(
    keys: list[bytes],
    *,
    webhook_id: str | None,
    timestamp: str | None,
    signature_header: str | None,
    body: bytes,
    now: float,
) -> None:
    """Raise :class:`SignatureError` unless one ``v1`` entry matches one of ``keys``."""
    if not webhook_id or not timestamp or not signature_header:
        raise SignatureError("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise SignatureError("webhook-timestamp is not an integer") from exc
    if abs(now - sent_at) > TOLERANCE_SECONDS:
        raise SignatureError("webhook-timestamp is outside the ±5 minute tolerance")
    candidates = [
        entry.partition(",")[2]
        for entry in signature_header.split(" ")
        if entry.partition(",")[0] == "v1"  # other versions (v1a, …) are ignored
    ]
    expected = [sign(key, webhook_id, timestamp, body).encode() for key in keys]
    matched = False
    for candidate in candidates:
        for wanted in expected:
            matched |= hmac.compare_digest(candidate.encode(), wanted)
    if not matched:
        raise SignatureError("no webhook-signature entry matches a configured secret")
