"""Provider URL overrides: the credential fields that move where pushgate connects.

A base URL or token URL override sends client secrets and provider tokens to the host it
names, and that host's answers come back as reasons. So setting one is an instance-level
privilege (an instance-wide admin key; a tenant admin gets 403), and even then the URL must
be https to a host that is not a loopback, private or link-local literal unless the operator
allows private targets (``allow_private_targets``, for local simulators). The host is judged
again, resolved, when the connection opens (``providers/target_guard.py``;
docs/architecture.md §6).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import assert_never
from urllib.parse import urlsplit

from pushgate.core.addresses import AddressUse, BadHost, LiteralHost, NamedHost, parse_host
from pushgate.core.credentials.fields import invalid
from pushgate.errors import Forbidden

# Per kind, each URL field that redirects traffic, and the values that are not overrides
# (the provider's own endpoint as its downloaded files carry it). FCM's service-account
# file always has a ``token_uri``; Google's is not an override (docs/providers.md §2.2).
URL_FIELDS: dict[str, dict[str, frozenset[str]]] = {
    "apns": {"base_url": frozenset()},
    "fcm": {
        "base_url": frozenset(),
        "token_uri": frozenset({"https://oauth2.googleapis.com/token"}),
    },
    "hms": {"base_url": frozenset(), "token_url": frozenset()},
    "wns": {"base_url": frozenset(), "token_url": frozenset()},
}
# Where a stored field sits in the input, for error details (the rest sit at the top).
_INPUT_PATHS = {("fcm", "token_uri"): "service_account.token_uri"}


def _path(kind: str, name: str) -> str:
    return _INPUT_PATHS.get((kind, name), name)


def overrides_in(kind: str, public: Mapping[str, object]) -> list[str]:
    """The URL fields of ``public`` that point somewhere other than the provider's own."""
    return [
        name
        for name, defaults in URL_FIELDS.get(kind, {}).items()
        if isinstance(public.get(name), str) and public[name] not in defaults
    ]


def check_overrides(
    kind: str, public: Mapping[str, object], *, instance_admin: bool, allow_private: bool
) -> None:
    """Refuse overrides a caller may not set (403) or that name an internal host (422)."""
    fields = overrides_in(kind, public)
    if fields and not instance_admin:
        raise Forbidden(
            f"only an instance-wide admin key may override provider URLs ({', '.join(fields)})",
            details={"fields": [f"{kind}.{_path(kind, name)}" for name in fields]},
        )
    if allow_private:
        return
    for name in fields:
        parts = urlsplit(str(public[name]))
        if parts.scheme != "https":
            raise invalid(
                kind, _path(kind, name), "must use https (http only with allow_private_targets)"
            )
        match parse_host((parts.hostname or "").lower()):
            case BadHost(reason):
                raise invalid(kind, _path(kind, name), f"has a bad host: {reason}")
            case LiteralHost(use) if use is not AddressUse.PUBLIC:
                raise invalid(
                    kind,
                    _path(kind, name),
                    f"names a non-public host ({use}) (allowed only with allow_private_targets)",
                )
            case NamedHost() | LiteralHost():
                pass
            case other:
                assert_never(other)
