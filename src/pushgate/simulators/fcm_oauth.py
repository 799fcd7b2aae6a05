"""Google's OAuth2 token endpoint for service accounts, as the FCM simulator serves it
(docs/providers.md §2.2): the JWT-bearer grant, RS256 assertions checked against registered
service-account keys, ``aud``/``iat``/``exp`` checks, 3599-second access tokens.
"""

from __future__ import annotations

import secrets
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pushgate.simulators.base import SimRequest, SimResponse

OAUTH_PATH = "/token"
GOOGLE_TOKEN_URIS = (
    "https://oauth2.googleapis.com/token",
    "https://www.googleapis.com/oauth2/v4/token",
)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ACCESS_TOKEN_LIFETIME = 3599
MAX_ASSERTION_LIFETIME = 3600
SEND_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/firebase.messaging",
        "https://www.googleapis.com/auth/cloud-platform",
    }
)
_BAD_TIME = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
    "timeframe. Check your iat and exp values in the JWT claim."
)


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """A registered service account: who it is, its project and the public key."""

    client_email: str
    project_id: str
    public_key: rsa.RSAPublicKey


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An issued bearer token and what it is good for."""

    value: str
    account: ServiceAccount
    scopes: frozenset[str]
    expires_at: float

    def can_send(self) -> bool:
        return bool(self.scopes & SEND_SCOPES)


class _GrantRefused(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


class TokenIssuer:
    """Grants access tokens to registered service accounts."""

    def __init__(self) -> None:
        self.accounts: dict[str, ServiceAccount] = {}
        self.tokens: dict[str, AccessToken] = {}

    def register(self, payload: dict[str, Any]) -> ServiceAccount:
        """Register from a service-account JSON (``private_key``) or ``public_key_pem``."""
        if "private_key" in payload:
            private = serialization.load_pem_private_key(payload["private_key"].encode(), None)
            public: object = private.public_key()
        else:
            public = serialization.load_pem_public_key(payload["public_key_pem"].encode())
        if not isinstance(public, rsa.RSAPublicKey):
            raise ValueError("service account keys are RSA keys")
        account = ServiceAccount(str(payload["client_email"]), str(payload["project_id"]), public)
        self.accounts[account.client_email] = account
        return account

    def lookup(self, authorization: str | None) -> AccessToken | None:
        """The live access token named by an ``Authorization: Bearer`` value."""
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        token = self.tokens.get(value) if scheme.lower() == "bearer" else None
        if token is None or token.expires_at <= time.time():
            return None
        return token

    def grant(self, request: SimRequest, token_uri: str) -> SimResponse:
        """Answer ``POST /token`` the way Google does."""
        try:
            form = _form(request)
            if form.get("grant_type") != JWT_BEARER:
                grant_type = form.get("grant_type", "")
                raise _GrantRefused("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
            assertion = form.get("assertion")
            if not assertion:
                raise _GrantRefused("invalid_request", "Missing required parameter: assertion")
            token = self._issue(assertion, token_uri)
        except _GrantRefused as refused:
            body = {"error": refused.error, "error_description": refused.description}
            return SimResponse.json(refused.status, body)
        answer = {
            "access_token": token.value,
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "token_type": "Bearer",
        }
        return SimResponse.json(200, answer, [("cache-control", "no-cache, no-store")])

    def _issue(self, assertion: str, token_uri: str) -> AccessToken:
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise _GrantRefused("invalid_grant", "Invalid JWT Signature.") from None
        account = self.accounts.get(str(unverified.get("iss")))
        if account is None:
            raise _GrantRefused("invalid_grant", "Invalid grant: account not found")
        claims = _verified_claims(assertion, account, token_uri)
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes:
            raise _GrantRefused(
                "invalid_scope", "Invalid OAuth scope or ID token audience provided."
            )
        value = f"ya29.sim-{secrets.token_urlsafe(32)}"
        token = AccessToken(value, account, scopes, time.time() + ACCESS_TOKEN_LIFETIME)
        self._forget_expired()
        self.tokens[value] = token
        return token

    def _forget_expired(self) -> None:
        if len(self.tokens) > 10_000:
            now = time.time()
            self.tokens = {k: v for k, v in self.tokens.items() if v.expires_at > now}


def _verified_claims(assertion: str, account: ServiceAccount, token_uri: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            account.public_key,
            algorithms=["RS256"],
            audience=[token_uri, *GOOGLE_TOKEN_URIS],
            options={"require": ["iss", "aud", "iat", "exp"]},
            leeway=30,
        )
    except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError):
        raise _GrantRefused("invalid_grant", _BAD_TIME) from None
    except jwt.InvalidAudienceError:
        raise _GrantRefused("invalid_grant", "Invalid JWT: Failed audience check.") from None
    except jwt.InvalidTokenError:
        raise _GrantRefused("invalid_grant", "Invalid JWT Signature.") from None
    if claims["exp"] - claims["iat"] > MAX_ASSERTION_LIFETIME:
        raise _GrantRefused("invalid_grant", _BAD_TIME)
    return claims


def _form(request: SimRequest) -> dict[str, str]:
    if request.method != "POST":
        raise _GrantRefused("invalid_request", "Token requests must use POST", 405)
    try:
        pairs = urllib.parse.parse_qsl(request.body.decode(), strict_parsing=False)
    except UnicodeDecodeError:
        raise _GrantRefused("invalid_request", "Malformed form body") from None
    return dict(pairs)


def make_service_account(project_id: str, token_uri: str) -> dict[str, str]:
    """A service-account JSON with a fresh RSA key whose ``token_uri`` is ``token_uri``.

    Register it with :meth:`TokenIssuer.register` (or the simulator's credentials route)
    and hand it to google-auth as ``service_account.Credentials.from_service_account_info``.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    name = f"sim-{uuid.uuid4().hex[:8]}"
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": uuid.uuid4().hex,
        "private_key": pem,
        "client_email": f"{name}@{project_id}.iam.gserviceaccount.com",
        "client_id": str(uuid.uuid4().int)[:21],
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }
