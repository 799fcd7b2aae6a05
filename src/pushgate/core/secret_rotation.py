"""Re-sealing every stored secret under the current instance key (``pushgate secrets rotate``).

Rotation has two steps so that no running process ever meets a secret it cannot open
(docs/operations.md, "Rotating the secret key"): first every process is given the new key as
current and the old one as previous (both open, only the new one seals); then this pass
re-seals what the old key sealed and rewrites each credential's keyed fingerprints, after
which the old key can be dropped. The pass is idempotent and safe beside running servers:
each value is replaced only if it is still the one that was read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pushgate.core.credentials import decode_secret, fingerprints_of
from pushgate.core.models import Sealed
from pushgate.core.ports import AccountStorePort
from pushgate.core.secretbox import SecretBox, SecretUnreadable


@dataclass(slots=True)
class RotationReport:
    """What one pass did: counts, and the values no key of this instance opens."""

    key_id: str
    resealed: int = 0
    current: int = 0
    changed_meanwhile: int = 0
    unreadable: list[Sealed] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.resealed + self.current + self.changed_meanwhile + len(self.unreadable)


async def reseal_all(accounts: AccountStorePort, box: SecretBox) -> RotationReport:
    """Re-seal every value not sealed by ``box``'s current key, and rewrite fingerprints."""
    report = RotationReport(box.key_id)
    for item in await accounts.sealed_secrets():
        try:
            plaintext = box.open(item.sealed, item.aad)
        except SecretUnreadable:
            report.unreadable.append(item)
            continue
        fingerprints = (
            fingerprints_of(decode_secret(plaintext), box.fingerprint)
            if item.is_credential
            else None
        )
        if not box.needs_reseal(item.sealed) and fingerprints is None:
            report.current += 1
            continue
        # A current envelope is still rewritten for a credential: its fingerprints may be
        # of an older scheme or key, and a fresh nonce costs nothing.
        resealed = box.seal(plaintext, item.aad)
        if not await accounts.replace_sealed(item, resealed, fingerprints):
            report.changed_meanwhile += 1
        elif box.needs_reseal(item.sealed):
            report.resealed += 1
        else:
            report.current += 1
    return report
