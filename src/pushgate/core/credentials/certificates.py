"""PKCS#12 bundles for APNs certificate auth (docs/providers.md §1.5): open, check, summarise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.serialization import pkcs12

from pushgate.core.credentials.keys import UNREADABLE
from pushgate.core.credentials.pkcs12_cost import largest_iteration_count


class Pkcs12Locked(ValueError):
    """The bundle is PKCS#12 but does not open with the password given."""


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """What the API shows about an APNs client certificate: who it names and until when."""

    subject: str
    not_after: datetime


def is_pfx(data: bytes) -> bool:
    """Whether ``data`` starts like a DER PFX: ``SEQUENCE { INTEGER 3, ...`` (RFC 7292 §4).

    A wrong password and damaged data fail alike when opening, so this structural check lets
    the error name the right field.
    """
    if len(data) < 5 or data[0] != 0x30:
        return False
    length_bytes = data[1] - 0x80 if data[1] > 0x80 else 0
    version_at = 2 + length_bytes
    return data[version_at : version_at + 3] == b"\x02\x01\x03"


def open_pkcs12(data: bytes, password: str, *, now: datetime | None = None) -> CertificateFacts:
    """Open a PKCS#12 bundle that must hold a current certificate and its private key."""
    if not is_pfx(data):
        raise ValueError("is not PKCS#12 (.p12) data")
    # The iteration counts are read before any key is derived: the bundle chooses them, and
    # opening runs each one (pkcs12_cost.py). Raises Pkcs12TooCostly, a ValueError.
    largest_iteration_count(data)
    try:
        key, certificate, _ = pkcs12.load_key_and_certificates(data, password.encode() or None)
    except UNREADABLE:
        raise Pkcs12Locked("does not open with this password") from None
    if key is None or certificate is None:
        raise ValueError("must hold both a certificate and its private key")
    if key.public_key() != certificate.public_key():
        raise ValueError("holds a private key that does not match its certificate")
    moment = now or datetime.now(UTC)
    if certificate.not_valid_after_utc <= moment:
        raise ValueError("holds a certificate that has expired; renew it (docs/providers.md §1.5)")
    if certificate.not_valid_before_utc > moment:
        raise ValueError("holds a certificate that is not valid yet")
    return CertificateFacts(
        subject=certificate.subject.rfc4514_string(), not_after=certificate.not_valid_after_utc
    )
