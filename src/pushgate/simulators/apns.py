"""The APNs simulator: Apple's HTTP/2 provider API as docs/providers.md §1 describes it.

``POST /3/device/<token>`` is checked header by header (§1.2–§1.4), provider tokens are
verified per key and team (§1.5) with token age, the 20-minute refresh rule and the
binding of a connection to its first team; certificate connections read topics and
environment from the client certificate. A token connection advertises one concurrent
stream until its first valid provider token, then ``max_concurrent_streams``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pushgate.simulators import apns_rules as rules
from pushgate.simulators.apns_rules import Rejected
from pushgate.simulators.apns_tokens import ProviderKey, ProviderTokenVerifier, TokenRejected
from pushgate.simulators.base import ConnectionInfo, Fault, SimRequest, SimResponse, Simulator

TOKEN_MAX_AGE = 3600  # iat older than one hour → ExpiredProviderToken (§1.5)
TOKEN_MIN_REFRESH = 20 * 60  # new tokens more often → TooManyProviderTokenUpdates
_DEFAULT_FAULT_REASONS = {
    400: "BadDeviceToken",
    403: "Forbidden",
    410: "Unregistered",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """What the simulator knows about a device token: its app and environment."""

    bundle_id: str | None
    environment: str | None


class ApnsSimulator(Simulator):
    """Apple Push Notification service stand-in (docs/providers.md §1.8)."""

    name = "apns"

    def __init__(
        self,
        *,
        max_concurrent_streams: int = 1000,
        environment: str = "production",
        max_received_per_token: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.max_concurrent_streams = max_concurrent_streams
        self.environment = environment
        self.max_received_per_token = max_received_per_token
        self.clock = clock
        self.tokens = ProviderTokenVerifier()
        self.devices: dict[str, DeviceRecord] = {}

    # -- Python API ------------------------------------------------------------------
    def register_credentials(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Register a signing key: ``key_id``, ``team_id``, ``public_key_pem`` (or the .p8
        itself), optional ``topics`` (bundle IDs) and ``environment``."""
        key = ProviderKey.from_payload(payload)
        self.tokens.register(key)
        return {"key_id": key.key_id, "team_id": key.team_id}

    def register_device(
        self, token: str, bundle_id: str | None = None, environment: str | None = None
    ) -> None:
        """Tie a device token to an app and environment (for DeviceTokenNotForTopic and
        BadDeviceToken); unknown tokens are accepted for any app."""
        self.devices[token] = DeviceRecord(bundle_id, environment)

    def reset(self) -> None:
        super().reset()
        self.devices.clear()

    def connection_opened(self, info: ConnectionInfo) -> None:
        # One stream until a valid provider token (§1.5); certificate connections are
        # authenticated by the TLS handshake already.
        has_certificate = info.peer_certificate_der is not None
        info.max_concurrent_streams = self.max_concurrent_streams if has_certificate else 1

    # -- HTTP ------------------------------------------------------------------------
    async def handle_control(self, request: SimRequest) -> SimResponse:
        if (request.method, request.path) == ("POST", "/_sim/apns/devices"):
            payload = request.json()
            self.register_device(
                str(payload["token"]), payload.get("bundle_id"), payload.get("environment")
            )
            return SimResponse.json(201, {"ok": True})
        return await super().handle_control(request)

    async def handle_provider(self, request: SimRequest) -> SimResponse:
        # Every answer carries apns-id, echoed or generated (§1.6); clients such as
        # aioapns match error bodies to requests by it.
        apns_id = rules.valid_apns_id(request.header("apns-id")) or str(uuid.uuid4())
        try:
            token = rules.device_token(request.method, request.path)
            fault = self.take_fault(token)
            if fault is not None:
                await self.apply_latency(fault)
                if fault.reason == "ExpiredProviderToken" and request.connection is not None:
                    _forget_expired_token(request.connection)
                if fault.status is not None or fault.action is not None:
                    return self._fault_response(fault, apns_id)
            return self._deliver(request, token, apns_id)
        except Rejected as rejected:
            self.counters[f"rejected_{rejected.reason}"] += 1
            return SimResponse.json(
                rejected.status, {"reason": rejected.reason}, [("apns-id", apns_id)]
            )

    def _deliver(self, request: SimRequest, token: str, apns_id: str) -> SimResponse:
        headers = rules.header_map(request.headers)
        info = request.connection or ConnectionInfo()
        if info.peer_certificate_der is not None:
            allowed_topics = self._certificate_topics(info, info.peer_certificate_der)
            default_topic = allowed_topics[0] if len(allowed_topics) == 1 else None
            push = rules.push_headers(headers, default_topic)
            if push.topic not in allowed_topics and push.bundle_id not in allowed_topics:
                raise Rejected(400, "TopicDisallowed")
            if push.push_type in rules.CERTIFICATE_PUSH_TYPES_EXCLUDED:
                raise Rejected(400, "InvalidPushType")
        else:
            key = self._authenticate(headers.get("authorization"), info)
            push = rules.push_headers(headers, None)
            if key.topics is not None and push.bundle_id not in key.topics:
                raise Rejected(400, "TopicDisallowed")
        body = rules.payload(request.body, push.push_type)
        self._check_device(token, push.bundle_id)
        since = self.is_dead(token)
        if since is not None:
            gone = {"reason": "Unregistered", "timestamp": int(since * 1000)}
            return SimResponse.json(410, gone, [("apns-id", apns_id)])
        self._record(token, headers, body, apns_id)
        return SimResponse(200, self._success_headers(apns_id))

    def _authenticate(self, authorization: str | None, info: ConnectionInfo) -> ProviderKey:
        """Check the provider token and the connection rules bound to it (§1.5)."""
        if not authorization:
            raise Rejected(403, "MissingProviderToken")
        scheme, _, jwt = authorization.partition(" ")
        if scheme.lower() != "bearer" or not jwt:
            raise Rejected(403, "InvalidProviderToken")
        try:
            verified = self.tokens.verify(jwt)
        except TokenRejected as rejected:
            raise Rejected(403, rejected.reason) from None
        key = verified.key
        if key.environment is not None and key.environment != self.environment:
            raise Rejected(403, "BadEnvironmentKeyIdInToken")
        if self.clock() - verified.issued_at > TOKEN_MAX_AGE:
            _forget_expired_token(info)
            raise Rejected(403, "ExpiredProviderToken")
        state = info.state
        team = state.setdefault("team_id", key.team_id)
        if team != key.team_id:
            raise Rejected(403, "UnrelatedKeyIdInToken")
        # A token is "new" when its key or iat changes; ES256 signatures are randomised,
        # so re-signing the same claims is not counted as an update.
        generation = (key.key_id, verified.issued_at)
        current = state.get("token")
        if current != generation:
            if current is not None and verified.issued_at - current[1] < TOKEN_MIN_REFRESH:
                raise Rejected(429, "TooManyProviderTokenUpdates")
            state["token"] = generation
        if info.max_concurrent_streams == 1:
            info.max_concurrent_streams = self.max_concurrent_streams
        return key

    def _certificate_topics(self, info: ConnectionInfo, der: bytes) -> tuple[str, ...]:
        identity = info.state.get("certificate")
        if identity is None:
            identity = info.state["certificate"] = rules.certificate_identity(der)
        if identity.environment != self.environment:
            raise Rejected(403, "BadCertificateEnvironment")
        topics: tuple[str, ...] = identity.topics
        return topics

    def _check_device(self, token: str, bundle_id: str) -> None:
        rules.check_device_token_format(token)
        device = self.devices.get(token)
        if device is None:
            return
        if device.environment is not None and device.environment != self.environment:
            raise Rejected(400, "BadDeviceToken")  # a token of the other environment (§1.6)
        if device.bundle_id is not None and device.bundle_id != bundle_id:
            raise Rejected(400, "DeviceTokenNotForTopic")

    def _record(self, token: str, headers: dict[str, str], body: Any, apns_id: str) -> None:
        items = self.received[token]
        if len(items) >= self.max_received_per_token:
            del items[0]  # keep memory bounded under load tests
        self.record(token, headers, body, apns_id)

    def _success_headers(self, apns_id: str) -> list[tuple[str, str]]:
        headers = [("apns-id", apns_id)]
        if self.environment == "sandbox":
            headers.append(("apns-unique-id", str(uuid.uuid4())))  # sandbox only (§1.6)
        return headers

    def _fault_response(self, fault: Fault, apns_id: str) -> SimResponse:
        self.counters["faults"] += 1
        if fault.action in ("reset", "goaway"):
            return SimResponse(503, action=fault.action, goaway_reason=fault.reason or "Shutdown")
        status = fault.status or 503
        reason = fault.reason or _DEFAULT_FAULT_REASONS.get(status, "InternalServerError")
        payload: dict[str, Any] = {"reason": reason}
        if status == 410:
            payload["timestamp"] = int(time.time() * 1000)
        extra = [("apns-id", apns_id)]
        if fault.retry_after:
            extra.append(("retry-after", str(fault.retry_after)))
        return SimResponse.json(status, payload, extra)


def _forget_expired_token(info: ConnectionInfo) -> None:
    """A token APNs called expired is to be replaced at once (§1.5: "mint new JWT, retry"):
    its successor does not count against the 20-minute rule."""
    info.state.pop("token", None)
