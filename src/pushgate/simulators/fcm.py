"""The FCM simulator: Firebase Cloud Messaging HTTP v1 (docs/providers.md §2).

Serves Google's OAuth2 token endpoint at ``/token`` (HTTP/1.1, which google-auth uses
through requests, or HTTP/2) and ``POST /v1/projects/{id}/messages:send`` with bearer
token checks, message rules, per-project quota, dead and foreign tokens, scripted faults
and Google's error bodies.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from typing import Any

import orjson

from pushgate.simulators.base import Fault, SimRequest, SimResponse, Simulator
from pushgate.simulators.fcm_message import (
    QUOTA_FAILURE_TYPE,
    UNAUTHENTICATED_MESSAGE,
    FcmRejected,
    check_message,
    parse_request,
)
from pushgate.simulators.fcm_oauth import OAUTH_PATH, TokenIssuer

_SEND_PATH = re.compile(r"/v1/projects/([^/]+)/messages:send")
_QUOTA_WINDOW = 60.0  # the send quota is per minute, windows not clock-aligned (§2.4)
_FAULT_CODES = {
    400: "INVALID_ARGUMENT",
    401: "THIRD_PARTY_AUTH_ERROR",
    403: "SENDER_ID_MISMATCH",
    404: "UNREGISTERED",
    429: "QUOTA_EXCEEDED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class FcmSimulator(Simulator):
    """Firebase Cloud Messaging HTTP v1 stand-in (docs/providers.md §2.7)."""

    name = "fcm"

    def __init__(self, *, max_received_per_token: int = 1000) -> None:
        super().__init__()
        self.oauth = TokenIssuer()
        self.quotas: dict[str, int] = {}
        self.quota_windows: dict[str, tuple[float, int]] = {}
        self.device_projects: dict[str, str] = {}
        self.max_received_per_token = max_received_per_token

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}{OAUTH_PATH}"

    # -- Python API ------------------------------------------------------------------
    def register_credentials(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Register a service account (its JSON, or ``client_email``, ``project_id`` and
        ``public_key_pem``); answers the e-mail and the token URI to use."""
        account = self.oauth.register(payload)
        return {"client_email": account.client_email, "token_uri": self.token_uri}

    def set_quota(self, project_id: str, messages_per_minute: int | None) -> None:
        """Enforce a per-minute send quota for one project (None removes it)."""
        if messages_per_minute is None:
            self.quotas.pop(project_id, None)
        else:
            self.quotas[project_id] = messages_per_minute
        self.quota_windows.pop(project_id, None)

    def register_device(self, token: str, project_id: str) -> None:
        """Tie a registration token to its sender project (SENDER_ID_MISMATCH elsewhere)."""
        self.device_projects[token] = project_id

    def reset(self) -> None:
        super().reset()
        self.quota_windows.clear()
        self.device_projects.clear()

    # -- HTTP ------------------------------------------------------------------------
    async def handle_control(self, request: SimRequest) -> SimResponse:
        route = (request.method, request.path)
        if route == ("POST", "/_sim/fcm/quota"):
            payload = request.json()
            self.set_quota(str(payload["project_id"]), payload.get("messages_per_minute"))
            return SimResponse.json(200, {"ok": True})
        if route == ("POST", "/_sim/fcm/devices"):
            payload = request.json()
            self.register_device(str(payload["token"]), str(payload["project_id"]))
            return SimResponse.json(201, {"ok": True})
        return await super().handle_control(request)

    async def handle_provider(self, request: SimRequest) -> SimResponse:
        if request.path == OAUTH_PATH:
            return self.oauth.grant(request, self.token_uri)
        match = _SEND_PATH.fullmatch(request.path)
        if match is None or request.method != "POST":
            return _error(FcmRejected(404, "NOT_FOUND", "Requested entity was not found."))
        try:
            return await self._send(request, match.group(1))
        except FcmRejected as rejected:
            self.counters[f"rejected_{rejected.error_code or rejected.google_status}"] += 1
            return _error(rejected, rejected.headers)

    async def _send(self, request: SimRequest, project_id: str) -> SimResponse:
        self._authorize(request.header("authorization"), project_id)
        self._charge_quota(project_id)
        try:
            document = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            raise FcmRejected.invalid("Invalid JSON payload received.") from None
        message, validate_only = parse_request(document)
        kind, target = check_message(message)
        fault = self.take_fault(target)
        if fault is not None:
            await self.apply_latency(fault)
            if fault.status is not None or fault.action is not None:
                return self._fault_response(fault)
        if kind == "token":
            self._check_token(target, project_id)
        if validate_only:
            return SimResponse.json(
                200, {"name": f"projects/{project_id}/messages/fake_message_id"}
            )
        name = f"projects/{project_id}/messages/0:{time.time_ns() // 1000}%{secrets.token_hex(8)}"
        self._record(_record_key(kind, target), dict(request.headers), message, name)
        return SimResponse.json(200, {"name": name})

    def _authorize(self, authorization: str | None, project_id: str) -> None:
        token = self.oauth.lookup(authorization)
        if token is None:
            raise FcmRejected(401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE)
        if not token.can_send():
            raise FcmRejected(
                403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."
            )
        if token.account.project_id != project_id:
            raise FcmRejected(
                403,
                "PERMISSION_DENIED",
                f"Permission 'cloudmessaging.messages.create' denied on resource "
                f"'//cloudresourcemanager.googleapis.com/projects/{project_id}' "
                "(or it may not exist).",
            )

    def _charge_quota(self, project_id: str) -> None:
        limit = self.quotas.get(project_id)
        if limit is None:
            return
        now = time.monotonic()
        started, used = self.quota_windows.get(project_id, (now, 0))
        if now - started >= _QUOTA_WINDOW:
            started, used = now, 0
        if used >= limit:
            retry_after = max(1, math.ceil(started + _QUOTA_WINDOW - now))
            rejected = FcmRejected.of("QUOTA_EXCEEDED")
            rejected.headers = [("retry-after", str(retry_after))]
            raise rejected
        self.quota_windows[project_id] = (started, used + 1)

    def _check_token(self, token: str, project_id: str) -> None:
        if self.is_dead(token) is not None:
            raise FcmRejected.of("UNREGISTERED")
        owner = self.device_projects.get(token)
        if owner is not None and owner != project_id:
            raise FcmRejected.of("SENDER_ID_MISMATCH")

    def _record(self, key: str, headers: dict[str, str], message: Any, name: str) -> None:
        items = self.received[key]
        if len(items) >= self.max_received_per_token:
            del items[0]  # keep memory bounded under load tests
        self.record(key, headers, message, name)

    def _fault_response(self, fault: Fault) -> SimResponse:
        self.counters["faults"] += 1
        if fault.action in ("reset", "goaway"):
            return SimResponse(503, action=fault.action, goaway_reason=fault.reason)
        status = fault.status or 503
        code = fault.reason or _FAULT_CODES.get(status, "INTERNAL")
        if code == "UNAUTHENTICATED":
            rejected = FcmRejected(401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE)
        else:
            rejected = (
                FcmRejected.of(code)
                if code in _FAULT_CODES.values()
                else (FcmRejected(status, "UNKNOWN", code))
            )
        extra = [("retry-after", str(fault.retry_after))] if fault.retry_after else []
        return _error(rejected, extra)


def _error(rejected: FcmRejected, headers: list[tuple[str, str]] | None = None) -> SimResponse:
    body = rejected.body()
    if rejected.error_code == "QUOTA_EXCEEDED":
        body["error"]["details"].append(
            {"@type": QUOTA_FAILURE_TYPE, "violations": [{"subject": "project"}]}
        )
    content_type = [("content-type", "application/json; charset=UTF-8")]
    return SimResponse(rejected.status, [*content_type, *(headers or [])], orjson.dumps(body))


def _record_key(kind: str, target: str) -> str:
    if kind == "topic":
        return f"/topics/{target}"
    return target if kind == "token" else f"condition:{target}"
