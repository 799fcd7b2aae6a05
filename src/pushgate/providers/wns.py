"""Windows Push Notification Services client (docs/providers.md §4).

A device's ``token`` is its channel URI. Requests go over HTTP/1.1 with ``Content-Length``
and no ``Expect: 100-continue`` (§4.3), authorised by an access token from the
client-credentials grant, cached until shortly before it expires; a 401 refreshes it once
and retries once (§4.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from pushgate.core.outcomes import (
    Outcome,
    RetryClass,
    auth_failed,
    invalid_token,
    rejected,
    retry,
    sent,
)
from pushgate.providers.base import Delivery, ProviderCredentials
from pushgate.providers.client_credentials import ClientCredentialsToken, TokenUnavailable
from pushgate.providers.http_client import (
    Answer,
    make_client,
    origin_of,
    post,
    retry_after,
    short_reason,
)
from pushgate.providers.options import ProviderOptions
from pushgate.providers.sending import send_each, ttl_to_send
from pushgate.providers.wns_payload import (
    MAX_PAYLOAD_BYTES,
    WnsNotification,
    WnsPayloadError,
    render,
)

KIND = "wns"
TOKEN_URL = "https://login.live.com/accesstoken.srf"  # noqa: S105 - §4.1, a URL
SCOPE = "notify.windows.com"
# §4.2: only send to hosts in this domain; the subdomain may change.
WNS_DOMAIN = "notify.windows.com"


class WnsProvider:
    """Sends toasts, tiles, badges and raw notifications to WNS channel URIs."""

    kind = KIND

    def __init__(self, credentials: ProviderCredentials, options: ProviderOptions) -> None:
        self.options = options
        self.client = make_client(options)  # channels and the token endpoint alike
        form = {
            "grant_type": "client_credentials",
            "client_id": str(credentials.public["package_sid"]),
            "client_secret": credentials.secret["client_secret"],
            "scope": SCOPE,
        }
        token_url = str(credentials.public.get("token_url") or TOKEN_URL)
        self.token = ClientCredentialsToken(self.client, token_url, form, options.clock)
        base_url = credentials.public.get("base_url")
        self.extra_origin = origin_of(str(base_url)) if base_url else None

    async def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        try:
            # One token for the whole batch; a failure is every delivery's outcome.
            await self.token.get()
        except TokenUnavailable as exc:
            return [exc.outcome for _ in batch]
        return await send_each(batch, self._send_one, self.options.concurrency)

    async def close(self) -> None:
        await self.client.aclose()

    def is_allowed_channel(self, uri: str) -> bool:
        """https in ``notify.windows.com`` (§4.2), the configured base URL's origin, or any
        http(s) URL when private targets are allowed (the simulator on loopback)."""
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        if self.options.allow_private_targets or origin_of(uri) == self.extra_origin:
            return True
        host = parts.hostname.lower().rstrip(".")
        return parts.scheme == "https" and (host == WNS_DOMAIN or host.endswith("." + WNS_DOMAIN))

    async def _send_one(self, delivery: Delivery) -> Outcome:
        try:
            notification = render(delivery.message, delivery.delivery_id, delivery.identity)
        except WnsPayloadError as exc:
            return rejected(str(exc))
        if len(notification.body) > MAX_PAYLOAD_BYTES:
            return rejected(
                f"payload of {len(notification.body)} bytes exceeds {MAX_PAYLOAD_BYTES} for WNS"
            )
        ttl = ttl_to_send(delivery, self.options.clock())
        if ttl is None:
            return rejected("expired before it could be sent")
        channel = delivery.device.token
        if not self.is_allowed_channel(channel):
            return rejected(f"channel URI is not in {WNS_DOMAIN}")
        try:
            answer = await self._post(channel, notification, ttl)
        except TokenUnavailable as exc:
            return exc.outcome
        return self._outcome(answer)

    async def _post(self, channel: str, notification: WnsNotification, ttl: int) -> Answer:
        """POST with the current token; on 401, once more with a fresh one (§4.4)."""
        for attempt in range(2):
            token = await self.token.get()
            headers = {
                "authorization": f"Bearer {token}",
                "content-type": notification.content_type,
                "x-wns-type": notification.wns_type,
                **_expiry_headers(ttl),
            }
            if notification.tag is not None:
                headers["x-wns-tag"] = notification.tag
            answer = await post(self.client, channel, content=notification.body, headers=headers)
            if answer.status != 401 or attempt == 1:
                return answer
            self.token.invalidate(token)
        raise AssertionError("unreachable")  # pragma: no cover

    def _outcome(self, answer: Answer) -> Outcome:
        """Map the answer per docs/providers.md §4.4."""
        status = answer.status
        detail = answer.headers.get("x-wns-error-description", "")
        if status == 200:
            return self._accepted(answer)
        if status in (404, 410):
            return invalid_token(short_reason(f"channel gone ({status})", detail), status=status)
        if status in (401, 403):
            return auth_failed(short_reason(f"WNS refused the token ({status})", detail), status)
        if status == 406:
            # Throttled sender: WNS says when to continue in X-WNS-CONTINUE-AFTER.
            after = _seconds(answer.headers.get("x-wns-continue-after"))
            if after is None:
                after = retry_after(answer, self.options.clock())
            reason = short_reason("WNS throttled the sender", detail)
            return retry(reason, after, status, RetryClass.WNS_THROTTLED)
        if status == 429 or status >= 500:
            after = retry_after(answer, self.options.clock())
            return retry(short_reason(f"WNS answered {status}", detail), after, status)
        if status == 413:
            return rejected(short_reason("payload too large", detail), status)
        return rejected(short_reason(f"WNS answered {status}", detail), status)

    def _accepted(self, answer: Answer) -> Outcome:
        """200 is accepted, which is not delivered: ``X-WNS-Status`` says more (§4.4)."""
        wns_status = answer.headers.get("x-wns-status", "received").strip().lower()
        if wns_status == "channelthrottled":
            after = retry_after(answer, self.options.clock())
            return retry("WNS throttled the channel", after, 200, RetryClass.WNS_THROTTLED)
        if wns_status == "dropped":
            # Dropped for an error, a client that refuses them, or an offline device
            # (toasts): final for this notification, while the channel stays valid.
            return rejected("WNS dropped the notification (device offline or refusing)", 200)
        return sent(answer.headers.get("x-wns-msg-id"), 200)


def _seconds(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


def _expiry_headers(ttl: int) -> dict[str, str]:
    """How long WNS may keep the notification (docs/providers.md §4.3). WNS has no TTL meaning
    "now or never" (X-WNS-TTL counts from its receipt; absent, nothing expires), so a TTL of
    0 is the closest it offers: ``no-cache``, never stored for a device that is offline."""
    if ttl == 0:
        return {"x-wns-cache-policy": "no-cache"}
    return {"x-wns-ttl": str(ttl)}
