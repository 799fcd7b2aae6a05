"""URL rules for credential fields: which schemes and hosts each kind of URL may use.

Provider base URLs may be http (they point at local simulators); token endpoints carry client
secrets, so they need https unless the host is loopback; webhook targets are judged with the
operator's switch for insecure targets (docs/architecture.md §6).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Annotated
from urllib.parse import SplitResult, urlsplit

from pydantic import AfterValidator, StringConstraints

_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")


def split_http_url(value: str) -> SplitResult:
    """Parse an absolute http(s) URL with a host, refusing anything ambiguous.

    Userinfo is refused because the URL is stored and shown in clear (a password in it would
    leak); fragments mean nothing to a server and hint at a pasted browser address.
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
    return parts


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` names (RFC 6761 §6.3) and loopback address literals."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = _address(host)
    return address is not None and address.is_loopback


def is_internal_host(host: str) -> bool:
    """True for loopback, private, link-local and other non-public address literals.

    Only literals and ``localhost`` names can be judged here; a public name that resolves to
    a private address must be refused again when the connection is made.
    """
    if is_loopback_host(host):
        return True
    address = _address(host.lower().rstrip("."))
    if address is None:
        return False
    return not address.is_global or address.is_multicast


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    # Resolvers built on inet_aton read "127.1", "2130706433" and "0x7f000001" as IPv4
    # addresses; judge them as the connection would. inet_aton does no lookup.
    if not re.fullmatch(r"[0-9a-fA-Fx.]+", host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


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
