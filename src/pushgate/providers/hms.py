"""Huawei HMS Push Kit client (docs/providers.md §5).

One ``messages:send`` request carries one message to up to 1000 tokens, so a batch is
grouped by rendered message and each group split into requests of at most 1000 distinct
tokens; the answer's result code is spread back over the deliveries of the request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from pushgate.core.outcomes import Outcome, rejected, retry
from pushgate.providers.base import Delivery, ProviderCredentials
from pushgate.providers.client_credentials import ClientCredentialsToken, TokenUnavailable
from pushgate.providers.hms_payload import (
    MAX_MESSAGE_BYTES,
    MIN_TTL_SECONDS,
    render,
)
from pushgate.providers.hms_results import SendResult, read_result
from pushgate.providers.http_client import make_client, post, transport_failure
from pushgate.providers.options import ProviderOptions
from pushgate.providers.sending import (
    TRANSPORT_ERRORS,
    failure_outcome,
    ttl_to_send,
    unexpected_failure,
)

log = logging.getLogger(__name__)
KIND = "hms"
TOKEN_URL = "https://oauth-login.cloud.huawei.com/oauth2/v3/token"  # noqa: S105 - §5.1, a URL
BASE_URL = "https://push-api.cloud.huawei.com"  # §5.2
MAX_TOKENS_PER_REQUEST = 1000  # §5.2
OAUTH_EXPIRED_CODE = "80200003"  # §5.3: refresh the OAuth token and retry


@dataclass(slots=True)
class Request:
    """One ``messages:send`` request: a message and the deliveries of each token."""

    message: dict[str, object]
    targets: dict[str, list[int]] = field(default_factory=dict)


class HmsProvider:
    """Sends to HMS push tokens with one app's OAuth client credentials."""

    kind = KIND

    def __init__(self, credentials: ProviderCredentials, options: ProviderOptions) -> None:
        self.options = options
        # Token and send URLs are the credentials', guarded like every outbound target.
        self.client = make_client(options)
        app_id = str(credentials.public["app_id"])
        form = {
            "grant_type": "client_credentials",
            "client_id": app_id,
            "client_secret": credentials.secret["client_secret"],
        }
        token_url = str(credentials.public.get("token_url") or TOKEN_URL)
        self.token = ClientCredentialsToken(self.client, token_url, form, options.clock)
        base_url = str(credentials.public.get("base_url") or BASE_URL).rstrip("/")
        self.send_url = f"{base_url}/v1/{app_id}/messages:send"

    async def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(batch)
        requests = self._plan(batch, outcomes)
        if requests:
            try:
                await self.token.get()
            except TokenUnavailable as exc:
                return [outcome or exc.outcome for outcome in outcomes]
        gate = asyncio.Semaphore(max(1, self.options.concurrency))

        async def run(request: Request) -> None:
            async with gate:
                answers = await self._send_request(request)
            for token, indexes in request.targets.items():
                for index in indexes:
                    outcomes[index] = answers[token]

        await asyncio.gather(*(run(request) for request in requests))
        # Every index was planned into a request or refused, so none is left unanswered.
        return [outcome or retry("no answer for this delivery") for outcome in outcomes]

    async def close(self) -> None:
        await self.client.aclose()

    def _plan(self, batch: Sequence[Delivery], outcomes: list[Outcome | None]) -> list[Request]:
        """Group deliveries by rendered message; refuse what cannot be sent at all."""
        groups: dict[bytes, list[Request]] = {}
        now = self.options.clock()
        for index, delivery in enumerate(batch):
            ttl = ttl_to_send(delivery, now)
            if ttl is None:
                outcomes[index] = rejected("expired before it could be sent")
                continue
            try:
                # §5.2: HMS takes a TTL of 1 s at least, so "now or never" (0) becomes 1 s,
                # the closest it allows.
                ttl = max(ttl, MIN_TTL_SECONDS)
                message = render(delivery.message, ttl, delivery.identity)
                group = orjson.dumps(message, option=orjson.OPT_SORT_KEYS)
                size = len(group)  # sorting the keys changes no length
            except Exception as exc:
                # One delivery that cannot be prepared fails alone (docs/architecture.md §5).
                outcomes[index] = unexpected_failure(exc, delivery.delivery_id)
                continue
            if size > MAX_MESSAGE_BYTES:
                outcomes[index] = rejected(
                    f"message of {size} bytes exceeds {MAX_MESSAGE_BYTES} for HMS"
                )
                continue
            requests = groups.setdefault(group, [])
            token = delivery.device.token
            if not requests or (
                token not in requests[-1].targets
                and len(requests[-1].targets) >= MAX_TOKENS_PER_REQUEST
            ):
                requests.append(Request(message))
            requests[-1].targets.setdefault(token, []).append(index)
        return [request for requests in groups.values() for request in requests]

    async def _send_request(self, request: Request) -> dict[str, Outcome]:
        tokens = list(request.targets)
        body = orjson.dumps(
            {"validate_only": False, "message": {**request.message, "token": tokens}}
        )
        try:
            result = await self._post(body)
        except TokenUnavailable as exc:
            return dict.fromkeys(tokens, exc.outcome)
        except TRANSPORT_ERRORS as exc:
            return dict.fromkeys(tokens, transport_failure(exc, configured_target=True))
        except Exception as exc:
            # One request (its tokens share a message) fails alone, not the batch.
            log.error("HMS request for %d tokens failed", len(tokens), exc_info=exc)
            return dict.fromkeys(tokens, failure_outcome(exc))
        return {token: result.outcome_for(token) for token in tokens}

    async def _post(self, body: bytes) -> SendResult:
        """POST with the current token; on 80200003, once more with a fresh one (§5.3)."""
        for attempt in range(2):
            token = await self.token.get()
            headers = {
                "authorization": f"Bearer {token}",
                "content-type": "application/json; charset=UTF-8",
            }
            answer = await post(self.client, self.send_url, content=body, headers=headers)
            result = read_result(answer, self.options.clock())
            if result.code != OAUTH_EXPIRED_CODE or attempt == 1:
                return result
            self.token.invalidate(token)
        raise AssertionError("unreachable")  # pragma: no cover
