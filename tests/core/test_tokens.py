"""Device token rules per provider."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pushgate.core import tokens
from pushgate.core.models import Provider
from pushgate.errors import InvalidInput


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_apns_tokens_are_hex_and_lowercased() -> None:
    token = "AB" * 32
    assert tokens.normalise_token(Provider.APNS, token, allow_insecure=False) == "ab" * 32


@pytest.mark.parametrize("token", ["", "xyz", "a" * 63, "ab" * 101, "ab" * 4, "ab" * 32 + "\n"])
def test_bad_apns_tokens(token: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        tokens.normalise_token(Provider.APNS, token, allow_insecure=False)
    assert caught.value.details["field"] == "token"


def test_fcm_token_charset() -> None:
    good = "dXk3:APA91b" + "x" * 140
    assert tokens.normalise_token(Provider.FCM, good, allow_insecure=False) == good
    with pytest.raises(InvalidInput):
        tokens.normalise_token(Provider.FCM, "has spaces in it, sadly", allow_insecure=False)
    with pytest.raises(InvalidInput):
        tokens.normalise_token(Provider.HMS, good + "\n", allow_insecure=False)


def test_wns_channel_must_be_in_the_notify_domain() -> None:
    good = "https://db5p.notify.windows.com/?token=AwYAAAB"
    assert tokens.normalise_token(Provider.WNS, good, allow_insecure=False) == good
    with pytest.raises(InvalidInput, match=r"notify\.windows\.com"):
        tokens.normalise_token(Provider.WNS, "https://evil.example/?t=1", allow_insecure=False)


def test_plain_http_only_on_loopback_when_allowed() -> None:
    local = "http://127.0.0.1:9000/hook"
    assert tokens.check_url("url", local, allow_insecure=True) == local
    with pytest.raises(InvalidInput, match="https"):
        tokens.check_url("url", local, allow_insecure=False)
    with pytest.raises(InvalidInput, match="https"):
        tokens.check_url("url", "http://example.com/hook", allow_insecure=True)


def test_webpush_keys_must_be_a_real_point_and_16_byte_secret() -> None:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    auth = _b64(b"a" * 16)
    assert tokens.check_webpush_keys(_b64(point), auth)["p256dh"] == _b64(point)
    not_on_curve = b"\x04" + b"\x01" * 64
    with pytest.raises(InvalidInput, match="P-256"):
        tokens.check_webpush_keys(_b64(not_on_curve), auth)
    with pytest.raises(InvalidInput, match="16 bytes"):
        tokens.check_webpush_keys(_b64(point), _b64(b"a" * 8))
