"""Sender side of Web Push message encryption: RFC 8291 over the RFC 8188 ``aes128gcm``
content coding (docs/providers.md §3.2).

Each message gets a fresh P-256 key pair and a random 16-byte salt; both can be injected
so the RFC 8291 Appendix A vector comes out byte for byte.
"""

from __future__ import annotations

import hmac
import os
import struct

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SALT_BYTES = 16
POINT_BYTES = 65  # uncompressed P-256 point 0x04 || X || Y
AUTH_SECRET_BYTES = 16
TAG_BYTES = 16
RECORD_SIZE = 4096
HEADER_BYTES = SALT_BYTES + 4 + 1 + POINT_BYTES  # 86 (RFC 8188 §2.1 with keyid = as_public)
# RFC 8030 §7.2 lets a push service refuse bodies over 4096 bytes: 4096 - 86 header
# - 16 tag - 1 delimiter leaves 3993 bytes of plaintext in the single record.
MAX_BODY_BYTES = 4096
MAX_PLAINTEXT_BYTES = MAX_BODY_BYTES - HEADER_BYTES - TAG_BYTES - 1
LAST_RECORD_DELIMITER = b"\x02"  # RFC 8188 §2: padding of the final record starts with 0x02


class SubscriptionKeyError(ValueError):
    """The subscription's p256dh or auth value is not usable for encryption."""


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def derive_key_and_nonce(
    ecdh_secret: bytes, auth_secret: bytes, ua_public: bytes, as_public: bytes, salt: bytes
) -> tuple[bytes, bytes]:
    """RFC 8291 §3.3-3.4 and RFC 8188 §2.2-2.3: the content key and nonce of one message.

    Each HKDF-Expand here needs at most 32 bytes, which is one HMAC over ``info || 0x01``
    (RFC 5869 §2.3).
    """
    prk_key = _hmac_sha256(auth_secret, ecdh_secret)
    key_info = b"WebPush: info\x00" + ua_public + as_public
    ikm = _hmac_sha256(prk_key, key_info + b"\x01")
    prk = _hmac_sha256(salt, ikm)
    cek = _hmac_sha256(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    nonce = _hmac_sha256(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    return cek, nonce


def load_subscription_key(ua_public: bytes, auth_secret: bytes) -> ec.EllipticCurvePublicKey:
    """The browser's ECDH key, checked to be a P-256 point; the auth secret's length checked."""
    if len(auth_secret) != AUTH_SECRET_BYTES:
        raise SubscriptionKeyError(f"auth must be {AUTH_SECRET_BYTES} bytes")
    if len(ua_public) != POINT_BYTES:
        raise SubscriptionKeyError(f"p256dh must be a {POINT_BYTES}-byte uncompressed point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ua_public)
    except ValueError as exc:
        raise SubscriptionKeyError("p256dh is not a P-256 point") from exc


def encrypt(
    plaintext: bytes,
    ua_public: bytes,
    auth_secret: bytes,
    *,
    sender_key: ec.EllipticCurvePrivateKey | None = None,
    salt: bytes | None = None,
) -> bytes:
    """The ``aes128gcm`` body for one subscription: header, then one record (RFC 8291 §4).

    Raises ``ValueError`` when the plaintext cannot fit the 4096-byte body, and
    :class:`SubscriptionKeyError` for unusable subscription keys.
    """
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise ValueError(f"plaintext of {len(plaintext)} bytes exceeds {MAX_PLAINTEXT_BYTES}")
    receiver = load_subscription_key(ua_public, auth_secret)
    sender_key = sender_key or ec.generate_private_key(ec.SECP256R1())
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    as_public = sender_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    ecdh_secret = sender_key.exchange(ec.ECDH(), receiver)
    cek, nonce = derive_key_and_nonce(ecdh_secret, auth_secret, ua_public, as_public, salt)
    # No padding beyond the delimiter: the record is as short as the message allows.
    ciphertext = AESGCM(cek).encrypt(nonce, plaintext + LAST_RECORD_DELIMITER, None)
    header = salt + struct.pack(">IB", RECORD_SIZE, POINT_BYTES) + as_public
    return header + ciphertext
