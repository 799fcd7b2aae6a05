"""Encryption at rest for provider secrets: AES-256-GCM with a versioned envelope.

Sealed form (format version 1)::

    version (1 byte = 0x01) | key id (4 bytes) | nonce (12 random bytes) | ciphertext + 16-byte tag

The version byte lets the format change later; the key id names which instance key sealed
the value, so a box built with a new key and the old ones as ``previous_keys`` still opens
what the old key sealed (and ``needs_reseal`` says what to re-encrypt). The caller's AAD binds
a secret to its owner (``b"app:<id>:apns"``): a sealed value copied to another app or kind
does not open. The header is authenticated too, so flipping the version or key id fails.

The instance key is never used directly: AES, key-id and fingerprint material come from
HKDF-SHA256 (RFC 5869) with distinct ``info`` labels, so the same instance key can safely
serve other purposes. Random 96-bit nonces are safe far beyond the number of secrets one instance
holds (NIST SP 800-38D §8.3 bounds one key to 2^32 random-nonce encryptions).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pushgate.errors import ConfigError, PushgateError

FORMAT_VERSION = 1
KEY_BYTES = 32
KEY_ID_BYTES = 4
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES

_AES_INFO = b"pushgate secretbox v1 aes-256-gcm"
_KEY_ID_INFO = b"pushgate secretbox v1 key-id"
_FINGERPRINT_INFO = b"pushgate secretbox v1 fingerprint"
_SIGNING_INFO = b"pushgate secretbox v1 signing"
FINGERPRINT_HEX_CHARS = 16


class SecretUnreadable(PushgateError):
    """A sealed secret cannot be opened: wrong key, wrong owner (AAD), or damaged bytes."""

    code = "secret_unreadable"


def _derive(key: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(key)


class _Key:
    """One instance key, held only as its derived cipher and id."""

    __slots__ = ("cipher", "fingerprint_key", "key_id", "signing_key")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise ConfigError(
                f"the secret key must be exactly {KEY_BYTES} bytes",
                details={"key": "secret_key"},
            )
        self.key_id = _derive(key, _KEY_ID_INFO, KEY_ID_BYTES)
        self.cipher = AESGCM(_derive(key, _AES_INFO, KEY_BYTES))
        self.fingerprint_key = _derive(key, _FINGERPRINT_INFO, KEY_BYTES)
        self.signing_key = _derive(key, _SIGNING_INFO, KEY_BYTES)


class SecretBox:
    """Seals and opens secrets with the instance key (and opens with older keys).

    ``seal`` always uses ``key``; ``open`` accepts anything sealed by ``key`` or one of
    ``previous_keys``. Neither the key nor anything derived from it appears in ``repr``.
    """

    __slots__ = ("_current", "_keys")

    def __init__(self, key: bytes, *, previous_keys: Iterable[bytes] = ()) -> None:
        self._current = _Key(key)
        self._keys: dict[bytes, _Key] = {}
        for item in (*previous_keys, key):
            derived = _Key(item)
            self._keys[derived.key_id] = derived
        # The current key wins if an old key shares its id (only possible for the same key).
        self._keys[self._current.key_id] = self._current

    def __repr__(self) -> str:
        return f"SecretBox(keys={len(self._keys)})"

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the key material wherever the pickle goes.
        raise TypeError("SecretBox cannot be pickled")

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt ``plaintext`` for the owner named by ``aad``."""
        header = bytes([FORMAT_VERSION]) + self._current.key_id + os.urandom(NONCE_BYTES)
        nonce = header[1 + KEY_ID_BYTES :]
        return header + self._current.cipher.encrypt(nonce, plaintext, header + aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        """Decrypt what ``seal`` produced; raise ``SecretUnreadable`` on any mismatch."""
        key = self._key_for(sealed)
        header, body = sealed[:HEADER_BYTES], sealed[HEADER_BYTES:]
        try:
            return key.cipher.decrypt(header[1 + KEY_ID_BYTES :], body, header + aad)
        except InvalidTag:
            # Deliberately no detail: wrong owner and tampering look the same to GCM.
            raise SecretUnreadable(
                "stored secret does not open: it belongs to another owner or was altered",
                details={"reason": "authentication_failed"},
            ) from None

    def fingerprint(self, value: str) -> str:
        """A short digest that tells one secret value from another on reads.

        Keyed (HMAC-SHA256 under a key derived from the instance key, RFC 2104), so that a
        fingerprint shown to a tenant cannot confirm a guessed secret: a bare hash of a
        short password or a known key file could be checked by anyone holding it. A new
        instance key gives new fingerprints (``pushgate secrets rotate`` rewrites them).
        """
        digest = hmac.new(self._current.fingerprint_key, value.encode(), "sha256")
        return digest.hexdigest()[:FINGERPRINT_HEX_CHARS]

    def sign(self, purpose: bytes, data: bytes) -> bytes:
        """``key id | HMAC-SHA256(purpose, data)`` truncated to 16 bytes, under the current
        key: for values pushgate hands out and later checks (response tokens). The
        purpose label keeps a tag made for one use from passing as another's."""
        key = self._current
        return key.key_id + _tag(key.signing_key, purpose, data)

    def signer(self, purpose: bytes) -> Signer:
        """What :meth:`sign` does, for many values in a row: the keyed hash state with the
        purpose already absorbed is made once and copied per value, which costs about half
        of a one-shot HMAC in the send path (bench/interaction_tokens.py)."""
        key = self._current
        return Signer(key.key_id, hmac.new(key.signing_key, purpose + b"\0", "sha256"))

    def verifier(self, purpose: bytes) -> Verifier:
        """What :meth:`verify` does, for many values in a row: a keyed hash state per key
        with the purpose already absorbed, made once and copied per value (devices'
        interaction reports check a token per event)."""
        return Verifier(
            {
                key_id: hmac.new(key.signing_key, purpose + b"\0", "sha256")
                for key_id, key in self._keys.items()
            }
        )

    def verify(self, purpose: bytes, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is what :meth:`sign` made for ``data``, under the current
        key or a previous one (so tokens outlive a key rotation until they expire)."""
        key = self._keys.get(signature[:KEY_ID_BYTES])
        if key is None:
            return False
        return hmac.compare_digest(signature[KEY_ID_BYTES:], _tag(key.signing_key, purpose, data))

    @property
    def key_id(self) -> str:
        """The current key's public id (hex), as written in every envelope it seals."""
        return self._current.key_id.hex()

    def needs_reseal(self, sealed: bytes) -> bool:
        """True when ``sealed`` was made by an older key or format and should be re-sealed."""
        return sealed[:1] != bytes([FORMAT_VERSION]) or (
            sealed[1 : 1 + KEY_ID_BYTES] != self._current.key_id
        )

    def _key_for(self, sealed: bytes) -> _Key:
        if len(sealed) < HEADER_BYTES + TAG_BYTES:
            raise SecretUnreadable("stored secret is truncated", details={"reason": "truncated"})
        if sealed[0] != FORMAT_VERSION:
            raise SecretUnreadable(
                f"stored secret has unknown format version {sealed[0]}",
                details={"reason": "unknown_version", "version": sealed[0]},
            )
        key = self._keys.get(sealed[1 : 1 + KEY_ID_BYTES])
        if key is None:
            raise SecretUnreadable(
                "stored secret was sealed with a key this instance does not hold",
                details={"reason": "unknown_key"},
            )
        return key


SIGNATURE_BYTES = KEY_ID_BYTES + TAG_BYTES


class Signer:
    """Signs values as :meth:`SecretBox.sign` would under one purpose and the key that was
    current when it was made; kept per batch, not for long (a rotation moves on)."""

    __slots__ = ("_key_id", "_state")

    def __init__(self, key_id: bytes, state: hmac.HMAC) -> None:
        self._key_id = key_id
        self._state = state

    def sign(self, data: bytes) -> bytes:
        state = self._state.copy()
        state.update(data)
        return self._key_id + state.digest()[:TAG_BYTES]


class Verifier:
    """Checks values as :meth:`SecretBox.verify` would under one purpose, with the keys of
    the box that made it (the current one and the previous ones)."""

    __slots__ = ("_states",)

    def __init__(self, states: dict[bytes, hmac.HMAC]) -> None:
        self._states = states

    def verify(self, data: bytes, signature: bytes) -> bool:
        prepared = self._states.get(signature[:KEY_ID_BYTES])
        if prepared is None:
            return False
        state = prepared.copy()
        state.update(data)
        return hmac.compare_digest(signature[KEY_ID_BYTES:], state.digest()[:TAG_BYTES])


def _tag(key: bytes, purpose: bytes, data: bytes) -> bytes:
    # RFC 2104 §5: a truncated HMAC keeps at least half the hash; 128 bits here.
    return hmac.digest(key, purpose + b"\0" + data, "sha256")[:TAG_BYTES]
