"""Sender side of Standard Webhooks signatures (docs/providers.md §6.1-6.2, spec v1.0.0)."""

from __future__ import annotations

import base64
import hmac

from pushgate.core.credentials.keys import b64_decode
from pushgate.core.credentials.webhook import WHSEC_PREFIX


def signing_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret: base64-decoded after the prefix (§6.2)."""
    return b64_decode(secret.removeprefix(WHSEC_PREFIX))


def signature_headers(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` for one attempt.

    The signed content is ``{id}.{timestamp}.{body}`` over the exact bytes sent (§6.2);
    the id stays the same on every retry, the timestamp is this attempt's (§6.1).
    """
    signed_content = f"{webhook_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.digest(key, signed_content, "sha256")).decode("ascii")
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }
