"""The FCM provider: HTTP v1 ``messages:send`` (providers.md §2) over pushgate's transport.

One :class:`FcmProvider` per app credential: one v1 request per delivery, multiplexed on
a pool of HTTP/2 connections (§2.6: the batch endpoint is gone), authorised by an OAuth2
access token of the service account (:mod:`.google_oauth`). A 401 ``UNAUTHENTICATED``
refreshes the token once and retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from pushgate.core import outcomes
from pushgate.core.outcomes import Outcome
from pushgate.providers import fcm_answers
from pushgate.providers.base import Delivery, ProviderCredentials
from pushgate.providers.concurrent_requests import run_concurrently
from pushgate.providers.endpoints import Origin, default_tls_context, open_pool
from pushgate.providers.fcm_payload import MessageRefused, render_template, request_body
from pushgate.providers.google_oauth import (
    AccessToken,
    OAuthRefused,
    OAuthUnavailable,
    ServiceAccountKey,
    ServiceAccountTokens,
)
from pushgate.providers.transport_failures import outcome_of_failure
from pushgate.transport import Http2Config, SharedHeaders, TransportError

KIND = "fcm"
BASE_URL = "https://fcm.googleapis.com"  # §2.1


@dataclass(frozen=True, slots=True)
class FcmOptions:
    """How an :class:`FcmProvider` connects: pool size, trust, timeouts."""

    connections: int = 2
    #: A CA file to trust instead of the system store, for FCM and the token endpoint.
    ca_file: str | None = None
    request_timeout: float = 30.0
    token_timeout: float = 10.0
    http2: Http2Config | None = None


class FcmProvider:
    """Sends deliveries with one app's FCM service account; see the module docstring."""

    kind = KIND

    def __init__(
        self,
        credentials: ProviderCredentials,
        options: FcmOptions | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        options = options or FcmOptions()
        public = credentials.public
        self._clock = clock
        context = default_tls_context(options.ca_file)
        self._http = httpx.AsyncClient(verify=context, timeout=options.token_timeout)
        account = ServiceAccountKey(
            str(public["client_email"]),
            credentials.secret["private_key"],
            str(public["private_key_id"]),
            str(public["token_uri"]),
        )
        self.tokens = ServiceAccountTokens(account, self._http, clock=clock)
        project = quote(str(public["project_id"]), safe=":")
        self._path = f"/v1/projects/{project}/messages:send".encode()
        self._pool = open_pool(
            Origin.parse(str(public.get("base_url") or BASE_URL)),
            connections=options.connections,
            ssl_context=context,
            config=options.http2 or Http2Config(request_timeout=options.request_timeout),
        )
        self._shared: tuple[int, SharedHeaders] | None = None

    async def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """One outcome per delivery, in order; all are sent concurrently."""
        if not batch:
            return []
        try:
            token = await self.tokens.current()
        except OAuthRefused as refused:
            return [outcomes.auth_failed(str(refused))] * len(batch)
        except OAuthUnavailable as unavailable:
            return [outcomes.retry(str(unavailable), unavailable.retry_after)] * len(batch)
        now = self._clock()
        templates: dict[tuple[int, int], bytes | str] = {}
        results: list[Outcome | None] = []
        waiting: list[int] = []
        exchanges = []
        for delivery in batch:
            body = self._body(delivery, templates, now)
            if isinstance(body, Outcome):
                results.append(body)
                continue
            waiting.append(len(results))
            results.append(None)
            exchanges.append(self._exchange(body, token))
        for index, outcome in zip(waiting, await run_concurrently(exchanges), strict=True):
            results[index] = outcome
        return [outcome for outcome in results if outcome is not None]

    async def close(self) -> None:
        await self._pool.close()
        await self._http.aclose()

    def _body(
        self, delivery: Delivery, templates: dict[tuple[int, int], bytes | str], now: float
    ) -> bytes | Outcome:
        """The request body of one delivery, or its outcome when it must not be sent.

        Deliveries of one message with one expiry (a fan-out) share one rendering.
        """
        if delivery.expires_at <= now * 1000:
            return outcomes.rejected("expired before it could be sent")
        key = (id(delivery.message), delivery.expires_at // 1000)
        template = templates.get(key)
        if template is None:
            try:
                template = render_template(delivery.message, delivery.expires_at, now)
            except MessageRefused as refused:
                template = str(refused)
            templates[key] = template
        if isinstance(template, str):
            return outcomes.rejected(template)
        return request_body(template, delivery.device.token)

    async def _exchange(self, body: bytes, token: AccessToken) -> Outcome:
        outcome = await self._post(body, token)
        if outcome.reason == fcm_answers.UNAUTHENTICATED:
            # §2.5: a bad or expired access token; refresh once and retry.
            try:
                token = await self.tokens.replace(token)
            except (OAuthRefused, OAuthUnavailable) as failed:
                return outcomes.retry(f"access token refresh failed: {failed}")
            outcome = await self._post(body, token)
        return outcome

    async def _post(self, body: bytes, token: AccessToken) -> Outcome:
        try:
            response = await self._pool.request(
                b"POST", self._path, (), body, shared=self._shared_headers(token)
            )
        except TransportError as error:
            return outcome_of_failure(error)
        return fcm_answers.outcome_of(response, self._clock())

    def _shared_headers(self, token: AccessToken) -> SharedHeaders:
        """Headers repeated on every request, HPACK-indexed once per connection."""
        if self._shared is None or self._shared[0] != token.generation:
            fields = [
                ("authorization", token.authorization),
                ("content-type", "application/json; charset=UTF-8"),
            ]
            self._shared = (token.generation, SharedHeaders(fields))
        return self._shared[1]
