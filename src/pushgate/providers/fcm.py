"""The FCM provider: HTTP v1 ``messages:send`` (docs/providers.md §2) over pushgate's transport.

One :class:`FcmProvider` per app credential: one v1 request per delivery, multiplexed on
a pool of HTTP/2 connections (§2.6: the batch endpoint is gone; a batch leaves together as
one ``request_many`` of the pool), authorised by an OAuth2 access token of the service
account (:mod:`.google_oauth`). A 401 ``UNAUTHENTICATED`` refreshes the token once and
retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from pushgate.core import outcomes
from pushgate.core.outcomes import Outcome
from pushgate.providers import fcm_answers
from pushgate.providers.base import Delivery, ProviderCredentials
from pushgate.providers.endpoints import Origin, open_pool
from pushgate.providers.fcm_payload import (
    NOW_OR_NEVER,
    PAYLOAD_LIMIT,
    MessageRefused,
    Template,
    render_template,
    request_body,
)
from pushgate.providers.google_oauth import (
    AccessToken,
    OAuthRefused,
    OAuthUnavailable,
    ServiceAccountKey,
    ServiceAccountTokens,
)
from pushgate.providers.http_client import make_client
from pushgate.providers.options import ProviderOptions, Resolver
from pushgate.providers.sending import unexpected_failure
from pushgate.providers.transport_failures import outcome_of_failure
from pushgate.providers.trust import tls_context
from pushgate.transport import Http2Config, SharedHeaders, TransportError

KIND = "fcm"
BASE_URL = "https://fcm.googleapis.com"  # §2.1
# Stands for an outcome not known yet; every one is replaced before send returns.
_UNSENT = outcomes.retry("not sent")


@dataclass(frozen=True, slots=True)
class FcmOptions:
    """How an :class:`FcmProvider` connects: pool size, trust, timeouts."""

    connections: int = 2
    #: CA files trusted beside the system store, for FCM and the token endpoint.
    ca_files: tuple[str, ...] = ()
    request_timeout: float = 30.0
    token_timeout: float = 10.0
    http2: Http2Config | None = None
    #: The operator's ``allow_private_targets``: only then may the base URL (and, for FCM,
    #: the token URI) resolve to a loopback, private or link-local address.
    allow_private_targets: bool = False
    resolver: Resolver | None = None


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
        # A context each for the token client and the pool: httpcore would set the shared
        # one's ALPN to http/1.1 and the pool could no longer negotiate h2 (providers/trust.py).
        # make_client builds its own, and guards the token URI like every outbound target.
        token_options = ProviderOptions(
            allow_private_targets=options.allow_private_targets,
            resolver=options.resolver,
            ca_files=options.ca_files,
            connect_timeout=options.token_timeout,
            request_timeout=options.token_timeout,
            pool_timeout=options.token_timeout,
        )
        self._http = make_client(token_options)
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
            ssl_context=tls_context(options.ca_files, "h2"),
            config=options.http2 or Http2Config(request_timeout=options.request_timeout),
            allow_private_targets=options.allow_private_targets,
            resolver=options.resolver,
        )
        self._shared: tuple[int, SharedHeaders] | None = None

    async def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """One outcome per delivery, in order; all are sent at once (one HTTP/2 batch)."""
        if not batch:
            return []
        try:
            token = await self.tokens.current()
        except OAuthRefused as refused:
            return [outcomes.auth_failed(str(refused))] * len(batch)
        except OAuthUnavailable as unavailable:
            return [outcomes.retry(str(unavailable), unavailable.retry_after)] * len(batch)
        now = self._clock()
        templates: dict[tuple[int, int], Template | str] = {}
        bodies: list[bytes] = []
        sent: list[int] = []
        results: list[Outcome] = []
        for delivery in batch:
            try:
                body = self._body(delivery, templates, now)
            except Exception as exc:
                # One delivery that cannot be prepared fails alone (docs/architecture.md §5).
                body = unexpected_failure(exc, delivery.delivery_id)
            if isinstance(body, Outcome):
                results.append(body)
            else:
                sent.append(len(results))
                results.append(_UNSENT)
                bodies.append(body)
        await self._send_round(bodies, sent, token, results)
        again = [i for i, position in enumerate(sent) if _is_unauthenticated(results[position])]
        if again:
            # §2.5: a bad or expired access token; refresh once and retry those.
            retry_bodies = [bodies[i] for i in again]
            await self._resend_with_new_token(
                retry_bodies, [sent[i] for i in again], token, results
            )
        return results

    async def close(self) -> None:
        await self._pool.close()
        await self._http.aclose()

    async def _send_round(
        self, bodies: list[bytes], positions: list[int], token: AccessToken, results: list[Outcome]
    ) -> None:
        """POST each body; the outcome of ``bodies[i]`` goes to ``results[positions[i]]``."""
        if not bodies:
            return
        shared = self._shared_headers(token)
        path = self._path
        answers = await self._pool.request_many(
            b"POST", [(path, (), body, shared) for body in bodies]
        )
        answered_at = self._clock()
        for position, answer in zip(positions, answers, strict=True):
            if isinstance(answer, TransportError):
                results[position] = outcome_of_failure(answer)
            else:
                results[position] = fcm_answers.outcome_of(answer, answered_at)

    async def _resend_with_new_token(
        self, bodies: list[bytes], positions: list[int], token: AccessToken, results: list[Outcome]
    ) -> None:
        try:
            newer = await self.tokens.replace(token)
        except (OAuthRefused, OAuthUnavailable) as failed:
            for position in positions:
                results[position] = outcomes.retry(f"access token refresh failed: {failed}")
            return
        await self._send_round(bodies, positions, newer, results)

    def _body(
        self, delivery: Delivery, templates: dict[tuple[int, int], Template | str], now: float
    ) -> bytes | Outcome:
        """The request body of one delivery, or its outcome when it must not be sent.

        Deliveries of one message with one expiry (a fan-out) share one rendering.
        """
        if delivery.expires_at <= now * 1000:
            return outcomes.rejected("expired before it could be sent")
        expiry = NOW_OR_NEVER if delivery.now_or_never else delivery.expires_at
        key = (id(delivery.message), expiry // 1000)
        template = templates.get(key)
        if template is None:
            try:
                template = render_template(delivery.message, expiry, now)
            except MessageRefused as refused:
                template = str(refused)
            templates[key] = template
        if isinstance(template, str):
            return outcomes.rejected(template)
        identity = None if delivery.identity is None else delivery.identity.to_json()
        if identity is not None and template.size + len(identity) > PAYLOAD_LIMIT:
            size = template.size + len(identity)
            return outcomes.rejected(
                f"payload too large: {size} bytes, FCM takes at most {PAYLOAD_LIMIT}"
            )
        return request_body(template, delivery.device.token, identity)

    def _shared_headers(self, token: AccessToken) -> SharedHeaders:
        """Headers repeated on every request, HPACK-indexed once per connection."""
        if self._shared is None or self._shared[0] != token.generation:
            fields = [
                ("authorization", token.authorization),
                ("content-type", "application/json; charset=UTF-8"),
            ]
            self._shared = (token.generation, SharedHeaders(fields))
        return self._shared[1]


def _is_unauthenticated(outcome: Outcome) -> bool:
    return outcome.reason == fcm_answers.UNAUTHENTICATED
