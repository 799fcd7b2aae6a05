"""WNS simulator: the login.live.com token endpoint and channel URIs (docs/providers.md §4).

``POST /accesstoken.srf`` issues 86400-second tokens to registered clients;
``POST /w/<channel id>`` is a channel URI minted by :meth:`WnsSimulator.create_channel`
(or ``POST /_sim/wns/channels``). Channel URIs point at the simulator, not at
``*.notify.windows.com``: a sender that pins the WNS domain must allow the simulator's host.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from pushgate.simulators.base import Fault, SimRequest, SimResponse, Simulator
from pushgate.simulators.client_credentials import (
    ClientCredentialsIssuer,
    GrantError,
    IssuedToken,
    TokenState,
    parse_form,
)

LOGIN_PATH = "/accesstoken.srf"
CHANNEL_PREFIX = "/w/"
TOKEN_LIFETIME = 86400  # §4.1
SCOPE = "notify.windows.com"
MAX_PAYLOAD_BYTES = 5000  # §4.3
CHANNEL_LIFETIME = 30 * 24 * 60 * 60  # §4.2: channels expire after 30 days
# §4.3: toast, tile and badge carry XML; raw carries bytes.
CONTENT_TYPES = {
    "wns/toast": "text/xml",
    "wns/tile": "text/xml",
    "wns/badge": "text/xml",
    "wns/raw": "application/octet-stream",
}
TAG_PATTERN = re.compile(r"[A-Za-z0-9]{1,16}")


@dataclass(slots=True)
class Channel:
    """A channel URI issued to one app instance."""

    channel_id: str
    client_id: str | None
    expires_at: float
    connected: bool = True


class WnsSimulator(Simulator):
    """WNS token endpoint and channel endpoint with X-WNS-* answers."""

    name = "wns"

    def __init__(self) -> None:
        super().__init__()
        self.issuer = ClientCredentialsIssuer(TOKEN_LIFETIME, required_scope=SCOPE)
        self.channels: dict[str, Channel] = {}

    # -- Python API -------------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self.channels.clear()
        self.issuer.clear_tokens()

    def register_credentials(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Register a client (Package SID ``ms-app://…`` and secret)."""
        self.issuer.register(str(payload["client_id"]), str(payload["client_secret"]))
        return {"client_id": payload["client_id"], "token_url": f"{self.base_url}{LOGIN_PATH}"}

    def create_channel(
        self,
        client_id: str | None = None,
        *,
        expires_at: float | None = None,
        connected: bool = True,
    ) -> str:
        """Mint a channel URI; bound to ``client_id`` when given (403 for other apps)."""
        channel_id = secrets.token_urlsafe(32)
        expiry = time.time() + CHANNEL_LIFETIME if expires_at is None else expires_at
        self.channels[channel_id] = Channel(channel_id, client_id, expiry, connected)
        return f"{self.base_url}{CHANNEL_PREFIX}{channel_id}"

    def expire_tokens(self) -> None:
        """Every issued access token is expired from now on (401 until a new one is used)."""
        self.issuer.expire_all()

    # -- HTTP -------------------------------------------------------------------------
    async def handle_control(self, request: SimRequest) -> SimResponse:
        route = (request.method, request.path)
        if route == ("POST", "/_sim/wns/channels"):
            try:
                payload = request.json() if request.body else {}
                expires_at = payload.get("expires_at")
                uri = self.create_channel(
                    payload.get("client_id"),
                    expires_at=None if expires_at is None else float(expires_at),
                    connected=bool(payload.get("connected", True)),
                )
            except (ValueError, TypeError, AttributeError) as exc:
                return SimResponse.json(400, {"error": f"bad channel request: {exc}"})
            return SimResponse.json(201, {"channel_uri": uri})
        if route == ("POST", "/_sim/wns/expire-tokens"):
            self.expire_tokens()
            return SimResponse.json(200, {"ok": True})
        return await super().handle_control(request)

    async def handle_provider(self, request: SimRequest) -> SimResponse:
        path = request.path.split("?", 1)[0]
        if path == LOGIN_PATH and request.method == "POST":
            return self._issue_token(request)
        if not path.startswith(CHANNEL_PREFIX):
            return wns_error(404, "The channel URI is not valid.")
        if request.method != "POST":
            return wns_error(405, "Only POST is supported for this channel.")
        channel_id = path[len(CHANNEL_PREFIX) :]
        fault = self.take_fault(channel_id)
        await self.apply_latency(fault)
        if fault is not None and fault.action is not None:
            return SimResponse(500, action=fault.action)
        if fault is not None and fault.status is not None:
            return _fault_answer(fault, request)
        return self._send(request, channel_id)

    def _issue_token(self, request: SimRequest) -> SimResponse:
        outcome = self.issuer.issue(parse_form(request.body))
        if isinstance(outcome, GrantError):
            # RFC 6749 §5.2 error body, as login.live.com answers it.
            description = f"The request failed: {outcome.value}"
            return SimResponse.json(400, {"error": outcome.value, "error_description": description})
        return SimResponse.json(
            200,
            {"access_token": outcome.value, "token_type": "bearer", "expires_in": TOKEN_LIFETIME},
        )

    def _send(self, request: SimRequest, channel_id: str) -> SimResponse:
        refusal = self._check_auth(request, channel_id)
        if refusal is not None:
            return refusal
        headers = _check_headers(request)
        if isinstance(headers, SimResponse):
            return headers
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return wns_error(413, f"The payload exceeds {MAX_PAYLOAD_BYTES} bytes.", request)
        channel = self.channels[channel_id]
        message_id = secrets.token_hex(8)  # §4.4: X-WNS-Msg-ID is at most 16 characters
        status = "received"
        if not channel.connected and headers["x-wns-type"] != "wns/raw":
            status = "dropped"  # §4.4: "dropped" includes toasts to offline devices
        else:
            self.record(channel_id, headers, _body_value(request.body), message_id)
        answer = [("x-wns-status", status), ("x-wns-msg-id", message_id)]
        if headers.get("x-wns-requestforstatus") == "true":
            state = "connected" if channel.connected else "disconnected"
            answer.append(("x-wns-deviceconnectionstatus", state))
        return SimResponse(200, [*answer, *_trace_headers(request)])

    def _check_auth(self, request: SimRequest, channel_id: str) -> SimResponse | None:
        state, token = self.issuer.check(request.header("authorization"))
        if state is TokenState.EXPIRED:
            # §4.4, unconfirmed: the expired-token 401 carries a Bearer challenge naming the expiry.
            challenge = 'Bearer error="invalid_request",error_description="Token expired"'
            return wns_error(
                401, "The access token has expired.", request, [("www-authenticate", challenge)]
            )
        if state is not TokenState.VALID:
            return wns_error(401, "The access token is missing or not valid.", request)
        channel = self.channels.get(channel_id)
        if channel is None:
            return wns_error(404, "The channel URI is not valid.", request)
        if self.is_dead(channel_id) is not None or channel.expires_at <= time.time():
            return wns_error(410, "The channel has expired.", request)
        if not _is_channel_owner(channel, token):
            return wns_error(403, "The access token does not belong to the channel's app.", request)
        return None


def _is_channel_owner(channel: Channel, token: IssuedToken | None) -> bool:
    return channel.client_id is None or (token is not None and token.client_id == channel.client_id)


def _check_headers(request: SimRequest) -> dict[str, str] | SimResponse:
    """§4.3 header rules; the headers worth recording, or a 400."""
    if request.header("transfer-encoding") is not None:
        return wns_error(400, "Chunked requests are not supported; send Content-Length.", request)
    wns_type = (request.header("x-wns-type") or "").strip().lower()
    if wns_type not in CONTENT_TYPES:
        return wns_error(400, "X-WNS-Type is missing or not valid.", request)
    content_type = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
    if content_type != CONTENT_TYPES[wns_type]:
        message = f"{wns_type} requires Content-Type {CONTENT_TYPES[wns_type]}."
        return wns_error(400, message, request)
    kept = {"x-wns-type": wns_type, "content-type": content_type}
    optional = {
        "x-wns-cache-policy": ("cache", "no-cache"),
        "x-wns-requestforstatus": ("true", "false"),
    }
    for name, allowed in optional.items():
        value = request.header(name)
        if value is not None and value.strip().lower() not in allowed:
            return wns_error(400, f"{name} must be one of {', '.join(allowed)}.", request)
        if value is not None:
            kept[name] = value.strip().lower()
    return _check_tag_and_ttl(request, kept)


def _check_tag_and_ttl(request: SimRequest, kept: dict[str, str]) -> dict[str, str] | SimResponse:
    tag = request.header("x-wns-tag")
    if tag is not None:
        if kept["x-wns-type"] != "wns/tile" or TAG_PATTERN.fullmatch(tag) is None:
            return wns_error(400, "X-WNS-Tag is for tiles only, 1-16 alphanumerics.", request)
        kept["x-wns-tag"] = tag
    ttl = request.header("x-wns-ttl")
    if ttl is not None:
        if not ttl.strip().isdigit():
            return wns_error(400, "X-WNS-TTL must be an integer number of seconds.", request)
        kept["x-wns-ttl"] = ttl.strip()
    return kept


def _trace_headers(request: SimRequest | None) -> list[tuple[str, str]]:
    """X-WNS-Debug-Trace and MS-CV (echoed when sent, else generated) on every answer."""
    correlation = (request.header("ms-cv") if request is not None else None) or (
        secrets.token_urlsafe(12) + ".0"
    )
    return [("x-wns-debug-trace", "SIM" + secrets.token_hex(6).upper()), ("ms-cv", correlation)]


def wns_error(
    status: int,
    description: str,
    request: SimRequest | None = None,
    extra: list[tuple[str, str]] | None = None,
) -> SimResponse:
    """A WNS error: empty body, the reason in X-WNS-Error-Description (§4.4)."""
    headers = [("x-wns-error-description", description), *_trace_headers(request), *(extra or [])]
    return SimResponse(status, headers)


def _fault_answer(fault: Fault, request: SimRequest) -> SimResponse:
    status = fault.status or 500
    extra: list[tuple[str, str]] = []
    if fault.retry_after is not None:
        # §4.4: a throttled sender (406) is told when to continue.
        name = "x-wns-continue-after" if status == 406 else "retry-after"
        extra.append((name, str(fault.retry_after)))
    if status == 401 and fault.reason == "expired":
        challenge = 'Bearer error="invalid_request",error_description="Token expired"'
        extra.append(("www-authenticate", challenge))
    return wns_error(status, fault.reason or "Scripted failure.", request, extra)


def _body_value(body: bytes) -> Any:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return {"hex": body.hex()}
