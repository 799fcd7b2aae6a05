"""Google OAuth2 access tokens for a service account (docs/providers.md §2.2).

The JWT-bearer grant (RFC 7523): an RS256 assertion signed with the service account's key
is exchanged at ``token_uri`` for an access token of about an hour. The token is cached
and refreshed ``refresh_margin`` seconds before it expires; concurrent callers share one
refresh. The token endpoint speaks HTTP/1.1, so httpx carries it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pushgate.providers.retry_after import parse_retry_after
from pushgate.providers.target_guard import PrivateTargetRefused
from pushgate.providers.upstream_text import clean_detail

FIREBASE_MESSAGING_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600  # §2.2: exp at most iat + 3600
DEFAULT_REFRESH_MARGIN = 300.0


class OAuthRefused(Exception):
    """The token endpoint refused the service account (``invalid_grant``…): a config error."""


class OAuthUnavailable(Exception):
    """No token could be had for now (network, 5xx, 429); ``retry_after`` if the server said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token, when it expires (epoch seconds) and which refresh produced it."""

    authorization: str
    expires_at: float
    generation: int


@dataclass(frozen=True, slots=True)
class ServiceAccountKey:
    """The parts of a service account the grant needs."""

    client_email: str
    private_key_pem: str
    private_key_id: str
    token_uri: str


class ServiceAccountTokens:
    """The current access token of one service account; see the module docstring."""

    def __init__(
        self,
        account: ServiceAccountKey,
        http: httpx.AsyncClient,
        *,
        scope: str = FIREBASE_MESSAGING_SCOPE,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        key = serialization.load_pem_private_key(account.private_key_pem.encode(), None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("a service account key is an RSA key")
        self._key = key
        self._account = account
        self._http = http
        self._scope = scope
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._token: AccessToken | None = None
        self._refreshing = asyncio.Lock()
        self.grants = 0  # how many tokens were fetched (for operators and tests)

    async def current(self) -> AccessToken:
        """A token valid for at least ``refresh_margin`` more seconds."""
        token = self._token
        if token is not None and self._clock() < token.expires_at - self._refresh_margin:
            return token
        return await self._refresh(token)

    async def replace(self, rejected: AccessToken) -> AccessToken:
        """A new token after the provider refused ``rejected`` (401), unless another
        request has replaced it already."""
        return await self._refresh(rejected)

    async def _refresh(self, stale: AccessToken | None) -> AccessToken:
        async with self._refreshing:
            token = self._token
            fresh = token is not None and self._clock() < token.expires_at - self._refresh_margin
            if (
                token is not None
                and fresh
                and (stale is None or token.generation != stale.generation)
            ):
                return token
            self._token = await self._grant()
            return self._token

    async def _grant(self) -> AccessToken:
        now = self._clock()
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": self._assertion(int(now))}
        try:
            answer = await self._http.post(self._account.token_uri, data=form)
        except PrivateTargetRefused as exc:
            # The token URI names a loopback, private or link-local host: nothing will
            # change that but an operator (docs/architecture.md §6).
            raise OAuthRefused(f"token endpoint refused: {exc}") from exc
        except httpx.HTTPError as exc:
            raise OAuthUnavailable(f"token endpoint unreachable: {type(exc).__name__}") from exc
        if answer.status_code == 429 or answer.status_code >= 500:
            after = parse_retry_after(answer.headers.get("retry-after", "").encode(), now)
            raise OAuthUnavailable(f"token endpoint answered {answer.status_code}", after)
        document = _json_object(answer.content)
        if answer.status_code != 200:
            # The error code only (RFC 6749 §5.2), cleaned: the body is the endpoint's to
            # choose, and the reason is shown to the tenant.
            error = clean_detail(str(document.get("error") or f"HTTP {answer.status_code}"))
            raise OAuthRefused(f"token endpoint refused the service account: {error}")
        value, lifetime = document.get("access_token"), document.get("expires_in")
        if not isinstance(value, str) or not isinstance(lifetime, int | float):
            raise OAuthUnavailable("token endpoint answered without a token")
        self.grants += 1
        generation = self._token.generation + 1 if self._token else 1
        return AccessToken(f"Bearer {value}", now + float(lifetime), generation)

    def _assertion(self, now: int) -> str:
        claims = {
            "iss": self._account.client_email,
            "scope": self._scope,
            "aud": self._account.token_uri,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
        }
        headers = {"kid": self._account.private_key_id}
        return jwt.encode(claims, self._key, algorithm="RS256", headers=headers)


def _json_object(content: bytes) -> dict[str, object]:
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}
