"""Standard Webhooks signatures checked (https://www.standardwebhooks.com/, "Verifying
webhooks").

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; ``webhook-signature`` is
a space-separated list of ``v1,<base64 HMAC-SHA256>`` (several while a sender rotates its
secret): any one that matches, compared in constant time, verifies. A timestamp more than
five minutes from now is refused, which bounds how long a captured request can be replayed;
within that window the ``webhook-id`` is the event's idempotency key, so a replay records
nothing new.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from pushgate.core.clock import Clock
from pushgate.core.inbound_refusals import InboundRefused, Refusal

TOLERANCE_SECONDS = 5 * 60
MAX_ID_CHARS = 256


def verify(
    key: bytes,
    webhook_id: str | None,
    timestamp: str | None,
    signatures: str | None,
    body: bytes,
    clock: Clock,
) -> str:
    """The ``webhook-id`` of a request whose signature and timestamp hold."""
    if not webhook_id or not timestamp or not signatures:
        raise InboundRefused(
            Refusal.BAD_SIGNATURE,
            "webhook-id, webhook-timestamp and webhook-signature are all required",
        )
    if len(webhook_id) > MAX_ID_CHARS:
        raise InboundRefused(Refusal.BAD_SIGNATURE, "webhook-id is too long")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise InboundRefused(Refusal.BAD_SIGNATURE, "webhook-timestamp is not whole seconds")
    if abs(clock.now() - int(timestamp)) > TOLERANCE_SECONDS:
        raise InboundRefused(
            Refusal.STALE_TIMESTAMP,
            f"webhook-timestamp is more than {TOLERANCE_SECONDS} s from now",
        )
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return webhook_id
    raise InboundRefused(Refusal.BAD_SIGNATURE, "no signature matches")
