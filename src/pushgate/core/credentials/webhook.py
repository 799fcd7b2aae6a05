"""Webhook credentials: a target URL, an optional Authorization value and signing secret.

When a signing secret is set, requests are signed the Standard Webhooks way (docs/providers.md
§6.2) with ``whsec_`` + base64 of 24–64 random bytes; ``generate_signing_secret: true`` makes
one and returns it once in ``generated``. ``answer_mode`` says how the receiver's answer is
read: ``plain`` (any 2xx is success, docs/providers.md §6.3) or ``contract`` (the body
``{"Success", "Code", "Message"}`` decides). Stored form. Public: ``url`` when set (without
it the tenant's ``webhook.url`` setting is the target, docs/settings.md),
``timeout_seconds``, ``answer_mode``, ``user_agent`` when set. Secret: ``signing_secret``
and ``authorization``, each when set (without ``authorization``, the tenant's
``webhook.authorization`` setting is sent).

Targets must be https and must not be loopback or private address literals, unless the
operator allows insecure targets (docs/architecture.md §6). Names that resolve to private addresses
cannot be judged without DNS; the sender checks them again when it connects.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo, field_validator

from pushgate.core.credentials import keys
from pushgate.core.credentials.fields import (
    CredentialInput,
    check_header_value,
    invalid,
    parse_input,
)
from pushgate.core.credentials.result import CredentialSet, PublicValue
from pushgate.core.credentials.urls import UrlText, split_http_url, target_refusal

KIND = "webhook"
ALLOW_INSECURE_TARGETS = "allow_insecure_targets"
WHSEC_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
GENERATED_SECRET_BYTES = 32
# Svix expects a 2xx within 15 s (docs/providers.md §6.4); the spec suggests 15–30 s.
DEFAULT_TIMEOUT_SECONDS = 15
_SIGNING_SECRET = re.compile(rf"{WHSEC_PREFIX}[A-Za-z0-9+/]+={{0,2}}")


def check_signing_secret(value: str) -> str:
    """``whsec_`` + base64 of 24–64 bytes (docs/providers.md §6.2)."""
    if not _SIGNING_SECRET.fullmatch(value):
        raise ValueError(f"must be {WHSEC_PREFIX} followed by base64")
    size = len(keys.b64_decode(value.removeprefix(WHSEC_PREFIX)))
    if not MIN_SECRET_BYTES <= size <= MAX_SECRET_BYTES:
        raise ValueError(f"must encode {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes")
    return value


def generate_signing_secret() -> str:
    """A fresh ``whsec_`` secret of 32 random bytes."""
    return WHSEC_PREFIX + base64.b64encode(secrets.token_bytes(GENERATED_SECRET_BYTES)).decode()


SigningSecret = Annotated[
    str, StringConstraints(max_length=128), AfterValidator(check_signing_secret)
]
# A JWT in an Authorization header can be long; 8 KiB is a common server header limit.
AuthorizationValue = Annotated[
    str, StringConstraints(max_length=8192), AfterValidator(check_header_value)
]
UserAgent = Annotated[str, StringConstraints(max_length=256), AfterValidator(check_header_value)]


class WebhookInput(CredentialInput):
    """What an operator sends to configure webhook delivery for one app."""

    url: UrlText | None = Field(
        default=None,
        description="Where each push is POSTed: https, and a public host unless the operator "
        "allows insecure targets. Without it, the tenant's webhook.url setting (or the "
        "device's own URL token).",
        examples=["https://hooks.example.com/pushgate"],
    )
    authorization: AuthorizationValue | None = Field(
        default=None,
        repr=False,
        description="Sent as the Authorization header of every request, e.g. a bearer JWT "
        "the receiver checks; without it, the tenant's webhook.authorization setting. "
        "Write-only.",
        examples=["Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwdXNoZ2F0ZSJ9.c2ln"],
    )
    signing_secret: SigningSecret | None = Field(
        default=None,
        repr=False,
        description="Sign requests the Standard Webhooks way with this secret: whsec_ and "
        "base64 of 24 to 64 bytes. Write-only.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )
    generate_signing_secret: bool = Field(
        default=False,
        description="Make a new signing secret; it is answered once, in generated.",
        examples=[True],
    )
    user_agent: UserAgent | None = Field(
        default=None,
        description="The User-Agent header of every request.",
        examples=["acme-hooks/1.0"],
    )
    timeout_seconds: int = Field(
        default=DEFAULT_TIMEOUT_SECONDS,
        ge=1,
        le=60,
        description="How long to wait for the receiver's answer.",
        examples=[15],
    )
    answer_mode: Literal["plain", "contract"] = Field(
        default="plain",
        description="plain: any 2xx is success; contract: the body "
        '{"Success", "Code", "Message"} decides.',
        examples=["plain"],
    )

    @field_validator("url")
    @classmethod
    def _check_target(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        allow_insecure = bool((info.context or {}).get(ALLOW_INSECURE_TARGETS))
        parts = split_http_url(value)
        if parts.scheme != "https" and not allow_insecure:
            raise ValueError("must use https (http only when insecure targets are allowed)")
        refusal = target_refusal(parts, allow_private=allow_insecure)
        if refusal is not None:
            raise ValueError(refusal)
        return value


def validate_webhook(raw: Mapping[str, Any], *, allow_insecure_targets: bool) -> CredentialSet:
    """Validate webhook input; insecure targets (http, private hosts) only when allowed."""
    context = {ALLOW_INSECURE_TARGETS: allow_insecure_targets}
    given = parse_input(WebhookInput, KIND, raw, context=context)
    if given.generate_signing_secret and given.signing_secret is not None:
        raise invalid(
            KIND, "generate_signing_secret", "give signing_secret or generate it, not both"
        )
    secret: dict[str, str] = {}
    generated: dict[str, str] = {}
    if given.signing_secret is not None:
        secret["signing_secret"] = given.signing_secret
    elif given.generate_signing_secret:
        secret["signing_secret"] = generated["signing_secret"] = generate_signing_secret()
    if given.authorization is not None:
        secret["authorization"] = given.authorization
    public: dict[str, PublicValue] = {
        "timeout_seconds": given.timeout_seconds,
        "answer_mode": given.answer_mode,
    }
    if given.url is not None:
        public["url"] = given.url
    if given.user_agent is not None:
        public["user_agent"] = given.user_agent
    return CredentialSet(KIND, public, secret, generated)
