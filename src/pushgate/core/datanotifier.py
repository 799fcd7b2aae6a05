"""What a scheduling system's push notifier sends, checked (docs/events.md, "Inbound
sources"): ``User-Agent: DataNotifier`` and ``Authorization: <JWT>``, the JWT signed with
the source's HS256 secret or RS256/ES256 key.

The algorithm is pinned to the source's: a token claiming another (``none``, or HS256
signed with a public key as its secret, the classic confusion of RFC 8725 §2.1) is refused.
``exp`` and ``nbf`` (RFC 7519 §4.1.4, §4.1.5) are honoured when present, with a small
leeway for clock skew, against pushgate's clock, not PyJWT's own reading of the time.
"""

from __future__ import annotations

from typing import Any

import jwt

from pushgate.core.clock import Clock
from pushgate.core.inbound_inputs import Hs256Key, PublicKey
from pushgate.core.inbound_refusals import InboundRefused, Refusal

USER_AGENT = "DataNotifier"
LEEWAY_SECONDS = 30
MAX_TOKEN_CHARS = 8192


def check_user_agent(user_agent: str | None) -> None:
    """``DataNotifier``, alone or with a version (``DataNotifier/2.1``, RFC 9110 §10.1.5)."""
    product = (user_agent or "").split(" ", 1)[0].split("/", 1)[0]
    if product != USER_AGENT:
        raise InboundRefused(
            Refusal.NOT_DATANOTIFIER, f"User-Agent must be {USER_AGENT}, not {user_agent!r:.80}"
        )


def token_of(authorization: str | None) -> str:
    """The JWT: the header's whole value, or after ``Bearer``."""
    value = (authorization or "").strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    if not value:
        raise InboundRefused(Refusal.JWT_MISSING, "no JWT in the Authorization header")
    if len(value) > MAX_TOKEN_CHARS:
        raise InboundRefused(Refusal.JWT_INVALID, "the JWT is too long")
    return value


def check_token(token: str, key: Hs256Key | PublicKey, clock: Clock) -> dict[str, Any]:
    """The token's claims once its signature, algorithm and times hold."""
    secret = key.secret if isinstance(key, Hs256Key) else key.public_key
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[key.alg],
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidTokenError as exc:
        raise InboundRefused(Refusal.JWT_INVALID, f"the JWT is refused: {exc}") from exc
    now = clock.now()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    for name, value in (("exp", exp), ("nbf", nbf)):
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise InboundRefused(Refusal.JWT_INVALID, f"the JWT's {name} is not a number")
    if exp is not None and now > exp + LEEWAY_SECONDS:
        raise InboundRefused(Refusal.JWT_EXPIRED, "the JWT has expired")
    if nbf is not None and now < nbf - LEEWAY_SECONDS:
        raise InboundRefused(Refusal.JWT_EXPIRED, "the JWT is not valid yet")
    return claims
