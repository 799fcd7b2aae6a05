"""Provider credentials: every kind's field rules, the public/secret split and redaction."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import traceback
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from py_vapid import Vapid02
from standardwebhooks import Webhook

from pushgate.core.credentials import (
    KINDS,
    CredentialSet,
    decode_secret,
    describe,
    validate_credentials,
)
from pushgate.core.secretbox import SecretBox
from pushgate.errors import InvalidInput


def pem(key: PrivateKeyTypes, form: str = "pkcs8", password: bytes | None = None) -> str:
    private_format = {
        "pkcs8": serialization.PrivateFormat.PKCS8,
        "traditional": serialization.PrivateFormat.TraditionalOpenSSL,
    }[form]
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, private_format, encryption).decode()


def weak_rsa_pem() -> str:
    """An RSA key too small to accept, to check that it is refused."""
    return pem(rsa.generate_private_key(65537, 1024))  # noqa: S505


@pytest.fixture(scope="module")
def p256_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(
    key: PrivateKeyTypes, *, not_before: datetime, not_after: datetime
) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, "com.example.app"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Apple Push Services: com.example.app"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )


def p12(
    key: Any,
    cert: x509.Certificate | None,
    password: bytes,
    cas: list[x509.Certificate] | None = None,
) -> str:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    data = pkcs12.serialize_key_and_certificates(b"apns", key, cert, cas, encryption)
    return base64.b64encode(data).decode()


NOW = datetime.now(UTC)
VALID_FROM, VALID_UNTIL = NOW - timedelta(days=1), NOW + timedelta(days=365)


def rejected(kind: str, raw: Any, *, insecure: bool = False) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        validate_credentials(kind, raw, allow_insecure_targets=insecure)
    return caught.value


def assert_rejected(kind: str, raw: Any, field: str, *, insecure: bool = False) -> InvalidInput:
    error = rejected(kind, raw, insecure=insecure)
    assert error.details["field"] == field, error.details
    assert error.code == "validation_failed"
    assert field in error.message
    return error


def accepted(kind: str, raw: dict[str, Any], *, insecure: bool = False) -> CredentialSet:
    return validate_credentials(kind, raw, allow_insecure_targets=insecure)


def test_the_seven_kinds_are_offered() -> None:
    assert set(KINDS) == {"apns", "fcm", "webpush", "wns", "hms", "webhook", "relay"}


def test_relay_credentials_keep_the_key_secret_and_need_https() -> None:
    made = accepted(
        "relay", {"url": "https://push.vendor.example/", "key": "pgk_abc_0123456789", "app": "shop"}
    )
    assert made.public == {"url": "https://push.vendor.example", "app": "shop"}
    assert made.secret == {"key": "pgk_abc_0123456789"}
    plain = {"url": "http://127.0.0.1:8080", "key": "pgk_abc_0123456789", "app": "shop"}
    with pytest.raises(InvalidInput) as refused:
        accepted("relay", plain)
    assert refused.value.details["field"] == "relay.url"
    assert accepted("relay", plain, insecure=True).public["url"] == "http://127.0.0.1:8080"


def test_an_unknown_kind_is_named() -> None:
    error = assert_rejected("gcm", {}, "kind")
    assert "apns" in error.details["reason"]


@pytest.mark.parametrize("raw", [None, [], "text", 3])
def test_input_must_be_an_object(raw: Any) -> None:
    assert_rejected("hms", raw, "hms")


@pytest.mark.parametrize("kind", ["apns", "fcm", "webpush", "wns", "hms", "webhook"])
def test_unknown_fields_are_refused_for_every_kind(kind: str) -> None:
    error = rejected(kind, {"surprise": "x"})
    fields = [problem["field"] for problem in error.details["errors"]]
    assert f"{kind}.surprise" in fields


def test_every_problem_is_listed() -> None:
    error = rejected("hms", {"app_id": "abc", "client_secret": ""})
    fields = {problem["field"] for problem in error.details["errors"]}
    assert fields == {"hms.app_id", "hms.client_secret"}


def test_describe_shows_fields_and_fingerprints_but_no_secret() -> None:
    credential = accepted("hms", {"app_id": "104123456", "client_secret": "s3cr3t-value"})
    box = SecretBox(b"k" * 32)

    view = describe(credential.public, credential.secret_fingerprints(box.fingerprint))

    assert view == {
        "fields_set": ["app_id", "client_secret"],
        "values": {"app_id": "104123456"},
        "fingerprints": {"client_secret": box.fingerprint("s3cr3t-value")},
    }
    # Keyed: a bare hash of a guessed secret does not confirm it.
    bare = hashlib.sha256(b"s3cr3t-value").hexdigest()[:16]
    assert view["fingerprints"]["client_secret"] != bare
    assert "s3cr3t-value" not in json.dumps(view)


def test_secret_survives_sealing_for_its_owner() -> None:
    credential = accepted("hms", {"app_id": "104123456", "client_secret": "hms-secret"})
    box = SecretBox(os.urandom(32))

    sealed = box.seal(credential.secret_bytes(), b"app:a1:hms")

    assert decode_secret(box.open(sealed, b"app:a1:hms")) == credential.secret


@pytest.mark.parametrize("data", [b"[]", b'{"a": 1}', b'"x"'])
def test_decode_secret_refuses_other_shapes(data: bytes) -> None:
    with pytest.raises(ValueError, match="not an object of strings"):
        decode_secret(data)


LEAKY = "TOPSECRET-c0ffee"


def assert_not_leaked(error: InvalidInput, secret: str = LEAKY) -> None:
    rendered = [
        str(error),
        repr(error),
        error.message,
        json.dumps(error.details),
        "".join(traceback.format_exception(error)),
    ]
    for text in rendered:
        assert secret not in text


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("hms", {"app_id": "1", "client_secret": LEAKY * 100}),
        ("wns", {"package_sid": "not-a-sid", "client_secret": LEAKY}),
        ("webhook", {"url": "https://h.example.com", "authorization": f"Bearer {LEAKY}\r\n"}),
        ("webhook", {"url": "https://h.example.com", "signing_secret": f"whsec_{LEAKY}"}),
        ("webpush", {"subject": "mailto:a@example.com", "vapid_private_key": LEAKY}),
        ("apns", {"bundle_id": "com.x.y", "environment": "sandbox", "private_key": LEAKY}),
        ("apns", {"bundle_id": "com.x.y", "environment": "sandbox", "key_id": LEAKY}),
        ("fcm", {"service_account": '{"private_key": "' + LEAKY + '", '}),
        ("fcm", {"service_account": {"type": "service_account", "private_key": LEAKY}}),
    ],
)
def test_rejected_secrets_appear_in_no_message(kind: str, raw: dict[str, Any]) -> None:
    assert_not_leaked(rejected(kind, raw))


def test_credential_set_repr_names_secrets_without_values() -> None:
    credential = accepted(
        "webhook",
        {
            "url": "https://hooks.example.com/in",
            "authorization": f"Bearer {LEAKY}",
            "generate_signing_secret": True,
        },
    )

    shown = repr(credential) + str(credential)

    assert LEAKY not in shown
    assert credential.generated["signing_secret"] not in shown
    assert "authorization" in shown
    assert "signing_secret" in shown


TEAM, KEY_ID = "ABCDE12345", "KEY1234567"


def apns_token(p256_key: ec.EllipticCurvePrivateKey, **changes: Any) -> dict[str, Any]:
    raw = {
        "team_id": TEAM,
        "key_id": KEY_ID,
        "private_key": pem(p256_key),
        "bundle_id": "com.example.app",
        "environment": "sandbox",
    }
    raw.update(changes)
    return {name: value for name, value in raw.items() if value is not None}


def test_apns_token_auth(p256_key: ec.EllipticCurvePrivateKey) -> None:
    credential = accepted("apns", apns_token(p256_key, base_url="http://127.0.0.1:8443"))

    assert credential.kind == "apns"
    assert credential.public == {
        "auth_mode": "token",
        "team_id": TEAM,
        "key_id": KEY_ID,
        "bundle_id": "com.example.app",
        "environment": "sandbox",
        "base_url": "http://127.0.0.1:8443",
    }
    stored = serialization.load_pem_private_key(credential.secret["private_key"].encode(), None)
    assert stored.private_numbers() == p256_key.private_numbers()  # type: ignore[union-attr]
    assert credential.generated == {}


def test_apns_key_forms_share_one_fingerprint(p256_key: ec.EllipticCurvePrivateKey) -> None:
    pkcs8 = accepted("apns", apns_token(p256_key))
    sec1 = accepted("apns", apns_token(p256_key, private_key=pem(p256_key, "traditional")))

    digest = SecretBox(b"k" * 32).fingerprint
    assert sec1.secret_fingerprints(digest) == pkcs8.secret_fingerprints(digest)


@pytest.mark.parametrize("bad", ["ABCDE1234", "ABCDE123456", "ABCDE-1234", "", 1234567890])
@pytest.mark.parametrize("name", ["team_id", "key_id"])
def test_apns_ids_are_ten_alphanumerics(
    p256_key: ec.EllipticCurvePrivateKey, name: str, bad: Any
) -> None:
    assert_rejected("apns", apns_token(p256_key, **{name: bad}), f"apns.{name}")


@pytest.mark.parametrize(
    ("key_factory", "reason"),
    [
        (lambda: "not a pem", "is not PEM"),
        (
            lambda: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "not a readable",
        ),
        (lambda: pem(ec.generate_private_key(ec.SECP384R1())), "EC P-256"),
        (weak_rsa_pem, "EC P-256"),
        (lambda: pem(ec.generate_private_key(ec.SECP256R1()), password=b"pw"), "encrypted"),
    ],
)
def test_apns_private_key_must_be_p256(
    p256_key: ec.EllipticCurvePrivateKey, key_factory: Any, reason: str
) -> None:
    error = assert_rejected(
        "apns", apns_token(p256_key, private_key=key_factory()), "apns.private_key"
    )
    assert reason in error.details["reason"]


@pytest.mark.parametrize(
    "bundle_id",
    [
        "app",
        "com..example",
        "com.example.",
        ".com.example",
        "com.exa mple",
        "com.ex_a",
        "a." * 80 + "b",
    ],
)
def test_apns_bundle_id_is_reverse_dns(
    p256_key: ec.EllipticCurvePrivateKey, bundle_id: str
) -> None:
    assert_rejected("apns", apns_token(p256_key, bundle_id=bundle_id), "apns.bundle_id")


@pytest.mark.parametrize("bundle_id", ["com.example.app", "io.my-co.App2", "com.example.app.voip"])
def test_apns_bundle_id_accepts_valid_ids(
    p256_key: ec.EllipticCurvePrivateKey, bundle_id: str
) -> None:
    assert (
        accepted("apns", apns_token(p256_key, bundle_id=bundle_id)).public["bundle_id"] == bundle_id
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"environment": "development"}, "apns.environment"),
        ({"environment": None}, "apns.environment"),
        ({"bundle_id": None}, "apns.bundle_id"),
        ({"base_url": "ftp://127.0.0.1"}, "apns.base_url"),
        ({"base_url": "https://user:pw@api.push.apple.com"}, "apns.base_url"),
        ({"base_url": "https://"}, "apns.base_url"),
        ({"team_id": None}, "apns.team_id"),
        ({"key_id": None}, "apns.key_id"),
        ({"private_key": None}, "apns.private_key"),
        ({"key_id": None, "private_key": None}, "apns.private_key"),
    ],
)
def test_apns_field_rules(
    p256_key: ec.EllipticCurvePrivateKey, changes: dict[str, Any], field: str
) -> None:
    assert_rejected("apns", apns_token(p256_key, **changes), field)


@pytest.fixture(scope="module")
def apns_p12(p256_key: ec.EllipticCurvePrivateKey) -> str:
    cert = certificate(p256_key, not_before=VALID_FROM, not_after=VALID_UNTIL)
    return p12(p256_key, cert, b"hunter2")


P12_PASSWORD = "hunter2"


def apns_certificate(p12_text: str, password: str | None = P12_PASSWORD) -> dict[str, Any]:
    raw = {"certificate_p12": p12_text, "bundle_id": "com.example.app", "environment": "production"}
    if password is not None:
        raw["certificate_password"] = password
    return raw


def test_apns_certificate_auth_records_subject_and_expiry(apns_p12: str) -> None:
    credential = accepted("apns", apns_certificate(apns_p12))

    assert credential.public["auth_mode"] == "certificate"
    assert "CN=Apple Push Services: com.example.app" in str(
        credential.public["certificate_subject"]
    )
    not_after = datetime.fromisoformat(str(credential.public["certificate_not_after"]))
    assert abs(not_after - VALID_UNTIL) < timedelta(seconds=1)
    assert credential.secret == {"certificate_p12": apns_p12, "certificate_password": "hunter2"}
    assert "team_id" not in credential.public


def test_apns_certificate_may_be_wrapped_base64(apns_p12: str) -> None:
    wrapped = "\n".join(apns_p12[i : i + 76] for i in range(0, len(apns_p12), 76))

    assert accepted("apns", apns_certificate(wrapped)).secret["certificate_p12"] == apns_p12


def test_apns_certificate_without_password(p256_key: ec.EllipticCurvePrivateKey) -> None:
    cert = certificate(p256_key, not_before=VALID_FROM, not_after=VALID_UNTIL)

    credential = accepted("apns", apns_certificate(p12(p256_key, cert, b""), password=None))

    assert credential.secret["certificate_password"] == ""


def test_apns_wrong_certificate_password_is_named(apns_p12: str) -> None:
    error = assert_rejected(
        "apns", apns_certificate(apns_p12, "wrong"), "apns.certificate_password"
    )
    assert "password" in error.details["reason"]


def test_reasons_explain_the_rule(p256_key: ec.EllipticCurvePrivateKey) -> None:
    team = assert_rejected("apns", apns_token(p256_key, team_id="short"), "apns.team_id")
    bundle = assert_rejected("apns", apns_token(p256_key, bundle_id="app"), "apns.bundle_id")
    extra = assert_rejected("apns", apns_token(p256_key, colour="blue"), "apns.colour")

    assert team.details["reason"] == "must be 10 letters or digits"
    assert bundle.details["reason"].startswith("must be reverse-DNS")
    assert extra.details["reason"] == "unknown field"


def test_apns_expired_certificate_is_refused(p256_key: ec.EllipticCurvePrivateKey) -> None:
    cert = certificate(
        p256_key, not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=1)
    )

    error = assert_rejected(
        "apns", apns_certificate(p12(p256_key, cert, b"hunter2")), "apns.certificate_p12"
    )
    assert "expired" in error.details["reason"]


def test_apns_certificate_not_yet_valid_is_refused(p256_key: ec.EllipticCurvePrivateKey) -> None:
    cert = certificate(p256_key, not_before=NOW + timedelta(days=2), not_after=VALID_UNTIL)

    assert_rejected(
        "apns", apns_certificate(p12(p256_key, cert, b"hunter2")), "apns.certificate_p12"
    )


def test_apns_certificate_needs_its_private_key(p256_key: ec.EllipticCurvePrivateKey) -> None:
    cert = certificate(p256_key, not_before=VALID_FROM, not_after=VALID_UNTIL)
    # A chain certificate of another key is no leaf certificate for this key.
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_cert = certificate(other_key, not_before=VALID_FROM, not_after=VALID_UNTIL)
    key_only = p12(p256_key, None, b"hunter2", cas=[other_cert])

    no_key = assert_rejected(
        "apns", apns_certificate(p12(None, cert, b"hunter2")), "apns.certificate_p12"
    )
    no_cert = assert_rejected("apns", apns_certificate(key_only), "apns.certificate_p12")

    assert "certificate and its private key" in no_key.details["reason"]
    assert "certificate and its private key" in no_cert.details["reason"]


@pytest.mark.parametrize(
    "text", ["not base64!", "QUJD", "", base64.b64encode(b"0\x03\x02\x01\x02").decode()]
)
def test_apns_certificate_must_be_base64_pkcs12(text: str) -> None:
    assert_rejected("apns", apns_certificate(text), "apns.certificate_p12")


def test_apns_modes_are_exclusive(p256_key: ec.EllipticCurvePrivateKey, apns_p12: str) -> None:
    both = apns_token(p256_key, certificate_p12=apns_p12, certificate_password="hunter2")

    error = assert_rejected("apns", both, "apns.certificate_p12")
    assert "not both" in error.details["reason"]


def test_apns_missing_both_modes_is_named() -> None:
    error = assert_rejected(
        "apns", {"bundle_id": "com.x.y", "environment": "sandbox"}, "apns.private_key"
    )
    assert "token auth" in error.details["reason"]


def service_account(rsa_key: rsa.RSAPrivateKey, **changes: Any) -> dict[str, Any]:
    account = {
        "type": "service_account",
        "project_id": "pushgate-demo",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem(rsa_key),
        "client_email": "sender@pushgate-demo.iam.gserviceaccount.com",
        "client_id": "123456789012345678901",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/sender",
        "universe_domain": "googleapis.com",
    }
    account.update(changes)
    return {name: value for name, value in account.items() if value is not None}


@pytest.mark.parametrize("as_text", [False, True])
def test_fcm_service_account_as_object_or_json_text(
    rsa_key: rsa.RSAPrivateKey, as_text: bool
) -> None:
    account = service_account(rsa_key)
    given = json.dumps(account) if as_text else account

    credential = accepted("fcm", {"service_account": given, "base_url": "http://127.0.0.1:9000"})

    assert credential.public == {
        "project_id": "pushgate-demo",
        "client_email": "sender@pushgate-demo.iam.gserviceaccount.com",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "token_uri": "https://oauth2.googleapis.com/token",
        "base_url": "http://127.0.0.1:9000",
    }
    assert list(credential.secret) == ["private_key"]
    stored = serialization.load_pem_private_key(credential.secret["private_key"].encode(), None)
    assert stored.private_numbers() == rsa_key.private_numbers()  # type: ignore[union-attr]


def test_fcm_token_uri_may_be_http_on_loopback_only(rsa_key: rsa.RSAPrivateKey) -> None:
    for uri in ("http://127.0.0.1:8081/token", "http://localhost:8081/token", "http://[::1]:1/t"):
        account = service_account(rsa_key, token_uri=uri)
        assert accepted("fcm", {"service_account": account}).public["token_uri"] == uri
    remote = service_account(rsa_key, token_uri="http://oauth2.googleapis.com/token")
    assert_rejected("fcm", {"service_account": remote}, "fcm.service_account.token_uri")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": "authorized_user"}, "type"),
        ({"type": None}, "type"),
        ({"project_id": "Demo"}, "project_id"),
        ({"project_id": "abc"}, "project_id"),
        ({"project_id": "pushgate-demo-"}, "project_id"),
        ({"client_email": "not-an-email"}, "client_email"),
        ({"private_key_id": "has space"}, "private_key_id"),
        ({"private_key": None}, "private_key"),
        (
            {"private_key": "-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----"},
            "private_key",
        ),
        ({"token_uri": "oauth2.googleapis.com/token"}, "token_uri"),
        ({"token_uri": None}, "token_uri"),
        ({"client_id": "abc"}, "client_id"),
        ({"extra_field": "x"}, "extra_field"),
    ],
)
def test_fcm_service_account_field_rules(
    rsa_key: rsa.RSAPrivateKey, changes: dict[str, Any], field: str
) -> None:
    account = service_account(rsa_key, **changes)
    assert_rejected("fcm", {"service_account": account}, f"fcm.service_account.{field}")


@pytest.mark.parametrize(
    ("key_factory", "reason"),
    [
        (lambda: pem(ec.generate_private_key(ec.SECP256R1())), "must be an RSA"),
        (weak_rsa_pem, "at least 2048"),
    ],
)
def test_fcm_private_key_must_be_rsa_2048(
    rsa_key: rsa.RSAPrivateKey, key_factory: Any, reason: str
) -> None:
    account = service_account(rsa_key, private_key=key_factory())
    error = assert_rejected("fcm", {"service_account": account}, "fcm.service_account.private_key")
    assert reason in error.details["reason"]


@pytest.mark.parametrize(
    ("given", "reason"),
    [("{not json", "not valid JSON"), ("[1, 2]", "JSON object"), ("x" * 40000, "at most"), (7, "")],
)
def test_fcm_service_account_text_must_be_a_json_object(given: Any, reason: str) -> None:
    error = assert_rejected("fcm", {"service_account": given}, "fcm.service_account")
    assert reason in error.details["reason"]


def test_fcm_base_url_must_be_http(rsa_key: rsa.RSAPrivateKey) -> None:
    raw = {"service_account": service_account(rsa_key), "base_url": "file:///etc/passwd"}
    assert_rejected("fcm", raw, "fcm.base_url")


def raw_scalar(key: ec.EllipticCurvePrivateKey) -> str:
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    return base64.urlsafe_b64encode(scalar).decode().rstrip("=")


def public_point(key: ec.EllipticCurvePrivateKey) -> str:
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(point).decode().rstrip("=")


@pytest.mark.parametrize("form", ["pem", "raw", "raw_padded"])
def test_webpush_key_as_pem_or_raw_scalar(p256_key: ec.EllipticCurvePrivateKey, form: str) -> None:
    given = {
        "pem": pem(p256_key),
        "raw": raw_scalar(p256_key),
        "raw_padded": raw_scalar(p256_key) + "=",
    }[form]

    credential = accepted(
        "webpush", {"vapid_private_key": given, "subject": "mailto:ops@example.com"}
    )

    assert credential.public == {
        "subject": "mailto:ops@example.com",
        "application_server_key": public_point(p256_key),
    }
    assert credential.secret == {"vapid_private_key": raw_scalar(p256_key)}
    assert credential.generated == {}


def test_webpush_generated_key_is_a_valid_p256_pair() -> None:
    credential = accepted("webpush", {"generate": True, "subject": "https://example.com/contact"})

    secret = credential.generated["vapid_private_key"]
    assert credential.secret == {"vapid_private_key": secret}
    point = base64.urlsafe_b64decode(str(credential.public["application_server_key"]) + "=")
    assert len(point) == 65
    assert point[0] == 0x04
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    # py_vapid (pywebpush's VAPID library) loads the stored key and derives the same point.
    vapid = Vapid02.from_raw(secret.encode())
    assert vapid.public_key.public_numbers() == public.public_numbers()


def test_webpush_generated_key_signs_a_vapid_token() -> None:
    credential = accepted("webpush", {"generate": True, "subject": "mailto:ops@example.com"})
    vapid = Vapid02.from_raw(credential.secret["vapid_private_key"].encode())

    headers = vapid.sign({"aud": "https://push.example.net", "sub": "mailto:ops@example.com"})

    assert f"k={credential.public['application_server_key']}" in headers["Authorization"]


def test_webpush_generation_gives_a_new_key_each_time() -> None:
    raw = {"generate": True, "subject": "mailto:ops@example.com"}
    assert accepted("webpush", raw).secret != accepted("webpush", raw).secret


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"subject": "mailto:ops@example.com"}, "webpush.vapid_private_key"),
        ({"subject": "mailto:ops@example.com", "generate": "true"}, "webpush.generate"),
        ({"generate": True}, "webpush.subject"),
        ({"generate": True, "subject": "ops@example.com"}, "webpush.subject"),
        ({"generate": True, "subject": "mailto:nobody"}, "webpush.subject"),
        ({"generate": True, "subject": "http://example.com"}, "webpush.subject"),
        ({"generate": True, "subject": "https://"}, "webpush.subject"),
        ({"generate": True, "subject": "mailto:" + "a" * 600 + "@example.com"}, "webpush.subject"),
    ],
)
def test_webpush_field_rules(raw: dict[str, Any], field: str) -> None:
    assert_rejected("webpush", raw, field)


def test_webpush_key_and_generate_are_exclusive(p256_key: ec.EllipticCurvePrivateKey) -> None:
    raw = {"vapid_private_key": raw_scalar(p256_key), "generate": True, "subject": "mailto:a@b.co"}
    assert_rejected("webpush", raw, "webpush.generate")


_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


@pytest.mark.parametrize(
    "key",
    [
        base64.urlsafe_b64encode(b"\x01" * 31).decode().rstrip("="),
        base64.urlsafe_b64encode(b"\x01" * 33).decode().rstrip("="),
        base64.urlsafe_b64encode(bytes(32)).decode().rstrip("="),
        base64.urlsafe_b64encode(_ORDER.to_bytes(32, "big")).decode().rstrip("="),
        "not*base64url",
        weak_rsa_pem(),
    ],
)
def test_webpush_key_must_be_a_p256_scalar(key: str) -> None:
    raw = {"vapid_private_key": key, "subject": "mailto:ops@example.com"}
    assert_rejected("webpush", raw, "webpush.vapid_private_key")


SID = (
    "ms-app://s-1-15-2-2972962901-2322836549-3722629029-1345238579-3987825745-2155616079-650196962"
)


@pytest.mark.parametrize("name", ["package_sid", "client_id"])
def test_wns_package_sid_under_either_name(name: str) -> None:
    credential = accepted(
        "wns",
        {
            name: SID,
            "client_secret": "wns-secret",
            "token_url": "http://127.0.0.1:7000/accesstoken.srf",
            "base_url": "http://127.0.0.1:7001",
        },
    )

    assert credential.public == {
        "package_sid": SID,
        "token_url": "http://127.0.0.1:7000/accesstoken.srf",
        "base_url": "http://127.0.0.1:7001",
    }
    assert credential.secret == {"client_secret": "wns-secret"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"package_sid": "s-1-15-2-123"}, "wns.package_sid"),
        ({"package_sid": "ms-app://s-1-5-21-123"}, "wns.package_sid"),
        ({"package_sid": "https://example.com"}, "wns.package_sid"),
        ({"client_secret": ""}, "wns.client_secret"),
        ({"client_secret": "x" * 1025}, "wns.client_secret"),
        ({"token_url": "http://login.live.com/accesstoken.srf"}, "wns.token_url"),
        ({"base_url": "notaurl"}, "wns.base_url"),
        ({"client_id": SID}, "wns.client_id"),
    ],
)
def test_wns_field_rules(changes: dict[str, Any], field: str) -> None:
    raw = {"package_sid": SID, "client_secret": "wns-secret", **changes}
    assert_rejected("wns", raw, field)


def test_hms_app_id_and_secret() -> None:
    credential = accepted(
        "hms",
        {
            "app_id": "104123456",
            "client_secret": "hms-secret",
            "token_url": "https://oauth-login.cloud.huawei.com/oauth2/v3/token",
            "base_url": "https://push-api.cloud.huawei.com",
        },
    )

    assert credential.public == {
        "app_id": "104123456",
        "token_url": "https://oauth-login.cloud.huawei.com/oauth2/v3/token",
        "base_url": "https://push-api.cloud.huawei.com",
    }
    assert credential.secret == {"client_secret": "hms-secret"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"app_id": "12ab"}, "hms.app_id"),
        ({"app_id": 104123456}, "hms.app_id"),
        ({"app_id": "1" * 33}, "hms.app_id"),
        ({"client_secret": None}, "hms.client_secret"),
        ({"token_url": "http://10.0.0.5/token"}, "hms.token_url"),
        ({"base_url": "https://a b.example"}, "hms.base_url"),
    ],
)
def test_hms_field_rules(changes: dict[str, Any], field: str) -> None:
    raw = {"app_id": "104123456", "client_secret": "hms-secret", **changes}
    assert_rejected("hms", {k: v for k, v in raw.items() if v is not None}, field)


WHSEC_32 = "whsec_" + base64.b64encode(bytes(range(32))).decode()


def webhook(**changes: Any) -> dict[str, Any]:
    raw = {"url": "https://hooks.example.com/pushgate", "signing_secret": WHSEC_32, **changes}
    return {name: value for name, value in raw.items() if value is not None}


def test_webhook_public_and_secret_fields() -> None:
    credential = accepted(
        "webhook",
        webhook(
            authorization="Bearer eyJhbGciOi.x.y", user_agent="acme-hooks/1.0", timeout_seconds=30
        ),
    )

    assert credential.public == {
        "url": "https://hooks.example.com/pushgate",
        "timeout_seconds": 30,
        "answer_mode": "plain",
        "user_agent": "acme-hooks/1.0",
    }
    assert credential.secret == {
        "signing_secret": WHSEC_32,
        "authorization": "Bearer eyJhbGciOi.x.y",
    }


def test_webhook_defaults() -> None:
    credential = accepted("webhook", webhook())

    assert credential.public == {
        "url": "https://hooks.example.com/pushgate",
        "timeout_seconds": 15,
        "answer_mode": "plain",
    }
    assert credential.secret == {"signing_secret": WHSEC_32}


def test_webhook_generated_secret_verifies_with_standardwebhooks() -> None:
    credential = accepted("webhook", webhook(signing_secret=None, generate_signing_secret=True))
    secret = credential.generated["signing_secret"]
    assert credential.secret["signing_secret"] == secret
    # Sign by hand the way docs/providers.md §6.2 describes, then let the reference library verify.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    body, msg_id, timestamp = b'{"type":"ping"}', "msg_2a", str(int(time.time()))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }

    assert Webhook(secret).verify(body, headers) == {"type": "ping"}
    assert 24 <= len(key) <= 64


@pytest.mark.parametrize("size", [24, 32, 64])
def test_webhook_signing_secret_sizes_accepted(size: int) -> None:
    for encoded in (base64.b64encode(os.urandom(size)).decode(),):
        for text in (encoded, encoded.rstrip("=")):
            assert accepted("webhook", webhook(signing_secret="whsec_" + text)).secret[
                "signing_secret"
            ]


@pytest.mark.parametrize(
    "secret",
    [
        "whsec_" + base64.b64encode(os.urandom(23)).decode(),
        "whsec_" + base64.b64encode(os.urandom(65)).decode(),
        base64.b64encode(os.urandom(32)).decode(),
        "whsec_not base64",
        "whsec_",
        "whsk_" + base64.b64encode(os.urandom(32)).decode(),
    ],
    # Named, not shown: random text in an id differs between the xdist workers' collections.
    ids=["23-bytes", "65-bytes", "no-prefix", "not-base64", "empty", "wrong-prefix"],
)
def test_webhook_signing_secret_rules(secret: str) -> None:
    assert_rejected("webhook", webhook(signing_secret=secret), "webhook.signing_secret")


def test_webhook_without_signing_secret_is_unsigned() -> None:
    credential = accepted("webhook", webhook(signing_secret=None))

    assert credential.secret == {}
    assert credential.generated == {}
    fingerprints = credential.secret_fingerprints(SecretBox(b"k" * 32).fingerprint)
    assert describe(credential.public, fingerprints)["fingerprints"] == {}


def test_webhook_signing_secret_given_or_generated_not_both() -> None:
    both = webhook(generate_signing_secret=True)
    assert_rejected("webhook", both, "webhook.generate_signing_secret")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/in",
        "https://127.0.0.1/in",
        "https://localhost:8443/in",
        "https://api.localhost/in",
        "https://10.1.2.3/in",
        "https://192.168.0.10/in",
        "https://169.254.169.254/latest",
        "https://[::1]/in",
        "https://[fd00::1]/in",
        "https://[::ffff:127.0.0.1]/in",
        "https://100.64.0.1/in",
        "https://[64:ff9b::a00:1]/in",
    ],
)
def test_webhook_insecure_targets_need_the_operator_switch(url: str) -> None:
    assert_rejected("webhook", webhook(url=url), "webhook.url")
    assert accepted("webhook", webhook(url=url), insecure=True).public["url"] == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com",
        "https://user:pw@hooks.example.com/in",
        "https://hooks.example.com/in#frag",
        "https://hooks.example.com/a b",
        "https://hooks.example.com:99999/in",
        "hooks.example.com/in",
        # Never a target, whatever the operator allows: spellings of an IPv4 address that
        # parsers read differently, an interface of this host, no single receiver.
        "https://127.1/in",
        "https://2130706433/in",
        "https://0x7f000001/in",
        "https://0177.0.0.1/in",
        "https://[fe80::1%25eth0]/in",
        "https://0.0.0.0/in",
        "https://[::]/in",
        "https://224.0.0.1/in",
        "https://xn--a.example/in",
        "https://" + "a" * 2100 + ".com",
    ],
)
def test_webhook_malformed_urls_are_refused_even_when_insecure_is_allowed(url: str) -> None:
    assert_rejected("webhook", webhook(url=url), "webhook.url", insecure=True)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timeout_seconds": 0}, "webhook.timeout_seconds"),
        ({"timeout_seconds": 61}, "webhook.timeout_seconds"),
        ({"timeout_seconds": "15"}, "webhook.timeout_seconds"),
        ({"answer_mode": "json"}, "webhook.answer_mode"),
        ({"authorization": "Bearer a\r\nX-Evil: 1"}, "webhook.authorization"),
        ({"authorization": " Bearer a"}, "webhook.authorization"),
        ({"authorization": "x" * 8193}, "webhook.authorization"),
        ({"user_agent": "bot\n"}, "webhook.user_agent"),
        ({"user_agent": "é-agent"}, "webhook.user_agent"),
        ({"user_agent": "u" * 257}, "webhook.user_agent"),
    ],
)
def test_webhook_field_rules(changes: dict[str, Any], field: str) -> None:
    assert_rejected("webhook", webhook(**changes), field)


@pytest.mark.parametrize("url", [None, "absent"])
def test_webhook_credentials_may_leave_the_url_to_the_tenants_setting(url: str | None) -> None:
    """Without a URL, the tenant's webhook.url setting is the target (docs/settings.md)."""
    given = webhook(url=url)
    if url == "absent":
        del given["url"]
    made = accepted("webhook", given)
    assert "url" not in made.public
    assert made.public["answer_mode"] == "plain"


@pytest.mark.parametrize("timeout", [1, 60])
def test_webhook_timeout_bounds_are_inclusive(timeout: int) -> None:
    assert (
        accepted("webhook", webhook(timeout_seconds=timeout)).public["timeout_seconds"] == timeout
    )


@pytest.mark.parametrize(
    "url",
    ["https://93.184.216.34/in", "https://[2606:4700::1111]/in", "https://dead.beef.example/x"],
)
def test_webhook_public_targets_are_accepted(url: str) -> None:
    assert accepted("webhook", webhook(url=url)).public["url"] == url


def test_webhook_contract_answer_mode() -> None:
    assert accepted("webhook", webhook(answer_mode="contract")).public["answer_mode"] == "contract"
