"""Relay credentials: this instance sends an app's pushes through another pushgate, the
relay, which holds the provider credentials (docs/relay.md, docs/credentials.md).

Stored form. Public: ``url`` (the relay's base URL), ``app`` (the relay's app name).
Secret: ``key``, a relay-scoped API key the relay's operator made for this instance.
The URL must be https unless the operator allows insecure targets (a relay on the same
host or network), as for webhooks (docs/architecture.md §6).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from pushgate.core.credentials.fields import CredentialInput, parse_input
from pushgate.core.credentials.result import CredentialSet, PublicValue
from pushgate.core.credentials.urls import UrlText, split_http_url, target_refusal
from pushgate.core.credentials.webhook import ALLOW_INSECURE_TARGETS

KIND = "relay"
RelayKey = Annotated[
    str, StringConstraints(min_length=8, max_length=256, pattern=r"^[A-Za-z0-9_.-]+$")
]
RelayApp = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]


class RelayInput(CredentialInput):
    """Where this instance relays an app's pushes, and with which key."""

    url: UrlText = Field(
        description="The relay's base URL (its instance_name): https, and a public host "
        "unless the operator allows insecure targets.",
        examples=["https://push.vendor.example"],
    )
    key: RelayKey = Field(
        repr=False,
        description="A relay-scoped API key the relay made for this instance. Write-only.",
        examples=["pgk_0123456789abcdef0123456789abcdef"],
    )
    app: RelayApp = Field(description="The app's name at the relay.", examples=["shop"])

    @field_validator("url")
    @classmethod
    def _check_target(cls, value: str, info: ValidationInfo) -> str:
        allow_insecure = bool((info.context or {}).get(ALLOW_INSECURE_TARGETS))
        parts = split_http_url(value)
        if parts.scheme != "https" and not allow_insecure:
            raise ValueError("must use https (http only when insecure targets are allowed)")
        if parts.query:
            raise ValueError("must be a base URL without a query")
        refusal = target_refusal(parts, allow_private=allow_insecure)
        if refusal is not None:
            raise ValueError(refusal)
        return value.rstrip("/")


def validate_relay(raw: Mapping[str, Any], *, allow_insecure_targets: bool) -> CredentialSet:
    context = {ALLOW_INSECURE_TARGETS: allow_insecure_targets}
    given = parse_input(RelayInput, KIND, raw, context=context)
    public: dict[str, PublicValue] = {"url": given.url, "app": given.app}
    return CredentialSet(KIND, public, {"key": given.key})
