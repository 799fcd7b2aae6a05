"""APNs credentials: token auth (``.p8`` key) or certificate auth (PKCS#12), never both.

Stored form. Public: ``auth_mode`` (``token``|``certificate``), ``bundle_id``, ``environment``,
``team_id`` and ``key_id`` (token), ``certificate_subject`` and ``certificate_not_after``
(certificate), ``base_url`` when set. Secret: ``private_key`` (PKCS#8 PEM) for token auth;
``certificate_p12`` (base64) and ``certificate_password`` for certificate auth.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from pushgate.core.credentials import keys
from pushgate.core.credentials.certificates import Pkcs12Locked, open_pkcs12
from pushgate.core.credentials.fields import (
    CredentialInput,
    PemText,
    invalid,
    matching,
    parse_input,
    pem_example,
)
from pushgate.core.credentials.result import CredentialSet, PublicValue
from pushgate.core.credentials.urls import HttpUrl

KIND = "apns"

# Team and key ids are the 10-character identifiers of the developer account
# (docs/providers.md §1.5).
AppleId = Annotated[
    str, StringConstraints(max_length=10), matching(r"[A-Za-z0-9]{10}", "10 letters or digits")
]
# Reverse-DNS: dot-separated labels of letters, digits and hyphens (Apple's bundle id rule);
# it is also the ``apns-topic`` (docs/providers.md §1.3), so it must be at least two labels.
BundleId = Annotated[
    str,
    StringConstraints(max_length=155),
    matching(
        r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+",
        "reverse-DNS (com.example.app): letters, digits and hyphens between dots",
    ),
]
# A PKCS#12 bundle with a certificate chain is a few KB; base64 adds a third.
P12Text = Annotated[str, StringConstraints(min_length=1, max_length=64 * 1024)]
PasswordText = Annotated[str, StringConstraints(max_length=1024)]

_MODES_HELP = (
    "give key_id + private_key (token auth) or certificate_p12 + certificate_password "
    "(certificate auth)"
)


class ApnsInput(CredentialInput):
    """What an operator sends to configure APNs for one app."""

    team_id: AppleId | None = Field(
        default=None,
        description="Token auth: the 10-character Team ID of the Apple developer account.",
        examples=["ABCDE12345"],
    )
    key_id: AppleId | None = Field(
        default=None,
        description="Token auth: the 10-character Key ID of the .p8 signing key.",
        examples=["KEY1234567"],
    )
    private_key: PemText | None = Field(
        default=None,
        repr=False,
        description="Token auth: the .p8 file's text, a PEM P-256 private key. Write-only.",
        examples=[pem_example("MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg")],
    )
    certificate_p12: P12Text | None = Field(
        default=None,
        repr=False,
        description="Certificate auth: the .p12 file (certificate and its private key), "
        "base64. Write-only.",
        examples=["MIIKYQIBAzCCCicGCSqGSIb3DQEHAaCCChgEggoUMIIKEDCCBMcGCSqGSIb3..."],
    )
    certificate_password: PasswordText | None = Field(
        default=None,
        repr=False,
        description="Certificate auth: the password the .p12 file was exported with "
        "(empty or absent for none). Write-only.",
        examples=["correct horse battery staple"],
    )
    bundle_id: BundleId = Field(
        description="The app's bundle id; sent as the apns-topic of every push.",
        examples=["com.example.shop"],
    )
    environment: Literal["production", "sandbox"] = Field(
        description="Which APNs to send to: sandbox for development builds, production for "
        "TestFlight and App Store builds.",
        examples=["production"],
    )
    base_url: HttpUrl | None = Field(
        default=None,
        description="Send here instead of Apple's host, e.g. to the APNs simulator. Only an "
        "instance-wide admin key may set it.",
        examples=["https://127.0.0.1:2197"],
    )

    @field_validator("private_key")
    @classmethod
    def _normalise_private_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return keys.to_pkcs8_pem(keys.load_p256_private_key_pem(value))

    @field_validator("certificate_p12")
    @classmethod
    def _normalise_p12(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return base64.b64encode(keys.b64_decode(value)).decode()


def validate_apns(raw: Mapping[str, Any], *, allow_insecure_targets: bool) -> CredentialSet:
    """Validate APNs input; ``allow_insecure_targets`` does not apply (base URLs may be http)."""
    given = parse_input(ApnsInput, KIND, raw)
    uses_token = given.key_id is not None or given.private_key is not None
    uses_certificate = given.certificate_p12 is not None or given.certificate_password is not None
    if uses_token and uses_certificate:
        raise invalid(KIND, "certificate_p12", f"{_MODES_HELP}, not both")
    if not uses_token and not uses_certificate:
        raise invalid(KIND, "private_key", f"missing: {_MODES_HELP}")
    public: dict[str, PublicValue] = {
        "bundle_id": given.bundle_id,
        "environment": given.environment,
    }
    if given.base_url is not None:
        public["base_url"] = given.base_url
    if uses_token:
        return _token_auth(given, public)
    return _certificate_auth(given, public)


def _token_auth(given: ApnsInput, public: dict[str, PublicValue]) -> CredentialSet:
    team_id = _required_for_token_auth("team_id", given.team_id)
    key_id = _required_for_token_auth("key_id", given.key_id)
    private_key = _required_for_token_auth("private_key", given.private_key)
    public.update(auth_mode="token", team_id=team_id, key_id=key_id)
    return CredentialSet(KIND, public, {"private_key": private_key})


def _required_for_token_auth(name: str, value: str | None) -> str:
    if value is None:
        raise invalid(KIND, name, "required for token auth")
    return value


def _certificate_auth(given: ApnsInput, public: dict[str, PublicValue]) -> CredentialSet:
    if given.certificate_p12 is None:
        raise invalid(KIND, "certificate_p12", "required for certificate auth")
    password = given.certificate_password or ""
    try:
        facts = open_pkcs12(base64.b64decode(given.certificate_p12), password)
    except Pkcs12Locked as exc:
        raise invalid(KIND, "certificate_password", f"certificate_p12 {exc}") from None
    except ValueError as exc:
        raise invalid(KIND, "certificate_p12", str(exc)) from None
    public.update(
        auth_mode="certificate",
        certificate_subject=facts.subject,
        certificate_not_after=facts.not_after.isoformat(),
    )
    if given.team_id is not None:
        public["team_id"] = given.team_id
    secret = {"certificate_p12": given.certificate_p12, "certificate_password": password}
    return CredentialSet(KIND, public, secret)
