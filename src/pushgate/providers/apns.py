"""The APNs provider: HTTP/2 provider API (providers.md §1) over pushgate's transport.

One :class:`ApnsProvider` per app credential: a pool of long-lived HTTP/2 connections
(two by default) carrying many concurrent streams, token auth with one shared ES256 JWT
or certificate auth on the TLS connection. Each delivery becomes ``POST
/3/device/<token>`` with ``apns-id`` = the delivery id, so a resent delivery keeps its id.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pushgate.core import outcomes
from pushgate.core.outcomes import Outcome
from pushgate.providers import apns_answers
from pushgate.providers.apns_auth import (
    DEFAULT_REFRESH_AFTER,
    ProviderToken,
    ProviderTokens,
    add_client_certificate,
)
from pushgate.providers.apns_payload import ApnsPush, PayloadRefused, render_push
from pushgate.providers.base import Delivery, ProviderCredentials
from pushgate.providers.concurrent_requests import run_concurrently
from pushgate.providers.endpoints import Origin, default_tls_context, open_pool
from pushgate.providers.transport_failures import outcome_of_failure
from pushgate.transport import Http2Config, SharedHeaders, TransportError

KIND = "apns"
# §1.1: Apple's hosts per environment.
HOSTS = {
    "production": "https://api.push.apple.com",
    "sandbox": "https://api.sandbox.push.apple.com",
}
DEVICE_PATH = b"/3/device/"
_HEX_TOKEN = re.compile(r"[0-9a-fA-F]+")


@dataclass(frozen=True, slots=True)
class ApnsOptions:
    """How an :class:`ApnsProvider` connects: pool size, trust, timeouts, token reuse."""

    connections: int = 2
    #: A CA file to trust instead of the system store (the simulators' CA).
    ca_file: str | None = None
    request_timeout: float = 30.0
    token_refresh_after: float = DEFAULT_REFRESH_AFTER
    http2: Http2Config | None = None


@dataclass(frozen=True, slots=True)
class _Request:
    """One delivery's request, ready to send."""

    path: bytes
    headers: list[tuple[bytes, bytes]]
    push: ApnsPush
    apns_id: str


class ApnsProvider:
    """Sends deliveries with one app's APNs credential; see the module docstring."""

    kind = KIND

    def __init__(
        self,
        credentials: ProviderCredentials,
        options: ApnsOptions | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        options = options or ApnsOptions()
        public, secret = credentials.public, credentials.secret
        self._bundle_id = str(public["bundle_id"])
        self._clock = clock
        self._tokens: ProviderTokens | None = None
        context = default_tls_context(options.ca_file)
        if public.get("auth_mode", "token") == "token":
            self._tokens = ProviderTokens(
                secret["private_key"],
                str(public["key_id"]),
                str(public["team_id"]),
                refresh_after=options.token_refresh_after,
                clock=clock,
            )
        else:
            add_client_certificate(
                context, secret["certificate_p12"], secret.get("certificate_password", "")
            )
        base_url = public.get("base_url") or HOSTS[str(public.get("environment", "production"))]
        self._pool = open_pool(
            Origin.parse(str(base_url)),
            connections=options.connections,
            ssl_context=context,
            config=options.http2 or Http2Config(request_timeout=options.request_timeout),
        )
        self._shared: dict[tuple[int, str, str, int], SharedHeaders] = {}

    async def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """One outcome per delivery, in order; all are sent concurrently.

        Deliveries of one message (a fan-out) share its rendering: it is done once per
        message object in the batch.
        """
        now = self._clock()
        token = self._tokens.current() if self._tokens is not None else None
        rendered: dict[int, ApnsPush | str] = {}
        results: list[Outcome | None] = []
        waiting: list[int] = []
        exchanges = []
        for delivery in batch:
            request = self._prepare(delivery, rendered, now)
            if isinstance(request, Outcome):
                results.append(request)
                continue
            waiting.append(len(results))
            results.append(None)
            exchanges.append(self._exchange(request, token))
        for index, outcome in zip(waiting, await run_concurrently(exchanges), strict=True):
            results[index] = outcome
        return [outcome for outcome in results if outcome is not None]

    async def close(self) -> None:
        await self._pool.close()

    def _prepare(
        self, delivery: Delivery, rendered: dict[int, ApnsPush | str], now: float
    ) -> _Request | Outcome:
        """The request for one delivery, or its outcome when it must not be sent."""
        message = delivery.message
        push = rendered.get(id(message))
        if push is None:
            try:
                push = render_push(message, self._bundle_id)
            except PayloadRefused as refused:
                push = str(refused)
            rendered[id(message)] = push
        if isinstance(push, str):
            return outcomes.rejected(push)
        token = delivery.device.token
        if not _HEX_TOKEN.fullmatch(token):
            return outcomes.invalid_token("BadDeviceToken: the token is not hexadecimal")
        expiration = delivery.expires_at // 1000
        if expiration <= now:
            return outcomes.rejected("expired before it could be sent")
        apns_id = delivery.delivery_id.lower()  # §1.2: lowercase canonical UUID
        headers = [(b"apns-id", apns_id.encode()), (b"apns-expiration", b"%d" % expiration)]
        if push.collapse_id is not None:
            headers.append((b"apns-collapse-id", push.collapse_id.encode()))
        return _Request(DEVICE_PATH + token.encode(), headers, push, apns_id)

    async def _exchange(self, request: _Request, token: ProviderToken | None) -> Outcome:
        outcome = await self._post(request, token)
        if token is not None and outcome.reason == apns_answers.EXPIRED_PROVIDER_TOKEN:
            # §1.5: mint a new token and try once more.
            assert self._tokens is not None
            newer = self._tokens.replace_expired(token)
            if newer is not None:
                outcome = await self._post(request, newer)
        return outcome

    async def _post(self, request: _Request, token: ProviderToken | None) -> Outcome:
        shared = self._shared_headers(request.push, token)
        try:
            response = await self._pool.request(
                b"POST", request.path, request.headers, request.push.body, shared=shared
            )
        except TransportError as error:
            return outcome_of_failure(error)
        if response.status == 200:
            return outcomes.sent(request.apns_id, 200)  # APNs echoes the apns-id we sent
        return apns_answers.outcome_of(response, request.apns_id, self._clock())

    def _shared_headers(self, push: ApnsPush, token: ProviderToken | None) -> SharedHeaders:
        """Headers repeated across requests, HPACK-indexed once per connection."""
        generation = token.generation if token is not None else 0
        key = (generation, push.topic, push.push_type, push.priority)
        shared = self._shared.get(key)
        if shared is None:
            if any(known[0] != generation for known in self._shared):
                self._shared.clear()  # a new provider token: the old headers are dead
            fields = [
                ("apns-topic", push.topic),
                ("apns-push-type", push.push_type),
                ("apns-priority", str(push.priority)),
            ]
            if token is not None:
                fields.insert(0, ("authorization", token.authorization))
            shared = self._shared[key] = SharedHeaders(fields)
        return shared
