"""RFC 8291 sender-side encryption and RFC 8292 VAPID tokens, checked against the RFC's test
vector and by libraries nobody here wrote (http_ece decrypts, PyJWT verifies)."""

from __future__ import annotations

import os

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pushgate.core.credentials.keys import b64url_decode, b64url_encode
from pushgate.providers.http_client import origin_of
from pushgate.providers.vapid import VapidSigner
from pushgate.providers.webpush import topic_for
from pushgate.providers.webpush_crypto import (
    MAX_PLAINTEXT_BYTES,
    SubscriptionKeyError,
    encrypt,
)
from tests.providers.http_material import make_clock

# RFC 8291 Appendix A (also quoted in docs/providers.md §3.2).
UA_PUBLIC = (
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
)
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
PLAINTEXT = b"When I grow up, I want to be a watermelon"
BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLoc"
    "InmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLV"
    "WGNWQexSgSxsj_Qulcy4a-fN"
)


def browser_keys() -> tuple[ec.EllipticCurvePrivateKey, bytes, bytes]:
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return private, public, os.urandom(16)


def test_rfc8291_appendix_a_vector_is_byte_exact() -> None:
    sender = ec.derive_private_key(int.from_bytes(b64url_decode(AS_PRIVATE), "big"), ec.SECP256R1())
    body = encrypt(
        PLAINTEXT,
        b64url_decode(UA_PUBLIC),
        b64url_decode(AUTH),
        sender_key=sender,
        salt=b64url_decode(SALT),
    )
    assert b64url_encode(body) == BODY
    assert len(body) == 144


def test_http_ece_decrypts_what_we_encrypt() -> None:
    private, public, auth = browser_keys()
    plaintext = b'{"title":"Booked","body":"10:00 \xe2\x9c\x93"}'
    body = encrypt(plaintext, public, auth)
    assert http_ece.decrypt(body, private_key=private, auth_secret=auth) == plaintext


def test_each_message_has_a_fresh_salt_and_sender_key() -> None:
    _, public, auth = browser_keys()
    first, second = encrypt(b"same", public, auth), encrypt(b"same", public, auth)
    assert first[:16] != second[:16]  # salt
    assert first[21:86] != second[21:86]  # keyid = sender public key


def test_largest_plaintext_fills_exactly_4096_bytes_and_one_more_is_refused() -> None:
    private, public, auth = browser_keys()
    body = encrypt(b"x" * MAX_PLAINTEXT_BYTES, public, auth)
    assert len(body) == 4096
    assert http_ece.decrypt(body, private_key=private, auth_secret=auth) == b"x" * 3993
    with pytest.raises(ValueError, match="exceeds 3993"):
        encrypt(b"x" * (MAX_PLAINTEXT_BYTES + 1), public, auth)


@pytest.mark.parametrize(
    ("public", "auth"),
    [(b"\x04" + b"\x01" * 64, os.urandom(16)), (b"\x04" * 10, os.urandom(16))],
    # Named, not shown: random bytes in an id differ between the xdist workers' collections.
    ids=["point-off-the-curve", "too-short"],
)
def test_unusable_subscription_keys_are_refused(public: bytes, auth: bytes) -> None:
    with pytest.raises(SubscriptionKeyError):
        encrypt(b"hello", public, auth)


def test_short_auth_secret_is_refused() -> None:
    _, public, _ = browser_keys()
    with pytest.raises(SubscriptionKeyError, match="auth"):
        encrypt(b"hello", public, b"short")


def test_pyjwt_verifies_our_vapid_token_for_the_endpoint_origin() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    clock = make_clock()
    signer = VapidSigner(key, "mailto:ops@example.com", clock)
    header = signer.authorization("https://push.example.net:8443/wp/abc?x=1")
    token = header.removeprefix("vapid t=").split(",")[0]
    assert header.endswith(f", k={signer.public_key}")
    claims = jwt.decode(
        token, key.public_key(), algorithms=["ES256"], audience="https://push.example.net:8443"
    )
    assert claims["sub"] == "mailto:ops@example.com"
    assert clock.now < claims["exp"] <= clock.now + 24 * 3600
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "typ": "JWT"}
    raw_key = b64url_decode(signer.public_key)
    assert ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw_key)


def test_vapid_token_is_reused_per_audience_until_close_to_expiry() -> None:
    clock = make_clock()
    signer = VapidSigner(ec.generate_private_key(ec.SECP256R1()), "mailto:a@b.example", clock)
    first = signer.token_for("https://fcm.example.com/wp/1")
    assert signer.token_for("https://fcm.example.com/wp/2") == first
    other = signer.token_for("https://updates.example.org/wp/1")
    assert other != first
    clock.advance(10 * 3600)
    assert signer.token_for("https://fcm.example.com/wp/3") == first
    clock.advance(2 * 3600)  # within the last hour of the 12 h token: a new one
    renewed = signer.token_for("https://fcm.example.com/wp/4")
    assert renewed != first
    claims = jwt.decode(renewed, options={"verify_signature": False})
    assert claims["exp"] == int(clock.now) + 12 * 3600


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Push.Example.com/wp/1", "https://push.example.com"),
        ("https://push.example.com:443/wp/1", "https://push.example.com"),
        ("http://127.0.0.1:8080/wp/1", "http://127.0.0.1:8080"),
        ("https://[::1]:9000/x", "https://[::1]:9000"),
    ],
)
def test_audience_is_the_origin_of_the_endpoint(url: str, origin: str) -> None:
    assert origin_of(url) == origin


def test_topic_is_the_collapse_key_or_a_32_character_digest() -> None:
    assert topic_for("appointment-7") == "appointment-7"
    long_key = "appointment:7:reminder:with a space and more than 32 chars"
    topic = topic_for(long_key)
    assert len(topic) == 32
    assert topic == topic_for(long_key)
    assert set(topic) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
