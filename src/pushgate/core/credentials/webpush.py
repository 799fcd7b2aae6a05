"""Web Push credentials: a VAPID key pair (RFC 8292) and a contact subject.

Stored form. Public: ``subject`` and ``application_server_key`` (base64url of the 65-byte
uncompressed point that browsers pass to ``pushManager.subscribe``). Secret:
``vapid_private_key`` (base64url of the 32-byte private scalar). With ``generate: true`` a new
pair is made and its private key is also returned once in ``generated``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import AfterValidator, Field, StringConstraints, field_validator

from pushgate.core.credentials import keys
from pushgate.core.credentials.fields import CredentialInput, PemText, invalid, parse_input
from pushgate.core.credentials.result import CredentialSet, PublicValue
from pushgate.core.credentials.urls import check_https_url

KIND = "webpush"
_MAILTO_ADDRESS = re.compile(r"[^@\s/?#]+@[^@\s/?#]+\.[^@\s/?#]+")


def check_subject(value: str) -> str:
    """RFC 8292 §2.1: the ``sub`` claim SHOULD be a ``mailto:`` or ``https:`` contact URI."""
    if value.startswith("mailto:"):
        if not _MAILTO_ADDRESS.fullmatch(value.removeprefix("mailto:")):
            raise ValueError("must be mailto: followed by an e-mail address")
        return value
    if value.startswith("https:"):
        return check_https_url(value)
    raise ValueError("must be a mailto: or https: URI")


Subject = Annotated[
    str, StringConstraints(min_length=1, max_length=512), AfterValidator(check_subject)
]


class WebPushInput(CredentialInput):
    """What an operator sends to configure Web Push for one app."""

    vapid_private_key: PemText | None = Field(
        default=None,
        repr=False,
        description="The VAPID private key: base64url of the 32-byte P-256 scalar, or a PEM "
        "EC private key. Write-only. Absent when generate is true.",
        examples=["n4k0ZfhV4bJ9vYc1bR5rNq2XwzQeWxGmKk8oTt3aP0E"],
    )
    subject: Subject = Field(
        description="The contact push services may write to (RFC 8292 §2.1): mailto: or https:.",
        examples=["mailto:ops@example.com"],
    )
    generate: bool = Field(
        default=False,
        description="Make a new key pair; its private key is answered once, in generated.",
        examples=[True],
    )

    @field_validator("vapid_private_key")
    @classmethod
    def _normalise_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return keys.vapid_private_key_text(keys.load_vapid_private_key(value))


def validate_webpush(raw: Mapping[str, Any], *, allow_insecure_targets: bool) -> CredentialSet:
    """Validate Web Push input, making a key pair when ``generate`` is true."""
    given = parse_input(WebPushInput, KIND, raw)
    if given.generate and given.vapid_private_key is not None:
        raise invalid(KIND, "generate", "give vapid_private_key or generate: true, not both")
    generated: dict[str, str] = {}
    if given.vapid_private_key is not None:
        key = keys.load_vapid_private_key(given.vapid_private_key)
    elif given.generate:
        key = keys.generate_vapid_private_key()
        generated["vapid_private_key"] = keys.vapid_private_key_text(key)
    else:
        raise invalid(KIND, "vapid_private_key", "required unless generate is true")
    return _credential_set(key, given.subject, generated)


def _credential_set(
    key: ec.EllipticCurvePrivateKey, subject: str, generated: dict[str, str]
) -> CredentialSet:
    public: dict[str, PublicValue] = {
        "subject": subject,
        "application_server_key": keys.application_server_key(key),
    }
    secret = {"vapid_private_key": keys.vapid_private_key_text(key)}
    return CredentialSet(KIND, public, secret, generated)
