"""API key material: how keys look, how they are hashed and checked.

A key reads ``pgk_<prefix>_<secret>``. The prefix finds the row; only the SHA-256 of the
whole key is stored (keys are 190+ random bits, so a slow password hash adds nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_MARK = "pgk"
PREFIX_BYTES = 6
SECRET_BYTES = 24


@dataclass(frozen=True, slots=True)
class NewKeyMaterial:
    plaintext: str
    prefix: str
    secret_hash: str


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_key() -> NewKeyMaterial:
    prefix = secrets.token_hex(PREFIX_BYTES)
    plaintext = f"{KEY_MARK}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return NewKeyMaterial(plaintext, prefix, hash_key(plaintext))


def split_prefix(plaintext: str) -> str | None:
    """The lookup prefix of a presented key, or None when it is not shaped like one."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_MARK or len(parts[1]) != PREFIX_BYTES * 2:
        return None
    return parts[1]


def is_matching(plaintext: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext), secret_hash)
