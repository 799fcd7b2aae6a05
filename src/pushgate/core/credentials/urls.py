"""URL rules for credential fields: which schemes and hosts each kind of URL may use.

Provider base URLs may be http (they point at local simulators); token endpoints carry client
secrets, so they need https unless the host is loopback; webhook targets are judged with the
operator's switch for insecure targets (docs/architecture.md §6).
"""

from __future__ import annotations

import re
from typing import Annotated, assert_never
from urllib.parse import SplitResult, urlsplit

import httpx
from pydantic import AfterValidator, StringConstraints

from pushgate.core.addresses import (
    AddressUse,
    BadHost,
    LiteralHost,
    NamedHost,
    may_connect,
    parse_host,
)

_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")


def split_http_url(value: str) -> SplitResult:
    """Parse an absolute http(s) URL with a host, refusing anything ambiguous.

    Userinfo is refused because the URL is stored and shown in clear (a password in it would
    leak); fragments mean nothing to a server and hint at a pasted browser address. The
    host must be one every parser reads alike (core/addresses.py), and the URL one the
    HTTP client that sends to it can parse: what it refuses at send time is refused here.
    """
    if _CONTROL_OR_SPACE.search(value):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password; use the secret fields")
    if parts.fragment:
        raise ValueError("must not have a #fragment")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError("has an invalid port") from None
    host = parse_host(parts.hostname)
    if isinstance(host, BadHost):
        raise ValueError(f"has a bad host: {host.reason}")
    try:
        _ = httpx.URL(value).host  # the host is decoded (IDNA) only when read
    except (httpx.InvalidURL, ValueError) as exc:
        raise ValueError(f"cannot be sent to: {exc}") from None
    return parts


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` names (RFC 6761 §6.3) and loopback address literals."""
    found = parse_host(host.lower())
    return isinstance(found, LiteralHost) and found.use is AddressUse.LOOPBACK


def target_refusal(parts: SplitResult, *, allow_private: bool) -> str | None:
    """Why a delivery target (a webhook URL, a Web Push endpoint, a WNS channel) parsed by
    :func:`split_http_url` can never be sent to, or None.

    Only literals and ``localhost`` names can be judged here; a public name that resolves to
    a private address is refused when the connection is made, by the same table.
    """
    match parse_host(parts.hostname or ""):
        case BadHost(reason):
            return f"has a bad host: {reason}"
        case LiteralHost(use) if not may_connect(use, allow_private=allow_private):
            if use in (AddressUse.MULTICAST, AddressUse.UNSPECIFIED):
                return f"points at an address no receiver answers on ({use})"
            return f"points at a non-public address ({use}); allowed only for private targets"
        case NamedHost() | LiteralHost():
            return None
        case other:
            assert_never(other)


def check_http_url(value: str) -> str:
    """An http or https URL (provider base URL overrides, pointed at simulators)."""
    split_http_url(value)
    return value


def check_token_url(value: str) -> str:
    """https, or http only to a loopback host: token requests carry client secrets."""
    parts = split_http_url(value)
    if parts.scheme != "https" and not is_loopback_host(parts.hostname or ""):
        raise ValueError("must use https (http is allowed only for loopback hosts)")
    return value


def check_https_url(value: str) -> str:
    """An https URL; used for informational links that are never fetched over http."""
    if split_http_url(value).scheme != "https":
        raise ValueError("must use https")
    return value


MAX_URL = 2048

HttpUrl = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_URL), AfterValidator(check_http_url)
]
TokenUrl = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_URL), AfterValidator(check_token_url)
]
UrlText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL)]
