"""WNS credentials: the package SID and client secret of the OAuth flow (docs/providers.md §4.1).

Stored form. Public: ``package_sid``, ``token_url`` and ``base_url`` when set. Secret:
``client_secret``. The SID may be sent as ``package_sid`` or ``client_id`` (WNS calls it
``client_id`` in the token request).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AliasChoices, Field, StringConstraints

from pushgate.core.credentials.fields import (
    ClientSecret,
    CredentialInput,
    matching,
    parse_input,
)
from pushgate.core.credentials.result import CredentialSet, PublicValue
from pushgate.core.credentials.urls import HttpUrl, TokenUrl

KIND = "wns"

# A package SID is ``ms-app://`` followed by an app-container SID ``S-1-15-2-…``.
PackageSid = Annotated[
    str,
    StringConstraints(max_length=256),
    matching(r"ms-app://[Ss]-1-15-2(?:-[0-9]{1,10}){1,15}", "a package SID: ms-app://s-1-15-2-…"),
]


class WnsInput(CredentialInput):
    """What an operator sends to configure WNS for one app."""

    package_sid: PackageSid = Field(
        validation_alias=AliasChoices("package_sid", "client_id"),
        description="The app's Package SID from Partner Center (also accepted as client_id, "
        "the name the token request gives it).",
        examples=["ms-app://s-1-15-2-2972962901-2322836549-3722629029-1345238579"],
    )
    client_secret: ClientSecret = Field(
        repr=False,
        description="The app's client secret from Partner Center. Write-only.",
        examples=["Vex8L9WOFZuj95euaLrvSH7XyoDhLJc7"],
    )
    token_url: TokenUrl | None = Field(
        default=None,
        description="Ask for access tokens here instead of login.live.com, e.g. the WNS "
        "simulator. Only an instance-wide admin key may set it.",
        examples=["https://127.0.0.1:2200/accesstoken.srf"],
    )
    base_url: HttpUrl | None = Field(
        default=None,
        description="Also accept device channel URIs on this origin (besides WNS's own "
        "notify.windows.com), e.g. the WNS simulator's. Only an instance-wide admin key may "
        "set it.",
        examples=["https://127.0.0.1:2200"],
    )


def validate_wns(raw: Mapping[str, Any], *, allow_insecure_targets: bool) -> CredentialSet:
    """Validate WNS input; ``allow_insecure_targets`` does not apply (token URLs need https)."""
    given = parse_input(WnsInput, KIND, raw)
    public: dict[str, PublicValue] = {"package_sid": given.package_sid}
    if given.token_url is not None:
        public["token_url"] = given.token_url
    if given.base_url is not None:
        public["base_url"] = given.base_url
    return CredentialSet(KIND, public, {"client_secret": given.client_secret})
