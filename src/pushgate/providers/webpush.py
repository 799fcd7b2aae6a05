"""Web Push client (RFC 8030 delivery, RFC 8291 encryption, RFC 8292 VAPID; docs/providers.md §3).

A device's ``token`` is the subscription endpoint and its ``keys`` hold ``p256dh`` and
``auth``. The plaintext is the message as JSON (plus ``id``, the delivery id, so the service
worker can report interactions, and ``pushgate``, the delivery's identity; docs/actions.md),
encrypted for that subscription.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence

import orjson

from pushgate.core.credentials.keys import b64url_decode, load_vapid_private_key
from pushgate.core.identity import PayloadIdentity
from pushgate.core.messages import Message, Priority
from pushgate.core.outcomes import (
    Outcome,
    RetryClass,
    auth_failed,
    invalid_token,
    rejected,
    retry,
    sent,
)
from pushgate.providers.base import Delivery, ProviderCredentials
from pushgate.providers.http_client import (
    Answer,
    make_client,
    post,
    retry_after,
    short_reason,
)
from pushgate.providers.message_json import message_fields, with_overrides
from pushgate.providers.options import ProviderOptions
from pushgate.providers.payload_identity import identity_fields
from pushgate.providers.sending import send_each, ttl_to_send
from pushgate.providers.vapid import VapidSigner
from pushgate.providers.webpush_crypto import (
    MAX_PLAINTEXT_BYTES,
    SubscriptionKeyError,
    encrypt,
)
from pushgate.providers.webpush_refusals import REFUSED, RefusalJudge

KIND = "webpush"
# RFC 8030 §5.4: a Topic is at most 32 characters of the base64url alphabet.
TOPIC_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
URGENCY = {Priority.HIGH: "high", Priority.NORMAL: "normal"}  # RFC 8030 §5.3


def topic_for(collapse_key: str) -> str:
    """The collapse key when it is a valid Topic, else a 32-character digest of it."""
    if TOPIC_PATTERN.fullmatch(collapse_key):
        return collapse_key
    digest = hashlib.sha256(collapse_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def plaintext_for(delivery: Delivery) -> bytes:
    """The JSON a service worker receives in ``event.data.json()``."""
    return plaintext(delivery.delivery_id, delivery.message, delivery.identity)


def plaintext(delivery_id: str, message: Message, identity: PayloadIdentity | None = None) -> bytes:
    payload = {"id": delivery_id, **message_fields(message), **identity_fields(identity)}
    return orjson.dumps(with_overrides(payload, message, KIND))


class WebPushProvider:
    """Sends to Web Push subscriptions with one app's VAPID key."""

    kind = KIND

    def __init__(self, credentials: ProviderCredentials, options: ProviderOptions) -> None:
        key = load_vapid_private_key(credentials.secret["vapid_private_key"])
        self.signer = VapidSigner(key, str(credentials.public["subject"]), options.clock)
        self.options = options
        self.client = make_client(options)
        self.refusals = RefusalJudge()

    async def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        outcomes = await send_each(batch, self._send_one, self.options.concurrency)
        # A 401/403 is one subscription's or the whole key's by the pattern across the
        # batch (see webpush_refusals).
        return self.refusals.judge([delivery.device.token for delivery in batch], outcomes)

    async def close(self) -> None:
        await self.client.aclose()

    async def _send_one(self, delivery: Delivery) -> Outcome:
        plaintext = plaintext_for(delivery)
        if len(plaintext) > MAX_PLAINTEXT_BYTES:
            # Never sent: the encrypted body would exceed the 4096 bytes a push service
            # must accept (RFC 8030 §7.2, docs/providers.md §3.2).
            return rejected(
                f"payload of {len(plaintext)} bytes exceeds {MAX_PLAINTEXT_BYTES} for Web Push"
            )
        # RFC 8030 §5.2 (docs/providers.md §3.1): TTL 0 delivers only to a reachable agent.
        ttl = ttl_to_send(delivery, self.options.clock())
        if ttl is None:
            return rejected("expired before it could be sent")
        body = self._encrypt(delivery, plaintext)
        if isinstance(body, Outcome):
            return body
        endpoint = delivery.device.token
        answer = await post(
            self.client, endpoint, content=body, headers=self._headers(delivery, endpoint, ttl)
        )
        return self._outcome(answer)

    def _encrypt(self, delivery: Delivery, plaintext: bytes) -> bytes | Outcome:
        keys = delivery.device.keys or {}
        try:
            ua_public = b64url_decode(keys.get("p256dh", ""))
            auth_secret = b64url_decode(keys.get("auth", ""))
            return encrypt(plaintext, ua_public, auth_secret)
        except (ValueError, binascii.Error, SubscriptionKeyError) as exc:
            # The subscription can never be written to: treat it like an unknown one.
            return invalid_token(f"subscription keys are unusable: {exc}")

    def _headers(self, delivery: Delivery, endpoint: str, ttl: int) -> dict[str, str]:
        headers = {
            "authorization": self.signer.authorization(endpoint),
            "content-encoding": "aes128gcm",
            "content-type": "application/octet-stream",
            "ttl": str(ttl),
            "urgency": URGENCY[delivery.message.priority],
        }
        if delivery.message.collapse_key:
            headers["topic"] = topic_for(delivery.message.collapse_key)
        return headers

    def _outcome(self, answer: Answer) -> Outcome:
        """Map the push service's answer (docs/providers.md §3.1 status table)."""
        status = answer.status
        if 200 <= status < 300:
            return sent(answer.headers.get("location"), status)
        detail = _error_message(answer)
        if status in (404, 410):
            return invalid_token(short_reason("subscription gone", detail), status=status)
        if status in (401, 403):
            return auth_failed(short_reason(REFUSED, detail), status)
        if status == 429 or status >= 500:
            after = retry_after(answer, self.options.clock())
            pace = RetryClass.WEBPUSH_TOO_MANY_REQUESTS if status == 429 else RetryClass.DEFAULT
            reason = short_reason(f"push service answered {status}", detail)
            return retry(reason, after, status, pace)
        if status == 413:
            return rejected(short_reason("payload too large", detail), status)
        return rejected(short_reason(f"push service answered {status}", detail), status)


def _error_message(answer: Answer) -> str:
    """autopush-style ``{"message": …}`` bodies, or the text itself."""
    try:
        loaded = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        return answer.text()
    if isinstance(loaded, dict) and isinstance(loaded.get("message"), str):
        return str(loaded["message"])
    return answer.text()
