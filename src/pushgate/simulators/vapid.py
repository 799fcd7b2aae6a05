"""Push-service side of VAPID (RFC 8292): parse ``Authorization: vapid t=…, k=…`` and
decide whether it authorises a request to one subscription (docs/providers.md §3.3).
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from pushgate.simulators.ece import b64url_decode

MAX_EXPIRY_SECONDS = 24 * 60 * 60  # RFC 8292 §2: exp no more than 24 hours ahead


@dataclass(frozen=True, slots=True)
class VapidRejection:
    """Why a request is refused: 401 when credentials are absent, 403 when invalid."""

    status: int
    message: str


@dataclass(frozen=True, slots=True)
class VapidCredentials:
    """The two parameters of the ``vapid`` scheme (RFC 8292 §3)."""

    token: str
    key: str


def parse_authorization(value: str | None) -> VapidCredentials | VapidRejection:
    """Split the header; anything but the ``vapid`` scheme counts as no credentials."""
    if not value:
        return VapidRejection(401, "missing VAPID Authorization header")
    scheme, _, params = value.strip().partition(" ")
    if scheme.lower() != "vapid":
        return VapidRejection(401, f"unsupported authorization scheme {scheme!r}")
    fields: dict[str, str] = {}
    for part in params.split(","):
        name, _, param_value = part.strip().partition("=")
        fields[name.strip().lower()] = param_value.strip()
    token, key = fields.get("t"), fields.get("k")
    if not token or not key:
        return VapidRejection(403, "vapid credentials need both t= and k=")
    return VapidCredentials(token, key)


def verify(
    credentials: VapidCredentials,
    *,
    origin: str,
    subscription_key: str | None,
    now: float,
) -> VapidRejection | float:
    """The token's ``exp`` when the JWT is signed by ``k``, meant for ``origin`` and fresh
    enough, and ``k`` is the subscription's key; else why not."""
    try:
        raw_key = b64url_decode(credentials.key)
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw_key)
    except ValueError:
        return VapidRejection(403, "k is not a P-256 public key")
    binding = check_key_binding(credentials, subscription_key)
    if binding is not None:
        return binding
    try:
        claims = jwt.decode(
            credentials.token,
            key=public_key,
            algorithms=["ES256"],
            audience=origin,
            options={"require": ["exp", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        return VapidRejection(403, "VAPID token expired")
    except jwt.InvalidAudienceError:
        return VapidRejection(403, f"aud must be the push resource origin {origin}")
    except jwt.PyJWTError as exc:
        return VapidRejection(403, f"invalid VAPID token: {exc}")
    expiry = float(claims["exp"])
    if expiry > now + MAX_EXPIRY_SECONDS:
        return VapidRejection(403, "exp is more than 24 hours ahead")
    return expiry


def check_key_binding(
    credentials: VapidCredentials, subscription_key: str | None
) -> VapidRejection | None:
    """RFC 8292 §4.2: a restricted subscription only accepts the key it was created with."""
    if subscription_key is None:
        return None
    try:
        matches = b64url_decode(subscription_key) == b64url_decode(credentials.key)
    except ValueError:
        matches = False
    if not matches:
        # autopush's words for it (with errno 109); the status is RFC 8292's and FCM's.
        return VapidRejection(403, "VAPID public key mismatch")
    return None


class VerifiedTokens:
    """Tokens whose signature already verified, until their ``exp``.

    An application server reuses one VAPID token for many messages (web-push libraries sign
    for 12 h), so a push service need not verify ECDSA on each: this cuts the cost of a
    message by about two thirds. The key binding is still checked on every request.
    """

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self.expiry: dict[tuple[str, str, str], float] = {}

    def check(
        self,
        credentials: VapidCredentials,
        *,
        origin: str,
        subscription_key: str | None,
        now: float,
    ) -> VapidRejection | None:
        cache_key = (credentials.token, credentials.key, origin)
        expiry = self.expiry.get(cache_key)
        if expiry is not None and now < expiry:
            return check_key_binding(credentials, subscription_key)
        outcome = verify(credentials, origin=origin, subscription_key=subscription_key, now=now)
        if isinstance(outcome, VapidRejection):
            return outcome
        if len(self.expiry) >= self.limit:
            self.expiry.clear()
        self.expiry[cache_key] = outcome
        return None
