"""The OAuth 2.0 client-credentials grant (RFC 6749 §4.4) as WNS (docs/providers.md §4.1) and
HMS (§5.1) run it: registered clients, issued bearer tokens with a lifetime, expiry.

Each simulator renders the outcomes in its own provider's error shapes.
"""

from __future__ import annotations

import enum
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs


class GrantError(enum.Enum):
    """Why a token request was refused, in RFC 6749 §5.2 terms."""

    INVALID_REQUEST = "invalid_request"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    INVALID_CLIENT = "invalid_client"
    INVALID_SCOPE = "invalid_scope"


class TokenState(enum.Enum):
    """What a presented bearer token amounts to."""

    VALID = "valid"
    MISSING = "missing"
    UNKNOWN = "unknown"
    EXPIRED = "expired"


@dataclass(slots=True)
class IssuedToken:
    """An access token and the client it was issued to."""

    value: str
    client_id: str
    expires_at: float


def parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body; the first value of each field wins."""
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class ClientCredentialsIssuer:
    """Registered clients and the tokens issued to them."""

    def __init__(
        self,
        lifetime_seconds: int,
        *,
        required_scope: str | None = None,
        make_token: Callable[[], str] | None = None,
    ) -> None:
        self.lifetime_seconds = lifetime_seconds
        self.required_scope = required_scope
        self.make_token = make_token or (lambda: secrets.token_urlsafe(48))
        self.clients: dict[str, str] = {}
        self.tokens: dict[str, IssuedToken] = {}

    def register(self, client_id: str, client_secret: str) -> None:
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret are required")
        self.clients[client_id] = client_secret

    def issue(self, form: dict[str, str]) -> IssuedToken | GrantError:
        """Answer one token request given its form fields."""
        if form.get("grant_type") is None or not form.get("client_id"):
            return GrantError.INVALID_REQUEST
        if form["grant_type"] != "client_credentials":
            return GrantError.UNSUPPORTED_GRANT_TYPE
        expected = self.clients.get(form["client_id"])
        given = form.get("client_secret", "")
        if expected is None or not secrets.compare_digest(expected.encode(), given.encode()):
            return GrantError.INVALID_CLIENT
        if self.required_scope is not None and form.get("scope") != self.required_scope:
            return GrantError.INVALID_SCOPE
        token = IssuedToken(
            self.make_token(), form["client_id"], time.time() + self.lifetime_seconds
        )
        self.tokens[token.value] = token
        return token

    def check(self, authorization: str | None) -> tuple[TokenState, IssuedToken | None]:
        """Classify the bearer token of a send request."""
        value = bearer_token(authorization)
        if value is None:
            return TokenState.MISSING, None
        token = self.tokens.get(value)
        if token is None:
            return TokenState.UNKNOWN, None
        if token.expires_at <= time.time():
            return TokenState.EXPIRED, token
        return TokenState.VALID, token

    def expire_all(self) -> None:
        """Make every issued token expired now (to script the expired-token answer)."""
        for token in self.tokens.values():
            token.expires_at = min(token.expires_at, time.time())

    def clear_tokens(self) -> None:
        self.tokens.clear()
