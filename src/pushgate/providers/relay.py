"""The origin side of relaying (docs/relay.md): an app's deliveries go to another pushgate,
the relay, which sends them with its own provider credentials and answers per message.

One client per app and device kind, all of an app's kinds sharing one keep-alive pool
(``RelayPool``). A batch is one request (``POST {url}/v1/relay/{app}/messages``, at most
:data:`~pushgate.core.relay_wire.MAX_BATCH` messages); each answer becomes the outcome a
direct provider would give (``core/relay_wire.py`` ``outcome_of``). The exchange itself
maps as a provider's does: 401 and 403 refuse the credentials (they pause), 429 and 5xx
retry after ``Retry-After``, a lost connection retries, another 4xx fails the batch.

A relay whose send outlasts its bound answers 202 with the batch's ``Location``; the
client reads it again after each ``Retry-After`` until the answers come, for at most
:data:`POLL_BOUND_SECONDS`, then answers ``retry`` (the relay keeps the final answers, so
the retry gets them without a second push) (docs/relay.md, "Long sends").
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import orjson
from pydantic import ValidationError

from pushgate.core.outcomes import Outcome, auth_failed, rejected, retry
from pushgate.core.relay_wire import (
    MAX_BATCH,
    RelayAnswers,
    identity_to_wire,
    message_to_wire,
    outcome_of,
)
from pushgate.providers.base import Delivery, ProviderCredentials
from pushgate.providers.http_client import make_client, short_reason, transport_failure
from pushgate.providers.options import ProviderOptions
from pushgate.providers.retry_after import parse_retry_after
from pushgate.providers.sending import TRANSPORT_ERRORS

KIND = "relay"
# The relay answers once its providers did; their own timeouts are 30 s.
READ_TIMEOUT_SECONDS = 60.0
CHUNK = min(500, MAX_BATCH)
MAX_REQUEST_BYTES = 768 * 1024
MAX_ANSWERS_BYTES = 8 * 1024 * 1024
USER_AGENT = "pushgate-relay/1"
# How long a batch answered 202 is polled; the relay's providers answer within 30 s, so
# a batch still unanswered then is most likely lost with a relay process.
POLL_BOUND_SECONDS = 90.0
# Retry-After of a poll, held between these (a relay saying 0, or an hour).
POLL_AFTER_MIN_SECONDS = 0.05
POLL_AFTER_MAX_SECONDS = 10.0


class RelayPool:
    """The keep-alive connections to one relay, shared by the app's kinds."""

    def __init__(self, credentials: ProviderCredentials, options: ProviderOptions) -> None:
        self.url = str(credentials.public["url"]).rstrip("/")
        self.app = str(credentials.public["app"])
        self.key = credentials.secret["key"]
        self.options = options
        self.client = make_client(options, read_timeout=READ_TIMEOUT_SECONDS)

    @property
    def endpoint(self) -> str:
        return f"{self.url}/v1/relay/{self.app}/messages"

    async def close(self) -> None:
        await self.client.aclose()


class RelayProvider:
    """Sends one device kind's batches of an app through its relay."""

    kind = KIND

    def __init__(self, pool: RelayPool, device_kind: str, *, owns_pool: bool = False) -> None:
        self.pool = pool
        self.device_kind = device_kind
        self.owns_pool = owns_pool

    async def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """The batch in requests of at most :data:`CHUNK` messages and
        :data:`MAX_REQUEST_BYTES` (the relay's default body bound is 1 MiB)."""
        outcomes: list[Outcome] = []
        chunk: list[Delivery] = []
        parts: list[bytes] = []
        size = 0
        for delivery in batch:
            part = orjson.dumps(self._message(delivery))
            if chunk and (len(chunk) >= CHUNK or size + len(part) > MAX_REQUEST_BYTES):
                outcomes += await self._send_chunk(chunk, parts)
                chunk, parts, size = [], [], 0
            chunk.append(delivery)
            parts.append(part)
            size += len(part) + 1
        if chunk:
            outcomes += await self._send_chunk(chunk, parts)
        return outcomes

    async def close(self) -> None:
        if self.owns_pool:
            await self.pool.close()

    def _message(self, delivery: Delivery) -> dict[str, Any]:
        message = delivery.message
        item: dict[str, Any] = {
            "id": delivery.delivery_id,
            "provider": self.device_kind,
            "token": delivery.device.token,
            "message": message_to_wire(message),
            "expires_at": delivery.expires_at,
            "created_at": delivery.created_at,
            "priority": message.priority.value,
            "collapse_key": message.collapse_key,
            "now_or_never": delivery.now_or_never,
        }
        if delivery.device.keys:
            item["keys"] = delivery.device.keys
        if delivery.identity is not None:
            item["identity"] = identity_to_wire(delivery.identity)
        return item

    async def _send_chunk(self, chunk: Sequence[Delivery], parts: list[bytes]) -> list[Outcome]:
        body = b'{"messages":[' + b",".join(parts) + b"]}"
        headers = {
            "authorization": f"Bearer {self.pool.key}",
            "content-type": "application/json",
            "user-agent": USER_AGENT,
        }
        try:
            status, answer_headers, content = await self._post(body, headers)
        except TRANSPORT_ERRORS as exc:
            return [transport_failure(exc, configured_target=True)] * len(chunk)
        if status == 202:
            return await self._poll(chunk, headers, answer_headers)
        return self._outcomes(chunk, status, answer_headers, content)

    def _outcomes(
        self,
        chunk: Sequence[Delivery],
        status: int,
        answer_headers: httpx.Headers,
        content: bytes,
    ) -> list[Outcome]:
        if status == 200:
            return self._answers(chunk, content)
        detail = content[:2048].decode("utf-8", errors="replace")
        reason = short_reason(f"relay answered {status}", detail)
        if status in (401, 403):
            # The relay refused the key (revoked, expired, not this origin's app): the
            # app's relay credentials pause until they are set again.
            return [auth_failed(reason, status)] * len(chunk)
        if status == 429 or status >= 500:
            value = answer_headers.get("retry-after")
            after = parse_retry_after(
                value.encode("latin-1") if value else None, self.pool.options.clock()
            )
            return [retry(reason, after, status)] * len(chunk)
        return [rejected(reason, status)] * len(chunk)

    async def _poll(
        self, chunk: Sequence[Delivery], headers: dict[str, str], accepted: httpx.Headers
    ) -> list[Outcome]:
        """Read a batch answered 202 at its ``Location`` until it has answers."""
        where = self._batch_url(accepted.get("location"))
        if where is None:
            return [retry("relay answered 202 without a batch on its own host", None, 202)] * len(
                chunk
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + POLL_BOUND_SECONDS
        answer_headers = accepted
        poll = {k: v for k, v in headers.items() if k != "content-type"}
        while True:
            await asyncio.sleep(self._poll_after(answer_headers, deadline - loop.time()))
            try:
                status, answer_headers, content = await self._send_request("GET", where, poll)
            except TRANSPORT_ERRORS as exc:
                return [transport_failure(exc, configured_target=True)] * len(chunk)
            if status != 202:
                if status == 404:
                    # The relay forgot the batch (purged, or its process ended before the
                    # batch was written): a retry gets what was written, sends the rest.
                    return [retry("relay lost the batch", None, 404)] * len(chunk)
                return self._outcomes(chunk, status, answer_headers, content)
            if loop.time() >= deadline:
                reason = f"relay batch unanswered after {POLL_BOUND_SECONDS:.0f} s"
                return [retry(reason, None, 202)] * len(chunk)

    def _batch_url(self, location: str | None) -> str | None:
        """The batch's URL, on the relay's own host only: the relay key goes with it."""
        if not location:
            return None
        base = httpx.URL(self.pool.endpoint)
        url = base.join(location)
        if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
            return None
        return str(url)

    def _poll_after(self, answer_headers: httpx.Headers, left: float) -> float:
        value = answer_headers.get("retry-after")
        after = parse_retry_after(
            value.encode("latin-1") if value else None, self.pool.options.clock()
        )
        wanted = POLL_AFTER_MIN_SECONDS if after is None else after
        held = min(max(wanted, POLL_AFTER_MIN_SECONDS), POLL_AFTER_MAX_SECONDS)
        return max(0.0, min(held, left))

    async def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, httpx.Headers, bytes]:
        return await self._send_request("POST", self.pool.endpoint, headers, body)

    async def _send_request(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, httpx.Headers, bytes]:
        request = self.pool.client.build_request(method, url, content=body, headers=headers)
        response = await self.pool.client.send(request, stream=True)
        try:
            content = bytearray()
            async for part in response.aiter_raw():
                content += part
                if len(content) > MAX_ANSWERS_BYTES:
                    break
            return response.status_code, response.headers, bytes(content)
        finally:
            await response.aclose()

    def _answers(self, chunk: Sequence[Delivery], content: bytes) -> list[Outcome]:
        try:
            answers = RelayAnswers.model_validate_json(content).answers
        except ValidationError:
            return [retry("relay answer unreadable", None, 200)] * len(chunk)
        by_id = {answer.id: answer for answer in answers}
        outcomes = []
        for delivery in chunk:
            answer = by_id.get(delivery.delivery_id)
            outcomes.append(
                retry("relay gave no answer for it") if answer is None else outcome_of(answer)
            )
        return outcomes
