"""APNs authentication (docs/providers.md §1.5): ES256 provider tokens, or a client certificate.

Token auth: one JWT per signing key, shared by every connection, minted once and reused
for ``refresh_after`` seconds (40 minutes by default). Apple rejects tokens older than an
hour (``ExpiredProviderToken``) and new tokens more often than every 20 minutes on a
connection (``TooManyProviderTokenUpdates``), so a token is not replaced sooner than that,
except once when Apple calls it expired: Apple's clock then says it is older than an hour
(clock skew, a suspended host), and a new token is what §1.5 asks for.
"""

from __future__ import annotations

import base64
import secrets
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

MAX_TOKEN_AGE = 60 * 60  # §1.5: older → 403 ExpiredProviderToken
MIN_REFRESH_INTERVAL = 20 * 60  # §1.5: sooner → 429 TooManyProviderTokenUpdates
DEFAULT_REFRESH_AFTER = 40 * 60


@dataclass(frozen=True, slots=True)
class ProviderToken:
    """One minted provider token; ``authorization`` is the header value."""

    authorization: str
    issued_at: int
    generation: int
    #: Minted because APNs called the token before it expired: if APNs calls this one
    #: expired too, a third would not help (the clocks disagree by more than it can fix).
    replaces_expired: bool = False


class ProviderTokens:
    """The current ES256 provider token of one key (``kid``) and team (``iss``)."""

    def __init__(
        self,
        private_key_pem: str,
        key_id: str,
        team_id: str,
        *,
        refresh_after: float = DEFAULT_REFRESH_AFTER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not MIN_REFRESH_INTERVAL <= refresh_after < MAX_TOKEN_AGE:
            raise ValueError(
                "refresh_after must be between 20 and 60 minutes (docs/providers.md §1.5)"
            )
        key = serialization.load_pem_private_key(private_key_pem.encode(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("an APNs signing key is an EC P-256 key")
        self._key = key
        self._key_id = key_id
        self._team_id = team_id
        self._refresh_after = refresh_after
        self._clock = clock
        self._token: ProviderToken | None = None

    def current(self) -> ProviderToken:
        """The token to send now, minting a new one once the current is ``refresh_after`` old."""
        token = self._token
        if token is None or self._clock() - token.issued_at >= self._refresh_after:
            token = self._mint()
        return token

    def replace_expired(self, rejected: ProviderToken) -> ProviderToken | None:
        """After APNs answered ``ExpiredProviderToken`` for ``rejected``: the token to retry
        with, minted now whatever its age (§1.5: "mint new JWT, retry"), or None when
        ``rejected`` was itself minted for that reason under 20 minutes ago: APNs refused
        the new token too, a clock problem another token cannot fix."""
        token = self.current()
        if token.generation != rejected.generation:
            return token  # another request replaced it already
        young = self._clock() - token.issued_at < MIN_REFRESH_INTERVAL
        if token.replaces_expired and young:
            return None
        return self._mint(replaces_expired=True)

    def age(self, token: ProviderToken) -> float:
        """Seconds since ``token`` was minted, by our clock."""
        return self._clock() - token.issued_at

    def _mint(self, *, replaces_expired: bool = False) -> ProviderToken:
        issued_at = int(self._clock())
        # §1.5: header {"alg":"ES256","kid":…}, claims {"iss":…,"iat":…}, no exp; PyJWT
        # adds "typ" unless told not to.
        value = jwt.encode(
            {"iss": self._team_id, "iat": issued_at},
            self._key,
            algorithm="ES256",
            headers={"kid": self._key_id, "typ": None},
        )
        generation = self._token.generation + 1 if self._token else 1
        self._token = ProviderToken(f"bearer {value}", issued_at, generation, replaces_expired)
        return self._token


def add_client_certificate(context: ssl.SSLContext, p12_base64: str, password: str) -> None:
    """Load the PKCS#12 client certificate (and its chain) into ``context`` (§1.5).

    ``ssl`` reads certificates only from files: the key is written encrypted under a
    one-time password to a private temporary directory that is removed at once.
    """
    key, certificate, chain = pkcs12.load_key_and_certificates(
        base64.b64decode(p12_base64), password.encode() or None
    )
    if key is None or certificate is None:
        raise ValueError("the APNs certificate bundle holds no certificate or no key")
    one_time = secrets.token_bytes(32)
    pem_chain = b"".join(
        cert.public_bytes(serialization.Encoding.PEM) for cert in (certificate, *chain)
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(one_time),
    )
    with tempfile.TemporaryDirectory(prefix="pushgate-apns-") as folder:
        cert_path, key_path = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_path.write_bytes(pem_chain)
        key_path.write_bytes(pem_key)
        context.load_cert_chain(cert_path, key_path, password=one_time)
