"""HMS credentials: the app id and client secret of Push Kit's OAuth flow (docs/providers.md §5.1).

Stored form. Public: ``app_id``, ``token_url`` and ``base_url`` when set. Secret:
``client_secret``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from pushgate.core.credentials.fields import (
    ClientSecret,
    CredentialInput,
    matching,
    parse_input,
)
from pushgate.core.credentials.result import CredentialSet, PublicValue
from pushgate.core.credentials.urls import HttpUrl, TokenUrl

KIND = "hms"

# The app id is numeric; it is both the OAuth client id and the ``{appId}`` of the send
# path ``/v1/{appId}/messages:send`` (docs/providers.md §5.2).
AppId = Annotated[str, StringConstraints(max_length=32), matching(r"[0-9]+", "digits")]


class HmsInput(CredentialInput):
    """What an operator sends to configure Huawei Push Kit for one app."""

    app_id: AppId = Field(
        description="The numeric App ID from AppGallery Connect (the OAuth client id too).",
        examples=["104857612"],
    )
    client_secret: ClientSecret = Field(
        repr=False,
        description="The app's App Secret (client secret) from AppGallery Connect. Write-only.",
        examples=["3b9c0e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c"],
    )
    token_url: TokenUrl | None = Field(
        default=None,
        description="Ask for access tokens here instead of oauth-login.cloud.huawei.com, e.g. "
        "the HMS simulator. Only an instance-wide admin key may set it.",
        examples=["https://127.0.0.1:2201/oauth2/v3/token"],
    )
    base_url: HttpUrl | None = Field(
        default=None,
        description="Send here instead of push-api.cloud.huawei.com, e.g. the HMS simulator. "
        "Only an instance-wide admin key may set it.",
        examples=["https://127.0.0.1:2201"],
    )


def validate_hms(raw: Mapping[str, Any], *, allow_insecure_targets: bool) -> CredentialSet:
    """Validate HMS input; ``allow_insecure_targets`` does not apply (token URLs need https)."""
    given = parse_input(HmsInput, KIND, raw)
    public: dict[str, PublicValue] = {"app_id": given.app_id}
    if given.token_url is not None:
        public["token_url"] = given.token_url
    if given.base_url is not None:
        public["base_url"] = given.base_url
    return CredentialSet(KIND, public, {"client_secret": given.client_secret})
