"""Outbound webhook client: the notification as signed JSON to the app's endpoint
(docs/providers.md §6, docs/architecture.md §6).

The target is the device's token when that is an http(s) URL, else the credential's
``url``, else the tenant's ``webhook.url`` setting (filled into the credentials by
delivery/providers.py, as is ``webhook.authorization`` when the credentials give no
``authorization``). Targets resolving to loopback, private or link-local addresses are refused at
connect time unless private targets are allowed (see ``target_guard``); redirects are never
followed. The answer is read in the app's ``answer_mode``: ``plain`` (the status decides,
§6.3) or ``contract`` (a 2xx body ``{"Success", "Code", "Message"}`` decides).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from pushgate.core.credentials.webhook import DEFAULT_TIMEOUT_SECONDS
from pushgate.core.outcomes import Outcome, auth_failed, invalid_token, rejected, retry, sent
from pushgate.providers.base import Delivery, ProviderCredentials
from pushgate.providers.http_client import Answer, make_client, post, retry_after, short_reason
from pushgate.providers.message_json import message_fields, with_overrides
from pushgate.providers.options import ProviderOptions
from pushgate.providers.payload_identity import identity_fields
from pushgate.providers.sending import send_each
from pushgate.providers.webhook_signing import signature_headers, signing_key

KIND = "webhook"
DEFAULT_USER_AGENT = "pushgate-webhook/1"
# §6.3: these statuses mean "slow down"; other 4xx are failures that retrying won't fix.
THROTTLE_STATUSES = frozenset({429, 502, 503, 504})


def contract_outcome(answer: Answer, webhook_id: str) -> Outcome:
    """Read ``{"Success": bool, "Code": int | numeric string, "Message": str}``: success
    only when ``Success`` is true and ``Code`` is zero; else the code and message are kept."""
    try:
        loaded: Any = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        loaded = None
    if not isinstance(loaded, dict):
        return rejected(short_reason("answer is not the contract JSON", answer.text()), 200)
    success, code, message = loaded.get("Success"), loaded.get("Code"), loaded.get("Message")
    number = _contract_code(code)
    if not isinstance(success, bool) or number is None or not isinstance(message, str):
        return rejected(short_reason("answer breaks the contract", answer.text()), answer.status)
    if success and number == 0:
        return sent(webhook_id, answer.status)
    return rejected(short_reason(f"receiver refused: Code {number}", message), answer.status)


def _contract_code(code: object) -> int | None:
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        return int(code.strip())
    return None


class WebhookProvider:
    """POSTs each delivery to the app's webhook endpoint."""

    kind = KIND

    def __init__(self, credentials: ProviderCredentials, options: ProviderOptions) -> None:
        self.options = options
        given = credentials.public.get("url")
        self.url = str(given) if given else None
        self.answer_mode = str(credentials.public.get("answer_mode", "plain"))
        self.user_agent = str(credentials.public.get("user_agent") or DEFAULT_USER_AGENT)
        self.timeout = float(credentials.public.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS))
        self.authorization = credentials.secret.get("authorization")
        secret = credentials.secret.get("signing_secret")
        self.key = signing_key(secret) if secret else None
        self.client = make_client(options, read_timeout=self.timeout)

    async def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        return await send_each(batch, self._send_one, self.options.concurrency)

    async def close(self) -> None:
        await self.client.aclose()

    def target_of(self, delivery: Delivery) -> str | None:
        token = delivery.device.token
        return token if token.startswith(("https://", "http://")) else self.url

    async def _send_one(self, delivery: Delivery) -> Outcome:
        target = self.target_of(delivery)
        if target is None:
            return rejected(
                "no webhook endpoint: the device's token is no URL, and neither the app's "
                "webhook credentials nor the tenant's webhook.url setting name one"
            )
        if urlsplit(target).scheme != "https" and not self.options.allow_private_targets:
            return rejected("webhook target must use https")
        # §6.1: the body is the same on every attempt (the event did not change); only the
        # webhook-timestamp header, and so the signature, is this attempt's.
        body = orjson.dumps(self._body(delivery, target))
        headers = self._headers(delivery.delivery_id, int(self.options.clock()), body)
        # The whole exchange is bounded too: a receiver trickling bytes could otherwise
        # keep each read under the read timeout forever.
        async with asyncio.timeout(self.timeout + self.options.connect_timeout):
            answer = await post(self.client, target, content=body, headers=headers)
        return self._outcome(answer, delivery.delivery_id)

    def _body(self, delivery: Delivery, target: str) -> dict[str, Any]:
        """§6.1's suggested shape: ``{"type", "timestamp", "data"}``, the timestamp being
        when the notification was accepted."""
        device = delivery.device
        data: dict[str, Any] = {
            "id": delivery.delivery_id,
            "device_id": device.id,
            "user_id": device.user_id,
            **message_fields(delivery.message),
            **identity_fields(delivery.identity),
        }
        if device.token != target:
            data["device_token"] = device.token
        accepted = datetime.fromtimestamp(delivery.created_at / 1000, UTC)
        stamp = accepted.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {
            "type": delivery.message.category or "notification",
            "timestamp": stamp,
            "data": with_overrides(data, delivery.message, KIND),
        }

    def _headers(self, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        headers = {"content-type": "application/json", "user-agent": self.user_agent}
        if self.authorization:
            headers["authorization"] = self.authorization
        if self.key is not None:
            headers.update(signature_headers(self.key, webhook_id, timestamp, body))
        return headers

    def _outcome(self, answer: Answer, webhook_id: str) -> Outcome:
        status = answer.status
        if 200 <= status < 300:
            if self.answer_mode == "contract":
                return contract_outcome(answer, webhook_id)
            return sent(webhook_id, status)
        detail = answer.text()
        if answer.headers.get("webhook-delivery", "").strip().lower() == "abort-message":
            # Svix: the receiver asks that this message not be retried (§6.4).
            return rejected(short_reason(f"receiver aborted the message ({status})", detail))
        if status == 410:
            return invalid_token("endpoint gone (410): disable it", status=status)
        if status == 401:
            # The receiver refuses the authorization the credentials send: like a
            # provider's auth failure, the app's webhook credentials pause until set again
            # (docs/architecture.md §5), rather than burning every delivery.
            return auth_failed(
                short_reason("receiver refused the authorization (401)", detail), status
            )
        if status in THROTTLE_STATUSES or status >= 500:
            after = retry_after(answer, self.options.clock())
            return retry(short_reason(f"receiver answered {status}", detail), after, status)
        if 300 <= status < 400:
            where = answer.headers.get("location", "")
            return rejected(short_reason(f"redirect {status} not followed", where), status)
        return rejected(short_reason(f"receiver answered {status}", detail), status)
