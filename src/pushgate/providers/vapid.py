"""Application-server side of VAPID (RFC 8292, docs/providers.md §3.3): ES256 tokens per push
service origin, reused until shortly before they expire.
"""

from __future__ import annotations

from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pushgate.core.credentials.keys import b64url_encode
from pushgate.providers.http_client import origin_of

# RFC 8292 §2 allows exp up to 24 h ahead; web-push libraries sign for 12 h, which leaves
# room for clock skew at the push service.
TOKEN_LIFETIME_SECONDS = 12 * 60 * 60
# A cached token is replaced once less than this is left, so none expires in flight.
RENEW_BEFORE_SECONDS = 60 * 60
MAX_CACHED_AUDIENCES = 1024


class VapidSigner:
    """Signs VAPID tokens with one application-server key; one cached token per audience."""

    def __init__(
        self, private_key: ec.EllipticCurvePrivateKey, subject: str, clock: Callable[[], float]
    ) -> None:
        self.private_key = private_key
        self.subject = subject
        self.clock = clock
        point = private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        self.public_key = b64url_encode(point)
        self.tokens: dict[str, tuple[str, int]] = {}

    def __repr__(self) -> str:
        return f"VapidSigner(public_key={self.public_key!r}, private_key=<hidden>)"

    def token_for(self, endpoint: str) -> str:
        """A token whose ``aud`` is the origin of ``endpoint`` (RFC 8292 §2)."""
        audience = origin_of(endpoint)
        now = self.clock()
        cached = self.tokens.get(audience)
        if cached is not None and now < cached[1] - RENEW_BEFORE_SECONDS:
            return cached[0]
        expiry = int(now) + TOKEN_LIFETIME_SECONDS
        claims = {"aud": audience, "exp": expiry, "sub": self.subject}
        token = jwt.encode(claims, self.private_key, algorithm="ES256", headers={"typ": "JWT"})
        if len(self.tokens) >= MAX_CACHED_AUDIENCES:
            self.tokens.clear()
        self.tokens[audience] = (token, expiry)
        return token

    def authorization(self, endpoint: str) -> str:
        """The ``Authorization`` value of RFC 8292 §3: ``vapid t=<JWT>, k=<public key>``."""
        return f"vapid t={self.token_for(endpoint)}, k={self.public_key}"
