"""Real key material for the API tests: keys, certificates and browser subscriptions.

Everything is made with ``cryptography`` at run time; nothing here is a fixed secret.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def pkcs8_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def apns_p8() -> str:
    """An APNs ``.p8`` signing key: EC P-256 in PKCS#8 PEM (docs/providers.md §1.5)."""
    return pkcs8_pem(ec.generate_private_key(ec.SECP256R1()))


def apns_p12(
    password: str, bundle_id: str = "com.example.app", *, kdf_rounds: int | None = None
) -> str:
    """A base64 PKCS#12 bundle holding a current self-signed push certificate and its key;
    ``kdf_rounds`` sets its MAC and key-encryption iteration counts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, bundle_id),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Apple Push Services: {bundle_id}"),
        ]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    data = serialization.pkcs12.serialize_key_and_certificates(
        b"apns",
        key,
        certificate,
        None,
        _p12_encryption(password, kdf_rounds),
    )
    return base64.b64encode(data).decode()


def _p12_encryption(
    password: str, kdf_rounds: int | None
) -> serialization.KeySerializationEncryption:
    if kdf_rounds is None:
        return serialization.BestAvailableEncryption(password.encode())
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(kdf_rounds)
        .key_cert_algorithm(serialization.pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode())
    )


def fcm_service_account(project_id: str = "pushgate-test") -> dict[str, str]:
    """A Google service-account key file with a fresh RSA 2048 key (docs/providers.md §2.2)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pkcs8_pem(key),
        "client_email": f"pushgate@{project_id}.iam.gserviceaccount.com",
        "client_id": "1" + "".join(secrets.choice("0123456789") for _ in range(20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


@dataclass(frozen=True)
class BrowserSubscription:
    """A Web Push subscription as ``PushSubscription.toJSON()`` gives it (RFC 8291 §2)."""

    endpoint: str
    p256dh: str
    auth: str

    def as_json(self) -> dict[str, object]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def browser_subscription(endpoint: str) -> BrowserSubscription:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return BrowserSubscription(endpoint, b64url(point), b64url(secrets.token_bytes(16)))


def secret_forms(value: str) -> list[str]:
    """A secret and the encodings it could leak in: base64, base64url, JSON-escaped."""
    raw = value.encode()
    forms = {
        value,
        base64.b64encode(raw).decode(),
        b64url(raw),
        json.dumps(value)[1:-1],
    }
    # PEM bodies leak as their base64 lines too; the longest line is distinctive enough.
    lines = [line for line in value.splitlines() if line and not line.startswith("-----")]
    if lines:
        forms.add(max(lines, key=len))
    return sorted(forms)


def apns_token() -> str:
    return secrets.token_hex(32)


def registration_token() -> str:
    """An FCM/HMS-shaped registration token: ``<instance id>:<base64url>``."""
    return f"{b64url(secrets.token_bytes(16))}:APA91b{b64url(secrets.token_bytes(96))}"
