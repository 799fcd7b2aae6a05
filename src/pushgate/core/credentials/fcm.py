"""FCM credentials: a Google service account (docs/providers.md §2.2), optional base URL.

Stored form. Public: ``project_id``, ``client_email``, ``private_key_id``, ``token_uri``,
``base_url`` when set. Secret: ``private_key`` (PKCS#8 PEM). The remaining keys of a
downloaded service-account file (``client_id``, ``auth_uri``, the certificate URLs,
``universe_domain``) are accepted, so the file can be pasted as is, but not kept: sending
needs none of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from pushgate.core.credentials import keys
from pushgate.core.credentials.fields import (
    CredentialInput,
    PemText,
    ShortText,
    matching,
    parse_input,
    pem_example,
)
from pushgate.core.credentials.result import CredentialSet, PublicValue
from pushgate.core.credentials.urls import HttpUrl, TokenUrl, UrlText

KIND = "fcm"
MAX_SERVICE_ACCOUNT_JSON = 32 * 1024

# Google project ids: 6–30 lowercase letters, digits and hyphens, starting with a letter and
# not ending with a hyphen; old domain-scoped projects prefix ``example.com:``.
ProjectId = Annotated[
    str,
    StringConstraints(max_length=100),
    matching(
        r"(?:[a-z0-9][a-z0-9.-]{0,61}[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]",
        "a Google project id: 6-30 lowercase letters, digits or hyphens, starting with a letter",
    ),
]
ClientEmail = Annotated[
    str,
    StringConstraints(max_length=254),
    matching(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an e-mail address"),
]
PrivateKeyId = Annotated[
    str, StringConstraints(max_length=128), matching(r"[A-Za-z0-9_-]+", "letters and digits")
]
ClientId = Annotated[str, StringConstraints(max_length=64), matching(r"[0-9]+", "digits")]


class ServiceAccount(CredentialInput):
    """The fields of a Google service-account JSON key file."""

    type: Literal["service_account"] = Field(
        description="Always service_account.", examples=["service_account"]
    )
    project_id: ProjectId = Field(
        description="The Firebase project id; pushes go to its messages:send.",
        examples=["shop-prod-4f2a1"],
    )
    client_email: ClientEmail = Field(
        description="The service account's address; the issuer of its token requests.",
        examples=["pushgate@shop-prod-4f2a1.iam.gserviceaccount.com"],
    )
    private_key: PemText = Field(
        repr=False,
        description="The account's RSA private key, PEM. Write-only.",
        examples=[pem_example("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ")],
    )
    private_key_id: PrivateKeyId = Field(
        description="The key's id, sent as the kid of token requests.",
        examples=["8f2c7d1e0b9a4c3f2e1d0c9b8a7f6e5d4c3b2a19"],
    )
    token_uri: TokenUrl = Field(
        description="Where access tokens are requested. Google's own is "
        "https://oauth2.googleapis.com/token; any other (the FCM simulator's) is an "
        "override only an instance-wide admin key may set.",
        examples=["https://oauth2.googleapis.com/token"],
    )
    client_id: ClientId | None = Field(
        default=None, description="Accepted from the file, not kept.", examples=["1234567890"]
    )
    auth_uri: UrlText | None = Field(
        default=None,
        description="Accepted from the file, not kept.",
        examples=["https://accounts.google.com/o/oauth2/auth"],
    )
    auth_provider_x509_cert_url: UrlText | None = Field(
        default=None,
        description="Accepted from the file, not kept.",
        examples=["https://www.googleapis.com/oauth2/v1/certs"],
    )
    client_x509_cert_url: UrlText | None = Field(
        default=None,
        description="Accepted from the file, not kept.",
        examples=["https://www.googleapis.com/robot/v1/metadata/x509/pushgate"],
    )
    universe_domain: ShortText | None = Field(
        default=None, description="Accepted from the file, not kept.", examples=["googleapis.com"]
    )

    @field_validator("private_key")
    @classmethod
    def _normalise_private_key(cls, value: str) -> str:
        return keys.to_pkcs8_pem(keys.load_rsa_private_key_pem(value))


class FcmInput(CredentialInput):
    """What an operator sends to configure FCM for one app."""

    service_account: ServiceAccount = Field(
        description="The service account's JSON key file as downloaded from the Google Cloud "
        "console: an object, or its text as one JSON string."
    )
    base_url: HttpUrl | None = Field(
        default=None,
        description="Send here instead of https://fcm.googleapis.com, e.g. to the FCM "
        "simulator. Only an instance-wide admin key may set it.",
        examples=["https://127.0.0.1:2198"],
    )

    @field_validator("service_account", mode="before")
    @classmethod
    def _parse_json_text(cls, value: object) -> object:
        # The file is often pasted as one JSON string rather than an object.
        if not isinstance(value, str):
            return value
        if len(value) > MAX_SERVICE_ACCOUNT_JSON:
            raise ValueError(f"must be at most {MAX_SERVICE_ACCOUNT_JSON} characters")
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ValueError("is a string but not valid JSON") from None
        if not isinstance(parsed, dict):
            raise ValueError("must be a JSON object")
        return parsed


def validate_fcm(raw: Mapping[str, Any], *, allow_insecure_targets: bool) -> CredentialSet:
    """Validate FCM input; ``allow_insecure_targets`` does not apply (token URLs need https)."""
    given = parse_input(FcmInput, KIND, raw)
    account = given.service_account
    public: dict[str, PublicValue] = {
        "project_id": account.project_id,
        "client_email": account.client_email,
        "private_key_id": account.private_key_id,
        "token_uri": account.token_uri,
    }
    if given.base_url is not None:
        public["base_url"] = given.base_url
    return CredentialSet(KIND, public, {"private_key": account.private_key})
