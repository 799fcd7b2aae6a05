"""APNs provider tokens as the simulator checks them (docs/providers.md §1.5): ES256 JWTs
with ``kid`` and ``iss`` (team) verified against keys registered with the simulator.

Verified tokens are cached by their exact string, so a connection reusing its token for
20–60 minutes (as Apple asks) costs a dictionary lookup, not a signature check.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

_CACHE_LIMIT = 10_000


class TokenRejected(Exception):
    """The token is not acceptable; ``reason`` is the APNs reason string to answer with."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ProviderKey:
    """A registered signing key: its 10-character Key ID and Team ID, the public half,
    optionally the bundle IDs it may send to and the environment it belongs to."""

    key_id: str
    team_id: str
    public_key: ec.EllipticCurvePublicKey
    topics: frozenset[str] | None = None
    environment: str | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ProviderKey:
        """Build from the JSON registration shape (``public_key_pem`` may also be a .p8)."""
        pem = str(payload["public_key_pem"]).encode()
        if b"PRIVATE KEY" in pem:
            private = serialization.load_pem_private_key(pem, None)
            if not isinstance(private, ec.EllipticCurvePrivateKey):
                raise ValueError("APNs keys are P-256 EC keys")
            public: object = private.public_key()
        else:
            public = serialization.load_pem_public_key(pem)
        if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
            raise ValueError("APNs keys are P-256 EC keys")
        topics = payload.get("topics")
        return cls(
            key_id=str(payload["key_id"]),
            team_id=str(payload["team_id"]),
            public_key=public,
            topics=frozenset(str(t) for t in topics) if topics else None,
            environment=payload.get("environment"),
        )


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose signature checked out: the key it names and its ``iat``."""

    key: ProviderKey
    issued_at: int


class ProviderTokenVerifier:
    """Verifies provider tokens against registered keys, caching successes."""

    def __init__(self) -> None:
        self.keys: dict[str, ProviderKey] = {}
        self._verified: dict[str, VerifiedToken] = {}

    def register(self, key: ProviderKey) -> None:
        self.keys[key.key_id] = key
        self._verified.clear()  # a replaced key must not keep its old tokens valid

    def verify(self, token: str) -> VerifiedToken:
        """The verified token, or :class:`TokenRejected` with ``InvalidProviderToken``."""
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        verified = self._verify_uncached(token)
        if len(self._verified) >= _CACHE_LIMIT:
            self._verified.clear()
        self._verified[token] = verified
        return verified

    def _verify_uncached(self, token: str) -> VerifiedToken:
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenRejected("InvalidProviderToken")
        header, claims = _json_part(parts[0]), _json_part(parts[1])
        if header.get("alg") != "ES256":
            raise TokenRejected("InvalidProviderToken")
        key = self.keys.get(str(header.get("kid")))
        issued_at = claims.get("iat")
        if key is None or claims.get("iss") != key.team_id:
            raise TokenRejected("InvalidProviderToken")
        if not isinstance(issued_at, int) or isinstance(issued_at, bool):
            raise TokenRejected("InvalidProviderToken")
        signature = _b64url(parts[2])
        if len(signature) != 64:  # JWS ES256 is r‖s, 32 bytes each (RFC 7518 §3.4)
            raise TokenRejected("InvalidProviderToken")
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        signing_input = f"{parts[0]}.{parts[1]}".encode()
        try:
            key.public_key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise TokenRejected("InvalidProviderToken") from None
        return VerifiedToken(key, issued_at)


def _b64url(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise TokenRejected("InvalidProviderToken") from None


def _json_part(part: str) -> dict[str, Any]:
    try:
        value = orjson.loads(_b64url(part))
    except orjson.JSONDecodeError:
        raise TokenRejected("InvalidProviderToken") from None
    if not isinstance(value, dict):
        raise TokenRejected("InvalidProviderToken")
    return value
