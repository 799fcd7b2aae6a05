"""The ``webhook`` action handler: the response as signed JSON to the host system
(docs/actions.md, "Handlers").

It goes out the way the webhook provider's requests do (docs/providers.md §6): signed the
Standard Webhooks way with the action's secret, ``webhook-id`` being the response's id (the
same on every attempt, so the host can recognise a repeat), through the client that
refuses private targets unless they are allowed, redirects never followed, the whole
exchange bounded by the handler's timeout.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from pushgate.core.actions import ActionResponse, WebhookContract, WebhookHandler
from pushgate.core.responses import (
    HandlerFailed,
    HandlerOutcome,
    HandlerResult,
    HandlerRetry,
    HandlerSucceeded,
)
from pushgate.providers.http_client import Answer, make_client, post, retry_after, short_reason
from pushgate.providers.options import ProviderOptions
from pushgate.providers.target_guard import PrivateTargetRefused
from pushgate.providers.upstream_text import clean_detail
from pushgate.providers.webhook_signing import signature_headers, signing_key

USER_AGENT = "pushgate-actions/1"
EVENT_TYPE = "action.response"
# As for the webhook provider (docs/providers.md §6.3): "slow down", or a passing fault.
RETRY_STATUSES = frozenset({429})


def response_body(response: ActionResponse) -> bytes:
    """The JSON a handler receives; the same bytes on every attempt (only the timestamp
    header and the signature are the attempt's own)."""
    received = datetime.fromtimestamp(response.received_at / 1000, UTC)
    stamp = received.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    data: dict[str, Any] = {
        "id": response.id,
        "app": response.app,
        "notification_id": response.notification_id,
        "delivery_id": response.delivery_id,
        "device_id": response.device_id,
        "user_id": response.user_id,
        "action_id": response.action_id,
        "action": response.action_key,
        "input": response.input,
        "data": response.data,
        "received_at": stamp,
    }
    return orjson.dumps({"type": EVENT_TYPE, "timestamp": stamp, "data": data})


class WebhookHandlerClient:
    """POSTs responses to webhook handlers; one pooled client for all of them."""

    def __init__(self, options: ProviderOptions) -> None:
        self.options = options
        self.client = make_client(options)

    async def close(self) -> None:
        await self.client.aclose()

    async def call(
        self, handler: WebhookHandler, secret: str | None, response: ActionResponse
    ) -> HandlerOutcome:
        if urlsplit(handler.url).scheme != "https" and not self.options.allow_private_targets:
            return HandlerFailed(HandlerResult(error="handler URL must use https"))
        body = response_body(response)
        # The id goes signed or not: it is how the host recognises a run again.
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": response.id,
        }
        if secret:
            stamp = int(self.options.clock())
            headers.update(signature_headers(signing_key(secret), response.id, stamp, body))
        timeout = httpx.Timeout(handler.timeout_seconds, connect=self.options.connect_timeout)
        try:
            # A receiver trickling bytes could keep each read under the read timeout.
            async with asyncio.timeout(handler.timeout_seconds + self.options.connect_timeout):
                answer = await post(
                    self.client, handler.url, content=body, headers=headers, request_timeout=timeout
                )
        except PrivateTargetRefused as exc:
            return HandlerFailed(HandlerResult(error=f"target refused: {exc}"))
        except (httpx.TimeoutException, TimeoutError) as exc:
            return HandlerRetry(HandlerResult(error=f"timeout: {type(exc).__name__}"))
        except (httpx.TransportError, OSError) as exc:
            reason = short_reason(f"connection failed: {type(exc).__name__}", str(exc))
            return HandlerRetry(HandlerResult(error=reason))
        return self.outcome(handler.contract, answer)

    def outcome(self, contract: WebhookContract, answer: Answer) -> HandlerOutcome:
        status = answer.status
        if 200 <= status < 300:
            if contract is WebhookContract.SUCCESS_CODE_MESSAGE:
                return contract_outcome(answer)
            return HandlerSucceeded(HandlerResult(status=status))
        error = short_reason(f"handler answered {status}", answer.text())
        if status in RETRY_STATUSES or status >= 500:
            after = retry_after(answer, self.options.clock())
            return HandlerRetry(HandlerResult(status=status, error=error), after)
        return HandlerFailed(HandlerResult(status=status, error=error))


def contract_outcome(answer: Answer) -> HandlerOutcome:
    """Read ``{"Success": bool, "Code": …, "Message": …}``: ``Success`` decides; the code
    and message are kept either way (a number or a string code, kept as text)."""
    try:
        loaded: Any = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        loaded = None
    success = loaded.get("Success") if isinstance(loaded, dict) else None
    if not isinstance(loaded, dict) or not isinstance(success, bool):
        error = short_reason("answer breaks the contract", answer.text())
        return HandlerFailed(HandlerResult(status=answer.status, error=error))
    code, message = loaded.get("Code"), loaded.get("Message")
    result = HandlerResult(
        status=answer.status,
        code=None if code is None else str(code)[:64],
        message=None if message is None else clean_detail(str(message)),
    )
    if success:
        return HandlerSucceeded(result)
    refusal = f"handler refused: Code {result.code}" + (
        f": {result.message}" if result.message else ""
    )
    return HandlerFailed(HandlerResult(result.status, result.code, result.message, refusal))
