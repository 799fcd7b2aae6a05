"""RFC 8291 receiver-side decryption: the RFC's own test vector and an independent encryptor."""

from __future__ import annotations

import os
from collections.abc import Callable

import http_ece
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pushgate.simulators import ece

# RFC 8291 Appendix A (docs/providers.md §3.2)
UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
UA_PUBLIC = (
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
)
AUTH_SECRET = "BTBZMqHH6r4Tts7J_aSIgg"
BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS"
    "6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qu"
    "lcy4a-fN"
)
PLAINTEXT = b"When I grow up, I want to be a watermelon"


def rfc_receiver_key() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(
        int.from_bytes(ece.b64url_decode(UA_PRIVATE), "big"), ec.SECP256R1()
    )


def public_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def test_rfc8291_appendix_a_vector_decrypts() -> None:
    key = rfc_receiver_key()
    assert ece.b64url_encode(public_bytes(key)) == UA_PUBLIC
    body = ece.b64url_decode(BODY)
    assert len(body) == 144
    assert ece.decrypt(body, key, ece.b64url_decode(AUTH_SECRET)) == PLAINTEXT


def test_http_ece_encrypted_bodies_decrypt_including_padding() -> None:
    receiver = ec.generate_private_key(ec.SECP256R1())
    auth = os.urandom(16)
    for plaintext in (b"x", "grüße ✓".encode(), os.urandom(3000)):
        body = http_ece.encrypt(
            plaintext,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=public_bytes(receiver),
            auth_secret=auth,
            version="aes128gcm",
        )
        assert ece.decrypt(body, receiver, auth) == plaintext


def test_wrong_auth_secret_is_refused() -> None:
    body = ece.b64url_decode(BODY)
    with pytest.raises(ece.EceError, match="tag"):
        ece.decrypt(body, rfc_receiver_key(), os.urandom(16))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:50], "shorter"),
        (lambda b: b[:20] + b"\x20" + b[21:], "keyid"),
        (lambda b: b[:16] + (10).to_bytes(4, "big") + b[20:], "record size"),
        (lambda b: b[:21] + b"\x04" + b"\x00" * 64 + b[86:], "point"),
    ],
)
def test_malformed_headers_are_refused(mutate: Callable[[bytes], bytes], message: str) -> None:
    body = mutate(ece.b64url_decode(BODY))
    with pytest.raises(ece.EceError, match=message):
        ece.decrypt(body, rfc_receiver_key(), ece.b64url_decode(AUTH_SECRET))


def test_record_without_last_record_delimiter_is_refused() -> None:
    receiver = ec.generate_private_key(ec.SECP256R1())
    sender = ec.generate_private_key(ec.SECP256R1())
    auth, salt = os.urandom(16), os.urandom(16)
    secret = sender.exchange(ec.ECDH(), receiver.public_key())
    key, nonce = ece.derive_key_and_nonce(
        secret, auth, public_bytes(receiver), public_bytes(sender), salt
    )
    # 0x01 marks a record that is not the last one (RFC 8188 §2); a push message has one.
    ciphertext = AESGCM(key).encrypt(nonce, b"hello\x01", None)
    body = salt + (4096).to_bytes(4, "big") + bytes([65]) + public_bytes(sender) + ciphertext
    with pytest.raises(ece.EceError, match="delimiter"):
        ece.decrypt(body, receiver, auth)
