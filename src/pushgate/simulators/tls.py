"""TLS material for the simulators: a self-signed CA, a server certificate for
127.0.0.1/localhost, server contexts offering ALPN ``h2`` and ``http/1.1``, and APNs-style
client certificates for certificate-based provider auth (docs/providers.md §1.5).

Keys are P-256: quick to make, and APNs itself serves ECDSA certificates.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

# Apple marks APNs client certificates with these extensions (values are opaque to us):
# development (sandbox) and production environments, and the list of topics.
APPLE_SANDBOX_OID = ObjectIdentifier("1.2.840.113635.100.6.3.1")
APPLE_PRODUCTION_OID = ObjectIdentifier("1.2.840.113635.100.6.3.2")
APPLE_TOPICS_OID = ObjectIdentifier("1.2.840.113635.100.6.3.6")
_VALIDITY = datetime.timedelta(days=365)


@dataclass(frozen=True)
class CertificateAuthority:
    """The simulators' CA and server certificate as files; clients trust ``ca_path``."""

    folder: Path
    ca_path: Path
    ca_key_path: Path
    server_cert_path: Path
    server_key_path: Path

    def server_context(self, client_ca_path: Path | None = None) -> ssl.SSLContext:
        """A server context with ALPN ``h2``/``http/1.1``; with ``client_ca_path`` it asks
        for (but does not require) a client certificate signed by that CA."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2  # APNs: TLS 1.2 or later (§1.1)
        context.load_cert_chain(self.server_cert_path, self.server_key_path)
        context.set_alpn_protocols(["h2", "http/1.1"])
        if client_ca_path is not None:
            context.verify_mode = ssl.CERT_OPTIONAL
            context.load_verify_locations(cafile=str(client_ca_path))
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting this CA, offering ``h2`` (for tests and benchmarks)."""
        context = ssl.create_default_context(cafile=str(self.ca_path))
        context.set_alpn_protocols(["h2", "http/1.1"])
        return context


@dataclass(frozen=True)
class ClientCertificate:
    """An issued client certificate: PEM files and a PKCS#12 bundle (empty password)."""

    cert_path: Path
    key_path: Path
    pkcs12_path: Path


def load_or_create_authority(folder: Path | str) -> CertificateAuthority:
    """Reuse the CA and server certificate in ``folder``, or make fresh ones there."""
    folder = Path(folder)
    authority = CertificateAuthority(
        folder,
        folder / "ca.pem",
        folder / "ca-key.pem",
        folder / "server.pem",
        folder / "server-key.pem",
    )
    paths = (authority.ca_path, authority.ca_key_path, authority.server_cert_path)
    if all(path.exists() for path in paths) and authority.server_key_path.exists():
        return authority
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pushgate simulator CA")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    server_cert = (
        _builder(server_name, ca_name, server_key.public_key())
        .add_extension(_loopback_names(), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_issuer_key_id(ca_key), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_pem(authority.ca_path, ca_cert, None)
    _write_pem(authority.ca_key_path, None, ca_key)
    _write_pem(authority.server_cert_path, server_cert, None)
    _write_pem(authority.server_key_path, None, server_key)
    return authority


def issue_client_certificate(
    authority: CertificateAuthority,
    bundle_id: str,
    *,
    environment: str = "production",
    topics: list[str] | None = None,
    name: str = "client",
) -> ClientCertificate:
    """An APNs-style client certificate for ``bundle_id`` signed by ``authority``.

    Like Apple's, the subject carries the bundle ID as UID and the CN
    ``Apple Push Services: <bundle id>``; the environment and extra topics are marked
    with Apple's extension OIDs (their content is our own simple encoding).
    """
    ca_key = serialization.load_pem_private_key(authority.ca_key_path.read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(authority.ca_path.read_bytes())
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{authority.ca_key_path}: the CA key is not an EC private key")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, bundle_id),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Apple Push Services: {bundle_id}"),
        ]
    )
    env_oid = APPLE_SANDBOX_OID if environment == "sandbox" else APPLE_PRODUCTION_OID
    builder = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(_issuer_key_id(ca_key), critical=False)
        .add_extension(x509.UnrecognizedExtension(env_oid, b"\x05\x00"), critical=False)
    )
    if topics:
        encoded = encode_topics([bundle_id, *topics])
        builder = builder.add_extension(
            x509.UnrecognizedExtension(APPLE_TOPICS_OID, encoded), critical=False
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    result = ClientCertificate(
        authority.folder / f"{name}.pem",
        authority.folder / f"{name}-key.pem",
        authority.folder / f"{name}.p12",
    )
    _write_pem(result.cert_path, cert, None)
    _write_pem(result.key_path, None, key)
    bundle = pkcs12.serialize_key_and_certificates(
        name.encode(), key, cert, None, serialization.NoEncryption()
    )
    result.pkcs12_path.write_bytes(bundle)
    return result


def encode_topics(topics: list[str]) -> bytes:
    """DER SEQUENCE OF UTF8String, the simulator's encoding of a multi-topic certificate."""
    body = b"".join(_der(0x0C, topic.encode()) for topic in topics)
    return _der(0x30, body)


def decode_topics(data: bytes) -> list[str]:
    """Inverse of :func:`encode_topics`; raises ValueError on anything else."""
    tag, body, rest = _der_read(data)
    if tag != 0x30 or rest:
        raise ValueError("topics extension is not a SEQUENCE")
    topics = []
    while body:
        tag, value, body = _der_read(body)
        if tag != 0x0C:
            raise ValueError("topic is not a UTF8String")
        topics.append(value.decode())
    return topics


def _der(tag: int, value: bytes) -> bytes:
    size = len(value)
    if size < 0x80:
        return bytes([tag, size]) + value
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + value


def _der_read(data: bytes) -> tuple[int, bytes, bytes]:
    if len(data) < 2:
        raise ValueError("truncated DER")
    tag, size, offset = data[0], data[1], 2
    if size & 0x80:
        count = size & 0x7F
        size, offset = int.from_bytes(data[2 : 2 + count], "big"), 2 + count
    if len(data) < offset + size:
        raise ValueError("truncated DER")
    return tag, data[offset : offset + size], data[offset + size :]


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + _VALIDITY)
    )


def _issuer_key_id(ca_key: ec.EllipticCurvePrivateKey) -> x509.AuthorityKeyIdentifier:
    # Every simulator CA has the same name: the key id lets a verifier that trusts several
    # (another data dir's, a test's) pick the one that signed (RFC 5280 §4.2.1.1).
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


# Provider host names are included so that a client which insists on the real host name
# (reaching the simulator through a CONNECT proxy or a resolver override) can still verify
# the certificate; only those who trust this CA are affected.
PROVIDER_HOST_NAMES = (
    "api.push.apple.com",
    "api.sandbox.push.apple.com",
    "api.development.push.apple.com",
    "fcm.googleapis.com",
    "oauth2.googleapis.com",
)


def _loopback_names() -> x509.SubjectAlternativeName:
    return x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            *(x509.DNSName(name) for name in PROVIDER_HOST_NAMES),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]
    )


def _write_pem(
    path: Path, cert: x509.Certificate | None, key: ec.EllipticCurvePrivateKey | None
) -> None:
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        path.chmod(0o600)
