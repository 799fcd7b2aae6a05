"""OAuth 2.0 access tokens by the client-credentials grant (RFC 6749 §4.4), as WNS
(docs/providers.md §4.1) and HMS (§5.1) issue them: fetched once, reused by every request until
shortly before they expire, and refreshed early when the provider says a token died.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import urlencode

import httpx
import orjson

from pushgate.core.outcomes import Outcome, auth_failed, retry
from pushgate.providers.http_client import (
    post,
    retry_after,
    short_reason,
    transport_failure,
)
from pushgate.providers.target_guard import PrivateTargetRefused

# Refresh this long before the stated expiry, so no request carries a token that expires
# on the way; at most a tenth of the lifetime for short-lived tokens.
REFRESH_MARGIN_SECONDS = 300.0


class TokenUnavailable(Exception):
    """No access token could be had; ``outcome`` is what every waiting delivery gets."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome


class ClientCredentialsToken:
    """One cached bearer token for one client id and secret."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        token_url: str,
        form: dict[str, str],
        clock: Callable[[], float],
    ) -> None:
        self.client = client
        self.token_url = token_url
        self.form = form
        self.clock = clock
        self.value: str | None = None
        self.refresh_at = 0.0
        self.lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ClientCredentialsToken(token_url={self.token_url!r}, value=<hidden>)"

    async def get(self) -> str:
        """The current token, fetching a new one when none is cached or it is due."""
        if self.value is not None and self.clock() < self.refresh_at:
            return self.value
        async with self.lock:
            # Another task may have refreshed while this one waited for the lock.
            if self.value is not None and self.clock() < self.refresh_at:
                return self.value
            self.value, lifetime = await self._fetch()
            margin = min(REFRESH_MARGIN_SECONDS, lifetime / 10)
            self.refresh_at = self.clock() + lifetime - margin
            return self.value

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the provider called it expired); a newer one is kept."""
        if self.value == token:
            self.value = None

    async def _fetch(self) -> tuple[str, float]:
        body = urlencode(self.form).encode()
        headers = {"content-type": "application/x-www-form-urlencoded"}
        try:
            answer = await post(self.client, self.token_url, content=body, headers=headers)
        except (httpx.HTTPError, PrivateTargetRefused, OSError) as exc:
            raise TokenUnavailable(transport_failure(exc, configured_target=True)) from exc
        if answer.status == 429 or answer.status >= 500:
            after = retry_after(answer, self.clock())
            reason = f"token endpoint answered {answer.status}"
            raise TokenUnavailable(retry(reason, after, answer.status))
        try:
            # A real JSON parser: HMS tokens contain '/' escaped as '\/' (docs/providers.md §5.1).
            loaded = orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            loaded = None
        if answer.status != 200 or not isinstance(loaded, dict):
            reason = short_reason(f"token endpoint refused ({answer.status})", answer.text())
            raise TokenUnavailable(auth_failed(reason, answer.status))
        token, lifetime = loaded.get("access_token"), loaded.get("expires_in", 3600)
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
            raise TokenUnavailable(auth_failed("token endpoint answered without a token", 200))
        return token, float(lifetime)
