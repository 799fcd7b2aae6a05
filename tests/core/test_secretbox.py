"""SecretBox: AES-256-GCM envelope for provider secrets, bound to its owner by AAD."""

from __future__ import annotations

import base64
import hashlib
import os
import pickle

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pushgate.core.secretbox import SecretBox, SecretUnreadable
from pushgate.errors import ConfigError, PushgateError

OWNER = b"app:0b3c:apns"
PLAINTEXT = b'{"private_key":"-----BEGIN PRIVATE KEY-----..."}'


@pytest.fixture
def key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def box(key: bytes) -> SecretBox:
    return SecretBox(key)


def test_sealed_secret_opens_with_the_same_key_and_owner(box: SecretBox) -> None:
    sealed = box.seal(PLAINTEXT, OWNER)

    assert box.open(sealed, OWNER) == PLAINTEXT
    assert PLAINTEXT not in sealed
    assert sealed[0] == 1  # format version
    assert len(sealed) == 1 + 4 + 12 + len(PLAINTEXT) + 16


def test_each_seal_uses_a_fresh_nonce(box: SecretBox) -> None:
    first, second = box.seal(PLAINTEXT, OWNER), box.seal(PLAINTEXT, OWNER)

    assert first[5:17] != second[5:17]
    assert first != second


def test_empty_plaintext_round_trips(box: SecretBox) -> None:
    assert box.open(box.seal(b"", OWNER), OWNER) == b""


def test_sealed_form_matches_the_documented_layout(key: bytes, box: SecretBox) -> None:
    # Another implementation can open it from the module docstring alone: HKDF-SHA256 of the
    # instance key, AES-256-GCM over (version | key id | nonce) + caller AAD.
    sealed = box.seal(PLAINTEXT, OWNER)
    aes_key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"pushgate secretbox v1 aes-256-gcm"
    ).derive(key)

    opened = AESGCM(aes_key).decrypt(sealed[5:17], sealed[17:], sealed[:17] + OWNER)

    assert opened == PLAINTEXT


def test_another_owner_cannot_open_the_secret(box: SecretBox) -> None:
    sealed = box.seal(PLAINTEXT, OWNER)

    with pytest.raises(SecretUnreadable) as caught:
        box.open(sealed, b"app:0b3c:fcm")

    assert caught.value.code == "secret_unreadable"
    assert isinstance(caught.value, PushgateError)
    assert caught.value.details == {"reason": "authentication_failed"}


def test_another_key_cannot_open_the_secret(box: SecretBox) -> None:
    sealed = box.seal(PLAINTEXT, OWNER)

    with pytest.raises(SecretUnreadable) as caught:
        SecretBox(os.urandom(32)).open(sealed, OWNER)

    assert caught.value.details["reason"] == "unknown_key"


@pytest.mark.parametrize(
    ("position", "reason"),
    [
        (0, "unknown_version"),
        (2, "unknown_key"),
        (8, "authentication_failed"),  # nonce
        (20, "authentication_failed"),  # ciphertext
        (-1, "authentication_failed"),  # tag
    ],
)
def test_any_altered_byte_is_refused(box: SecretBox, position: int, reason: str) -> None:
    sealed = bytearray(box.seal(PLAINTEXT, OWNER))
    sealed[position] ^= 0x01

    with pytest.raises(SecretUnreadable) as caught:
        box.open(bytes(sealed), OWNER)

    assert caught.value.details["reason"] == reason


@pytest.mark.parametrize("length", [0, 1, 17, 32])
def test_truncated_input_is_refused(box: SecretBox, length: int) -> None:
    sealed = box.seal(b"", OWNER)[:length]

    with pytest.raises(SecretUnreadable) as caught:
        box.open(sealed, OWNER)

    assert caught.value.details["reason"] == "truncated"


def test_errors_never_carry_the_plaintext(box: SecretBox) -> None:
    sealed = box.seal(PLAINTEXT, OWNER)

    with pytest.raises(SecretUnreadable) as caught:
        box.open(sealed, b"app:other:apns")

    assert b"PRIVATE" not in str(caught.value).encode()
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_rotated_key_still_opens_old_secrets_and_asks_for_reseal() -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    old_sealed = SecretBox(old_key).seal(PLAINTEXT, OWNER)
    rotated = SecretBox(new_key, previous_keys=[old_key])

    assert rotated.open(old_sealed, OWNER) == PLAINTEXT
    assert rotated.needs_reseal(old_sealed)
    resealed = rotated.seal(rotated.open(old_sealed, OWNER), OWNER)
    assert not rotated.needs_reseal(resealed)
    with pytest.raises(SecretUnreadable):
        SecretBox(old_key).open(resealed, OWNER)


@pytest.mark.parametrize("bad_key", [b"", os.urandom(16), os.urandom(31), os.urandom(33)])
def test_key_must_be_32_bytes(bad_key: bytes) -> None:
    with pytest.raises(ConfigError) as caught:
        SecretBox(bad_key)

    assert caught.value.details == {"key": "secret_key"}


def test_a_bad_previous_key_is_refused(key: bytes) -> None:
    with pytest.raises(ConfigError):
        SecretBox(key, previous_keys=[b"short"])


def test_repr_and_pickle_never_expose_the_key(key: bytes, box: SecretBox) -> None:
    shown = repr(box) + str(box)

    for form in (key.hex(), base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode()):
        assert form.rstrip("=") not in shown
    assert not hasattr(box, "__dict__")
    with pytest.raises(TypeError):
        pickle.dumps(box)


def test_fingerprints_are_keyed_by_the_instance_key(key: bytes, box: SecretBox) -> None:
    value = "hunter2"
    assert box.fingerprint(value) == SecretBox(key).fingerprint(value)
    assert len(box.fingerprint(value)) == 16
    assert box.fingerprint(value) != box.fingerprint("hunter3")
    # Without the instance key a guess cannot be confirmed: neither a bare hash nor another
    # instance's fingerprint matches.
    assert box.fingerprint(value) != hashlib.sha256(value.encode()).hexdigest()[:16]
    assert box.fingerprint(value) != SecretBox(bytes(32)).fingerprint(value)
