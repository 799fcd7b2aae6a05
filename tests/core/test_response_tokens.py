"""Response tokens: what a device presents to answer a push (core/response_tokens.py)."""

from __future__ import annotations

import os

from pushgate.core.ids import new_ids
from pushgate.core.response_tokens import (
    TOKEN_CHARS,
    ResponseToken,
    TokenRefused,
    mint,
    read,
)
from pushgate.core.secretbox import SecretBox

NOW = 1_800_000_000


def _claims() -> ResponseToken:
    delivery, notification, device = new_ids(3)
    return ResponseToken(delivery, notification, device, NOW + 60)


def test_a_minted_token_reads_back_its_claims() -> None:
    box = SecretBox(os.urandom(32))
    claims = _claims()
    text = mint(box, claims)
    assert len(text) == TOKEN_CHARS
    assert read(box, text, NOW) == claims


def test_expired_tokens_are_refused_as_expired() -> None:
    box = SecretBox(os.urandom(32))
    text = mint(box, _claims())
    assert read(box, text, NOW + 60) == TokenRefused("expired")


def test_a_changed_claim_or_another_instance_key_is_forged() -> None:
    box = SecretBox(os.urandom(32))
    text = mint(box, _claims())
    flipped = text[:20] + ("A" if text[20] != "A" else "B") + text[21:]
    assert read(box, flipped, NOW) == TokenRefused("forged")
    assert read(SecretBox(os.urandom(32)), text, NOW) == TokenRefused("forged")


def test_a_token_made_before_a_key_rotation_still_reads() -> None:
    old = os.urandom(32)
    text = mint(SecretBox(old), _claims())
    rotated = SecretBox(os.urandom(32), previous_keys=[old])
    assert isinstance(read(rotated, text, NOW), ResponseToken)


def test_malformed_text_is_refused_without_an_error() -> None:
    box = SecretBox(os.urandom(32))
    for text in ("", "x" * TOKEN_CHARS, "é" * TOKEN_CHARS, mint(box, _claims())[:-1] + "*"):
        assert read(box, text, NOW) == TokenRefused("malformed") or read(
            box, text, NOW
        ) == TokenRefused("forged")
    assert read(box, "!" * TOKEN_CHARS, NOW) == TokenRefused("malformed")
