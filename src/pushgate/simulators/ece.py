"""Receiver side of Web Push message encryption: RFC 8291 over the RFC 8188 ``aes128gcm``
content coding, as a browser decrypts what a push service hands it (docs/providers.md §3.2).

Written for the Web Push simulator, which plays the browser and must show tests the
plaintext an application server really sent.
"""

from __future__ import annotations

import base64
import hmac
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SALT_LENGTH = 16
KEYID_LENGTH = 65  # RFC 8291 §4: keyid is the sender's uncompressed P-256 point
HEADER_LENGTH = SALT_LENGTH + 4 + 1 + KEYID_LENGTH  # 86 bytes, docs/providers.md §3.2
TAG_LENGTH = 16
LAST_RECORD_DELIMITER = 0x02  # RFC 8188 §2: the final record's padding starts with 0x02


class EceError(ValueError):
    """The body is not a well-formed, decryptable RFC 8291 message for this receiver."""


def b64url_encode(data: bytes) -> str:
    """Base64url without padding, the form Web Push uses for keys (RFC 8291 §3.2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Base64url with or without padding; raises ValueError on bad input."""
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def derive_key_and_nonce(
    ecdh_secret: bytes, auth_secret: bytes, ua_public: bytes, as_public: bytes, salt: bytes
) -> tuple[bytes, bytes]:
    """RFC 8291 §3.3-3.4 and RFC 8188 §2.2-2.3: the content key and nonce of one message.

    Every HKDF-Expand here asks for at most 32 bytes, so each is a single HMAC over
    ``info || 0x01`` (RFC 5869 §2.3).
    """
    prk_key = _hmac_sha256(auth_secret, ecdh_secret)
    key_info = b"WebPush: info\x00" + ua_public + as_public
    ikm = _hmac_sha256(prk_key, key_info + b"\x01")
    prk = _hmac_sha256(salt, ikm)
    cek = _hmac_sha256(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    nonce = _hmac_sha256(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    return cek, nonce


def decrypt(body: bytes, ua_private: ec.EllipticCurvePrivateKey, auth_secret: bytes) -> bytes:
    """Decrypt one ``aes128gcm`` Web Push body with the subscription's private key."""
    if len(body) < HEADER_LENGTH + TAG_LENGTH + 1:
        raise EceError("body shorter than the aes128gcm header plus one record")
    salt = body[:SALT_LENGTH]
    (record_size,) = struct.unpack_from(">I", body, SALT_LENGTH)
    keyid_length = body[SALT_LENGTH + 4]
    if keyid_length != KEYID_LENGTH:
        raise EceError(f"keyid must be a {KEYID_LENGTH}-byte P-256 point, not {keyid_length}")
    as_public = body[SALT_LENGTH + 5 : HEADER_LENGTH]
    ciphertext = body[HEADER_LENGTH:]
    # RFC 8291 §4: a push message is exactly one record, so it must fit in ``rs``.
    if record_size < TAG_LENGTH + 2 or len(ciphertext) > record_size:
        raise EceError(f"record size {record_size} does not hold a single record")
    try:
        sender_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public)
    except ValueError as exc:
        raise EceError("keyid is not a valid P-256 point") from exc
    ecdh_secret = ua_private.exchange(ec.ECDH(), sender_key)
    ua_public = ua_private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    cek, nonce = derive_key_and_nonce(ecdh_secret, auth_secret, ua_public, as_public, salt)
    try:
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
    except InvalidTag as exc:
        raise EceError("authentication tag does not verify (wrong keys or corrupt body)") from exc
    unpadded = padded.rstrip(b"\x00")
    if not unpadded or unpadded[-1] != LAST_RECORD_DELIMITER:
        raise EceError("record does not end with the last-record delimiter 0x02")
    return unpadded[:-1]
