"""Where a provider client connects: the origin of a base URL and its HTTP/2 pool."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from pushgate.providers.options import Resolver
from pushgate.providers.target_guard import http2_address_check
from pushgate.transport import Http2Config, Http2Pool


@dataclass(frozen=True, slots=True)
class Origin:
    """Scheme, host and port of a provider's base URL (``https://api.push.apple.com``)."""

    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Origin:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) base URL: {url!r}")
        default_port = 443 if parts.scheme == "https" else 80
        return cls(parts.scheme, parts.hostname, parts.port or default_port)

    @property
    def is_tls(self) -> bool:
        return self.scheme == "https"


def open_pool(
    origin: Origin,
    *,
    connections: int,
    ssl_context: ssl.SSLContext | None,
    config: Http2Config,
    allow_private_targets: bool,
    resolver: Resolver | None = None,
) -> Http2Pool:
    """An HTTP/2 pool to ``origin``: TLS for https, prior-knowledge h2c for http (RFC 9113
    §3.3, what the local simulators offer). Connections open on first use, each through the
    address guard (``providers/target_guard.py``): a base URL whose host resolves to a
    loopback, private or link-local address is refused unless private targets are allowed."""
    return Http2Pool(
        origin.host,
        origin.port,
        size=connections,
        ssl_context=ssl_context if origin.is_tls else None,
        config=config,
        address_check=http2_address_check(resolver, allow_private=allow_private_targets),
    )
