"""Interaction tokens: what every push carries so its device can report on it
(core/interaction_tokens.py)."""

from __future__ import annotations

import os

from pushgate.core import response_tokens
from pushgate.core.ids import new_ids
from pushgate.core.interaction_tokens import (
    TOKEN_CHARS,
    InteractionClaims,
    InteractionRefused,
    mint,
    read,
)
from pushgate.core.secretbox import SecretBox

NOW = 1_800_000_000


def _claims() -> InteractionClaims:
    delivery, notification, device = new_ids(3)
    return InteractionClaims(delivery, notification, device, NOW + 60)


def test_a_minted_token_reads_back_for_its_own_delivery() -> None:
    box = SecretBox(os.urandom(32))
    claims = _claims()
    text = mint(box, claims)
    assert len(text) == TOKEN_CHARS == 55
    assert read(box, text, claims.delivery_id, claims.notification_id, NOW) == claims


def test_another_delivery_or_notification_makes_it_forged() -> None:
    box = SecretBox(os.urandom(32))
    claims = _claims()
    text = mint(box, claims)
    [other] = new_ids(1)
    assert read(box, text, other, claims.notification_id, NOW) == InteractionRefused("forged")
    assert read(box, text, claims.delivery_id, other, NOW) == InteractionRefused("forged")


def test_a_changed_byte_or_another_instance_key_is_forged() -> None:
    box = SecretBox(os.urandom(32))
    claims = _claims()
    text = mint(box, claims)
    flipped = text[:10] + ("A" if text[10] != "A" else "B") + text[11:]
    ids = (claims.delivery_id, claims.notification_id)
    assert read(box, flipped, *ids, NOW) == InteractionRefused("forged")
    assert read(SecretBox(os.urandom(32)), text, *ids, NOW) == InteractionRefused("forged")


def test_expired_and_malformed_tokens_say_so() -> None:
    box = SecretBox(os.urandom(32))
    claims = _claims()
    text = mint(box, claims)
    ids = (claims.delivery_id, claims.notification_id)
    assert read(box, text, *ids, NOW + 60) == InteractionRefused("expired")
    assert read(box, text[:-1], *ids, NOW) == InteractionRefused("malformed")
    assert read(box, "*" * TOKEN_CHARS, *ids, NOW) == InteractionRefused("malformed")
    assert read(box, "é" * TOKEN_CHARS, *ids, NOW) == InteractionRefused("malformed")


def test_a_response_token_tag_does_not_pass_as_an_interaction_token() -> None:
    """Both are signed by the same instance key; their purposes keep them apart."""
    box = SecretBox(os.urandom(32))
    claims = _claims()
    answer = response_tokens.mint(
        box,
        response_tokens.ResponseToken(
            claims.delivery_id, claims.notification_id, claims.device_id, claims.expires_at
        ),
    )
    refused = read(box, answer, claims.delivery_id, claims.notification_id, NOW)
    assert refused == InteractionRefused("malformed")


def test_a_token_made_before_a_key_rotation_still_reads() -> None:
    old = os.urandom(32)
    claims = _claims()
    text = mint(SecretBox(old), claims)
    rotated = SecretBox(os.urandom(32), previous_keys=[old])
    assert read(rotated, text, claims.delivery_id, claims.notification_id, NOW) == claims
