"""What validating a credential set produces, and the read-only view the API shows.

A ``CredentialSet`` splits one provider's configuration into ``public`` fields (safe to show
and to store in clear) and ``secret`` fields (stored only sealed, never shown). Secrets made
on request (a VAPID key, a ``whsec_`` signing secret) are also in ``generated`` so the caller
can show them once. Reads show a keyed fingerprint per secret instead of its value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

PublicValue = str | int | bool

Fingerprint = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class CredentialSet:
    """One provider kind's validated credentials, split into public and secret fields."""

    kind: str
    public: dict[str, PublicValue]
    secret: dict[str, str] = field(repr=False)
    generated: dict[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        # Only names of secret fields, never values (docs/architecture.md §6: redacted in reprs).
        return (
            f"CredentialSet(kind={self.kind!r}, public={self.public!r}, "
            f"secret=<{', '.join(sorted(self.secret))}>, "
            f"generated=<{', '.join(sorted(self.generated))}>)"
        )

    def secret_fingerprints(self, fingerprint: Fingerprint) -> dict[str, str]:
        """A fingerprint per secret field, to store beside ``public`` and show on reads
        (``fingerprint`` is the instance's keyed digest, ``SecretBox.fingerprint``)."""
        return fingerprints_of(self.secret, fingerprint)

    def secret_bytes(self) -> bytes:
        """The secret fields as canonical JSON bytes, ready for ``SecretBox.seal``."""
        return encode_secret(self.secret)


def fingerprints_of(secret: dict[str, str], fingerprint: Fingerprint) -> dict[str, str]:
    """A fingerprint per secret field, by name."""
    return {name: fingerprint(value) for name, value in sorted(secret.items())}


def encode_secret(secret: dict[str, str]) -> bytes:
    """Serialise secret fields to bytes (sorted keys, so equal secrets give equal bytes)."""
    return json.dumps(secret, sort_keys=True, separators=(",", ":")).encode()


def decode_secret(data: bytes) -> dict[str, str]:
    """Inverse of ``encode_secret`` (for bytes that ``SecretBox.open`` returned)."""
    loaded = json.loads(data)
    if not isinstance(loaded, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in loaded.items()
    ):
        raise ValueError("stored secret is not an object of strings")
    return loaded


def describe(
    public: dict[str, PublicValue], secret_fingerprints: dict[str, str]
) -> dict[str, object]:
    """The view of a stored credential set the API returns: nothing secret in it.

    ``fields_set`` names every field that has a value; ``values`` holds the public ones and
    ``fingerprints`` one digest per secret field, so an operator can tell which key is
    configured without the key ever leaving the instance.
    """
    return {
        "fields_set": sorted({*public, *secret_fingerprints}),
        "values": dict(sorted(public.items())),
        "fingerprints": dict(sorted(secret_fingerprints.items())),
    }
