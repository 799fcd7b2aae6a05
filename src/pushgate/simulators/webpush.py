"""Web Push simulator: plays a browser's push service (RFC 8030) and the browser behind it.

``POST /_sim/webpush/subscriptions`` mints a subscription the way ``pushManager.subscribe``
does; the endpoint ``POST /wp/<id>`` then takes RFC 8030 requests, checks VAPID
(RFC 8292) and decrypts the RFC 8291 body with the key pair the simulator kept.
Error answers follow Mozilla autopush, whose bodies are JSON
``{"code", "errno", "error", "message"}`` (autopush "Error Codes" page).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pushgate.simulators import ece, vapid
from pushgate.simulators.base import Fault, SimRequest, SimResponse, Simulator

ENDPOINT_PREFIX = "/wp/"
MAX_BODY_BYTES = 4096  # RFC 8030 §7.2: a push service must accept at least 4096 bytes
URGENCIES = frozenset({"very-low", "low", "normal", "high"})  # RFC 8030 §5.3
TOPIC_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")  # RFC 8030 §5.4: base64url, ≤ 32 chars
DEFAULT_MAX_TTL = 60 * 24 * 60 * 60  # a service may lower TTL and echo it (RFC 8030 §5.2)

# autopush errno values for the answers below; 999 (unconfirmed) where autopush names none
ERRNO = {400: 110, 401: 109, 403: 109, 404: 102, 410: 103, 413: 104, 429: 999}


@dataclass(slots=True)
class Subscription:
    """One push subscription: what the browser keeps private and what it hands out."""

    subscription_id: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    application_server_key: str | None
    expires_at: float | None

    @property
    def p256dh(self) -> str:
        public = self.private_key.public_key()
        return ece.b64url_encode(public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


def error(
    status: int,
    message: str,
    *,
    errno: int | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> SimResponse:
    """An autopush-shaped error answer."""
    payload = {
        "code": status,
        "errno": errno if errno is not None else ERRNO.get(status, 999),
        "error": HTTPStatus(status).phrase,
        "message": message,
    }
    return SimResponse.json(status, payload, headers)


class WebPushSimulator(Simulator):
    """A push service plus browser: subscriptions, RFC 8030 checks, VAPID, decryption."""

    name = "webpush"

    def __init__(self, *, max_ttl: int = DEFAULT_MAX_TTL) -> None:
        super().__init__()
        self.max_ttl = max_ttl
        self.subscriptions: dict[str, Subscription] = {}
        self.default_application_server_key: str | None = None
        self.decrypt_errors: list[dict[str, str]] = []
        self.verified_tokens = vapid.VerifiedTokens()

    # -- Python API -------------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self.subscriptions.clear()
        self.decrypt_errors.clear()
        self.verified_tokens.expiry.clear()

    def register_credentials(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Register the VAPID public key new subscriptions are bound to by default."""
        key = str(payload["public_key"])
        _check_application_server_key(key)
        self.default_application_server_key = key
        return {"public_key": key}

    def create_subscription(
        self, application_server_key: str | None = None, *, expires_at: float | None = None
    ) -> dict[str, Any]:
        """Mint a subscription as ``pushManager.subscribe`` would; returns its JSON form."""
        if not self.base_url:
            raise ValueError("the simulator must be started before it can mint endpoints")
        key = application_server_key or self.default_application_server_key
        if key is not None:
            _check_application_server_key(key)
        subscription = Subscription(
            subscription_id=secrets.token_urlsafe(24),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=os.urandom(16),
            application_server_key=key,
            expires_at=expires_at,
        )
        self.subscriptions[subscription.subscription_id] = subscription
        return self.subscription_json(subscription)

    def subscription_json(self, subscription: Subscription) -> dict[str, Any]:
        """The W3C ``PushSubscription.toJSON()`` shape."""
        expiration = (
            None if subscription.expires_at is None else int(subscription.expires_at * 1000)
        )
        return {
            "endpoint": f"{self.base_url}{ENDPOINT_PREFIX}{subscription.subscription_id}",
            "expirationTime": expiration,
            "keys": {
                "p256dh": subscription.p256dh,
                "auth": ece.b64url_encode(subscription.auth_secret),
            },
        }

    def unsubscribe(self, endpoint_or_id: str) -> None:
        """The browser dropped the subscription: later sends answer 410."""
        self.mark_dead(endpoint_or_id.rsplit("/", 1)[-1])

    def received_for(self, endpoint_or_id: str) -> list[Any]:
        """Decrypted payloads received for one subscription, oldest first."""
        return [item.body for item in self.received.get(endpoint_or_id.rsplit("/", 1)[-1], [])]

    # -- HTTP -------------------------------------------------------------------------
    async def handle_control(self, request: SimRequest) -> SimResponse:
        if (request.method, request.path) == ("POST", "/_sim/webpush/subscriptions"):
            try:
                payload = request.json() if request.body else {}
                expires_at = payload.get("expires_at")
                subscription = self.create_subscription(
                    payload.get("applicationServerKey"),
                    expires_at=None if expires_at is None else float(expires_at),
                )
            except (ValueError, TypeError, AttributeError) as exc:
                return SimResponse.json(400, {"error": str(exc)})
            return SimResponse.json(201, subscription)
        return await super().handle_control(request)

    async def handle_provider(self, request: SimRequest) -> SimResponse:
        path = request.path.split("?", 1)[0]
        if not path.startswith(ENDPOINT_PREFIX):
            return error(404, "no such push resource", errno=102)
        if request.method != "POST":
            return error(405, "push messages are sent with POST")
        subscription_id = path[len(ENDPOINT_PREFIX) :]
        fault = self.take_fault(subscription_id)
        await self.apply_latency(fault)
        if fault is not None and fault.action is not None:
            return SimResponse(500, action=fault.action)
        if fault is not None and fault.status is not None:
            return _fault_answer(fault)
        return self._deliver(request, subscription_id)

    def _deliver(self, request: SimRequest, subscription_id: str) -> SimResponse:
        subscription = self._live_subscription(subscription_id)
        if isinstance(subscription, SimResponse):
            return subscription
        rejection = self._check_vapid(request, subscription)
        if rejection is not None:
            return rejection
        headers = _check_headers(request)
        if isinstance(headers, SimResponse):
            return headers
        if len(request.body) > MAX_BODY_BYTES:
            return error(413, f"payload of {len(request.body)} bytes exceeds {MAX_BODY_BYTES}")
        ttl = min(int(headers["ttl"]), self.max_ttl)
        headers["ttl"] = str(ttl)
        message_id = secrets.token_urlsafe(16)
        self._record_plaintext(subscription, headers, request.body, message_id)
        location = f"{self.base_url}/m/{message_id}"
        return SimResponse(201, [("location", location), ("ttl", str(ttl))])

    def _live_subscription(self, subscription_id: str) -> Subscription | SimResponse:
        """The subscription, or the push service's refusal of it."""
        if self.is_dead(subscription_id) is not None:
            return error(410, "subscription is no longer valid", errno=106)
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            return error(404, "subscription not found", errno=102)
        if subscription.expires_at is not None and subscription.expires_at <= time.time():
            return error(404, "subscription expired", errno=102)
        return subscription

    def _check_vapid(self, request: SimRequest, subscription: Subscription) -> SimResponse | None:
        header = request.header("authorization")
        restricted = subscription.application_server_key is not None
        # RFC 8292 §4: only restricted subscriptions demand VAPID; others check it if sent.
        if header is None and not restricted:
            return None
        parsed = vapid.parse_authorization(header)
        if isinstance(parsed, vapid.VapidRejection):
            # Another scheme is no VAPID at all, which only a restricted subscription minds.
            if parsed.status == 401 and not restricted:
                return None
            return error(parsed.status, parsed.message)
        # RFC 8292 §2: aud is the origin of the push resource, which is the base URL here.
        rejection = self.verified_tokens.check(
            parsed,
            origin=self.base_url,
            subscription_key=subscription.application_server_key,
            now=time.time(),
        )
        return None if rejection is None else error(rejection.status, rejection.message)

    def _record_plaintext(
        self, subscription: Subscription, headers: dict[str, str], body: bytes, message_id: str
    ) -> None:
        # The push service cannot see inside the body: a message that fails to decrypt is
        # still accepted (201) and silently dropped by the browser, as a real one would.
        if not body:
            self.record(subscription.subscription_id, headers, None, message_id)
            return
        try:
            plaintext = ece.decrypt(body, subscription.private_key, subscription.auth_secret)
        except ece.EceError as exc:
            self.counters["decrypt_failed"] += 1
            self.decrypt_errors.append(
                {"subscription": subscription.subscription_id, "error": str(exc)}
            )
            return
        self.record(subscription.subscription_id, headers, _as_json_value(plaintext), message_id)


def _check_headers(request: SimRequest) -> dict[str, str] | SimResponse:
    """RFC 8030 §5 headers and the RFC 8188 content coding; the kept headers or a 400."""
    ttl_values = request.header_values("ttl")
    if len(ttl_values) != 1 or not ttl_values[0].strip().isdigit():
        return error(400, "a single non-negative integer TTL header is required", errno=111)
    kept = {"ttl": ttl_values[0].strip()}
    urgency = request.header_values("urgency")
    if urgency:
        if len(urgency) != 1 or urgency[0].strip() not in URGENCIES:
            return error(400, "Urgency must be one of very-low, low, normal, high", errno=112)
        kept["urgency"] = urgency[0].strip()
    topic = request.header_values("topic")
    if topic:
        if len(topic) != 1 or TOPIC_PATTERN.fullmatch(topic[0]) is None:
            return error(400, "Topic must be at most 32 base64url characters", errno=113)
        kept["topic"] = topic[0]
    encoding = request.header("content-encoding")
    if request.body and encoding is None:
        return error(400, "an encrypted body needs Content-Encoding: aes128gcm", errno=101)
    # RFC 8291 §4 allows only aes128gcm; the older draft "aesgcm" coding is refused.
    if request.body and encoding is not None and encoding.strip().lower() != "aes128gcm":
        return error(400, f"unsupported Content-Encoding {encoding!r}; use aes128gcm", errno=110)
    if encoding is not None:
        kept["content-encoding"] = encoding.strip().lower()
    return kept


def _fault_answer(fault: Fault) -> SimResponse:
    extra = [] if fault.retry_after is None else [("retry-after", str(fault.retry_after))]
    message = fault.reason or HTTPStatus(fault.status or 500).phrase
    return error(fault.status or 500, message, headers=extra)


def _check_application_server_key(key: str) -> None:
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ece.b64url_decode(key))
    except ValueError as exc:
        raise ValueError("applicationServerKey must be a base64url P-256 public key") from exc


def _as_json_value(plaintext: bytes) -> Any:
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64url": ece.b64url_encode(plaintext)}
