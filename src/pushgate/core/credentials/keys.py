"""Parsing and making the key material providers need, with errors that never quote keys.

Every function raises ``ValueError`` with a short reason; the kind modules turn it into an
``InvalidInput`` naming the field. ``cryptography`` raises ``ValueError``, ``TypeError`` or
``UnsupportedAlgorithm`` for unreadable material; all three mean "this is not a usable key".
"""

from __future__ import annotations

import base64
import binascii
import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

P256_SCALAR_BYTES = 32
MIN_RSA_BITS = 2048
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
UNREADABLE = (ValueError, TypeError, UnsupportedAlgorithm)


def b64url_encode(data: bytes) -> str:
    """base64url without padding, the form Web Push uses (RFC 8292 §3.2)."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _padded(text: str) -> str:
    bare = text.rstrip("=")
    return bare + "=" * (-len(bare) % 4)


def b64url_decode(text: str) -> bytes:
    """Strict base64url (padding optional); raises ``ValueError`` on any other character."""
    if not _BASE64URL.fullmatch(text):
        raise ValueError("is not base64url")
    try:
        return base64.urlsafe_b64decode(_padded(text))
    except binascii.Error:
        raise ValueError("is not base64url") from None


def b64_decode(text: str) -> bytes:
    """Strict standard base64; line breaks (as ``base64`` tools wrap output) are ignored."""
    compact = re.sub(r"\s+", "", text)
    if not _BASE64.fullmatch(compact):
        raise ValueError("is not base64")
    try:
        return base64.b64decode(_padded(compact))
    except binascii.Error:
        raise ValueError("is not base64") from None


def load_private_key_pem(text: str) -> PrivateKeyTypes:
    """Load an unencrypted PEM private key (PKCS#8 or the traditional forms)."""
    if "-----BEGIN" not in text:
        raise ValueError("is not PEM (expected -----BEGIN PRIVATE KEY-----)")
    if "ENCRYPTED" in text:
        raise ValueError("is an encrypted private key; provide it unencrypted")
    try:
        return serialization.load_pem_private_key(text.encode(), password=None)
    except UNREADABLE:
        raise ValueError("is not a readable PEM private key") from None


def to_pkcs8_pem(key: PrivateKeyTypes) -> str:
    """One canonical text form, so the same key always has the same fingerprint."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def load_p256_private_key_pem(text: str) -> ec.EllipticCurvePrivateKey:
    """An EC private key on P-256 (secp256r1), as APNs ``.p8`` keys are (docs/providers.md §1.5)."""
    key = load_private_key_pem(text)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("must be an EC P-256 private key")
    return key


def load_rsa_private_key_pem(text: str) -> rsa.RSAPrivateKey:
    """An RSA private key of at least 2048 bits (the RS256 signer of docs/providers.md §2.2)."""
    key = load_private_key_pem(text)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("must be an RSA private key")
    if key.key_size < MIN_RSA_BITS:
        raise ValueError(f"must be an RSA key of at least {MIN_RSA_BITS} bits")
    return key


def load_vapid_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 key as PEM, or as the base64url raw 32-byte scalar web-push tools print."""
    if "-----BEGIN" in text:
        return load_p256_private_key_pem(text)
    raw = b64url_decode(text.strip())
    if len(raw) != P256_SCALAR_BYTES:
        raise ValueError("must be PEM or base64url of a 32-byte P-256 private scalar")
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except UNREADABLE:
        # Zero or a value at or above the curve order is not a private key.
        raise ValueError("is not a valid P-256 private scalar") from None


def generate_vapid_private_key() -> ec.EllipticCurvePrivateKey:
    """A fresh application-server key pair (RFC 8292 §2: ECDSA on P-256)."""
    return ec.generate_private_key(ec.SECP256R1())


def vapid_private_key_text(key: ec.EllipticCurvePrivateKey) -> str:
    """The stored form: base64url of the 32-byte big-endian private scalar."""
    scalar = key.private_numbers().private_value
    return b64url_encode(scalar.to_bytes(P256_SCALAR_BYTES, "big"))


def application_server_key(key: ec.EllipticCurvePrivateKey) -> str:
    """What browsers pass to ``subscribe``: base64url of the 65-byte uncompressed point."""
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url_encode(point)
