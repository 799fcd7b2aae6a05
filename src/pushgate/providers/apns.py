"""The APNs provider: HTTP/2 provider API (docs/providers.md §1) over pushgate's transport.

One :class:`ApnsProvider` per app credential: a pool of long-lived HTTP/2 connections
(two by default) carrying many concurrent streams, token auth with one shared ES256 JWT
or certificate auth on the TLS connection. Each delivery becomes ``POST
/3/device/<token>`` with ``apns-id`` = the delivery id, so a resent delivery keeps its id;
a batch leaves together, as one ``request_many`` of the pool.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pushgate.core import outcomes
from pushgate.core.messages import Message
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
from pushgate.providers.endpoints import Origin, open_pool
from pushgate.providers.options import Resolver
from pushgate.providers.payload_identity import with_identity
from pushgate.providers.sending import ttl_to_send, unexpected_failure
from pushgate.providers.transport_failures import outcome_of_failure
from pushgate.providers.trust import tls_context
from pushgate.transport import Http2Config, Request, SharedHeaders, TransportError

KIND = "apns"
log = logging.getLogger(__name__)
# §1.1: Apple's hosts per environment.
HOSTS = {
    "production": "https://api.push.apple.com",
    "sandbox": "https://api.sandbox.push.apple.com",
}
DEVICE_PATH = b"/3/device/"
_is_hex = re.compile(r"[0-9a-fA-F]+").fullmatch
# Stands for an outcome not known yet; every one is replaced before send returns.
_UNSENT = outcomes.retry("not sent")


@dataclass(frozen=True, slots=True)
class ApnsOptions:
    """How an :class:`ApnsProvider` connects: pool size, trust, timeouts, token reuse."""

    connections: int = 2
    #: CA files trusted beside the system store (the simulators' CA).
    ca_files: tuple[str, ...] = ()
    request_timeout: float = 30.0
    token_refresh_after: float = DEFAULT_REFRESH_AFTER
    http2: Http2Config | None = None
    #: The operator's ``allow_private_targets``: only then may the base URL (and, for FCM,
    #: the token URI) resolve to a loopback, private or link-local address.
    allow_private_targets: bool = False
    resolver: Resolver | None = None


# What every request of one message repeats: body (without a delivery's identity), its
# size limit, shared headers and the apns-collapse-id field if any; or why the message is
# refused.
_Prepared = tuple[bytes, int, SharedHeaders, tuple[bytes, bytes] | None] | str


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
        context = tls_context(options.ca_files, "h2")
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
            allow_private_targets=options.allow_private_targets,
            resolver=options.resolver,
        )
        self._shared: dict[tuple[int, str, str, int], SharedHeaders] = {}

    async def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """One outcome per delivery, in order; all are sent at once (one HTTP/2 batch).

        Deliveries of one message (a fan-out) share its rendering: it is done once per
        message object in the batch.
        """
        now = self._clock()
        tokens = self._tokens
        token = tokens.current() if tokens is not None else None
        results: list[Outcome] = [_UNSENT] * len(batch)
        await self._send_round(batch, range(len(batch)), now, token, results)
        if tokens is not None and token is not None:
            await self._resend_expired(batch, now, tokens, token, results)
        return results

    async def _resend_expired(
        self,
        batch: Sequence[Delivery],
        now: float,
        tokens: ProviderTokens,
        token: ProviderToken,
        results: list[Outcome],
    ) -> None:
        """§1.5: APNs called ``token`` expired, so its clock says it is over an hour old
        whatever ours says (clock skew, a suspended host): mint a new one and send those
        deliveries once more. Only when APNs refuses the new token too do they stay
        ``auth_failed``, and the sender pauses the credentials."""
        stale = [
            position
            for position, outcome in enumerate(results)
            if outcome.reason == apns_answers.EXPIRED_PROVIDER_TOKEN
        ]
        if not stale:
            return
        age = tokens.age(token)
        newer = tokens.replace_expired(token)
        if newer is None:
            log.warning(
                "APNs refused as expired the token minted %.0f s ago for %s to replace an "
                "expired one: its clock and ours disagree; the credentials will be paused",
                age,
                self._bundle_id,
            )
            return
        log.warning(
            "APNs answered ExpiredProviderToken for %s to a token minted %.0f s ago by our "
            "clock; sending %d deliveries again with a new token",
            self._bundle_id,
            age,
            len(stale),
        )
        await self._send_round(batch, stale, now, newer, results)
        refused = [p for p in stale if results[p].reason == apns_answers.EXPIRED_PROVIDER_TOKEN]
        if refused:
            log.warning(
                "APNs refused the new token for %s as expired too (%d deliveries): its clock "
                "and ours disagree; the credentials will be paused",
                self._bundle_id,
                len(refused),
            )

    async def close(self) -> None:
        await self._pool.close()

    async def _send_round(
        self,
        batch: Sequence[Delivery],
        positions: Sequence[int],
        now: float,
        token: ProviderToken | None,
        results: list[Outcome],
    ) -> None:
        """Send ``batch[p]`` for each ``p`` of ``positions`` and put its outcome in
        ``results[p]``."""
        messages: dict[int, _Prepared] = {}
        requests: list[Request] = []
        sent: list[int] = []
        for position in positions:
            try:
                request = self._prepare(batch[position], messages, now, token)
            except Exception as exc:
                # One delivery that cannot be prepared fails alone (docs/architecture.md §5).
                request = unexpected_failure(exc, batch[position].delivery_id)
            if isinstance(request, Outcome):
                results[position] = request
            else:
                requests.append(request)
                sent.append(position)
        if not requests:
            return
        answers = await self._pool.request_many(b"POST", requests)
        answered_at = self._clock()
        for position, answer in zip(sent, answers, strict=True):
            apns_id = batch[position].delivery_id.lower()
            if isinstance(answer, TransportError):
                results[position] = outcome_of_failure(answer)
            elif answer.status == 200:
                results[position] = outcomes.sent(apns_id, 200)  # APNs echoes our apns-id
            else:
                results[position] = apns_answers.outcome_of(answer, apns_id, answered_at)

    def _prepare(
        self,
        delivery: Delivery,
        messages: dict[int, _Prepared],
        now: float,
        token: ProviderToken | None,
    ) -> Request | Outcome:
        """The request for one delivery, or its outcome when it must not be sent."""
        message = delivery.message
        prepared = messages.get(id(message))
        if prepared is None:
            prepared = messages[id(message)] = self._prepare_message(message, token)
        if isinstance(prepared, str):
            return outcomes.rejected(prepared)
        device_token = delivery.device.token
        if not _is_hex(device_token):
            return outcomes.invalid_token("BadDeviceToken: the token is not hexadecimal")
        if ttl_to_send(delivery, now) is None:
            return outcomes.rejected("expired before it could be sent")
        # §1.2: an apns-expiration of 0 is one attempt, not stored: "now or never".
        expiration = 0 if delivery.now_or_never else delivery.expires_at // 1000
        shared_body, limit, shared, collapse_field = prepared
        body = with_identity(shared_body, delivery.identity)
        if len(body) > limit:
            return outcomes.rejected(f"payload too large: {len(body)} bytes, APNs takes {limit}")
        # §1.2: apns-id is the lowercase canonical UUID.
        headers = [
            (b"apns-id", delivery.delivery_id.lower().encode()),
            (b"apns-expiration", b"%d" % expiration),
        ]
        if collapse_field is not None:
            headers.append(collapse_field)
        return (DEVICE_PATH + device_token.encode(), headers, body, shared)

    def _prepare_message(self, message: Message, token: ProviderToken | None) -> _Prepared:
        """What every request of ``message`` repeats, rendered once per batch."""
        try:
            push = render_push(message, self._bundle_id)
        except PayloadRefused as refused:
            return str(refused)
        collapse_id = push.collapse_id
        field = None if collapse_id is None else (b"apns-collapse-id", collapse_id.encode())
        return push.body, push.limit, self._shared_headers(push, token), field

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
