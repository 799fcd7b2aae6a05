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

    app_id: AppId
    client_secret: ClientSecret = Field(repr=False)
    token_url: TokenUrl | None = None
    base_url: HttpUrl | None = None


def validate_hms(raw: Mapping[str, Any], *, allow_insecure_targets: bool) -> CredentialSet:
    """Validate HMS input; ``allow_insecure_targets`` does not apply (token URLs need https)."""
    given = parse_input(HmsInput, KIND, raw)
    public: dict[str, PublicValue] = {"app_id": given.app_id}
    if given.token_url is not None:
        public["token_url"] = given.token_url
    if given.base_url is not None:
        public["base_url"] = given.base_url
    return CredentialSet(KIND, public, {"client_secret": given.client_secret})
