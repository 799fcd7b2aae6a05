"""TLS settings for HTTP/2 client connections."""

from __future__ import annotations

import ssl


def client_ssl_context(cafile: str | None = None) -> ssl.SSLContext:
    """A verifying client context offering only ``h2`` by ALPN (RFC 9113 §3.2, §9.2).

    ``cafile`` replaces the system trust store (a private CA, or a test certificate).
    """
    context = ssl.create_default_context(cafile=cafile)
    # RFC 9113 §9.2: TLS 1.2 or later.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    return context
