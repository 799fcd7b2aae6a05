"""TLS contexts for provider connections: a new one for every client, never shared.

httpcore sets the ALPN protocols of the context it is given on every connection it opens
(``http/1.1`` for pushgate's HTTP/1.1 clients), so a context shared with an HTTP/2 pool
would make the pool offer ``http/1.1`` too and fail to negotiate ``h2`` (RFC 9113 §3.2).
Hence one context per client (the FCM provider's token client and its pool each get one).

Trust is the system store plus the operator's extra CA files (``provider_ca_file``, e.g.
the simulators' CA): pointing one provider at a local stand-in must not untrust the others.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import Literal

#: What a client speaks: ``h2`` for pushgate's HTTP/2 pool, ``http/1.1`` for httpx.
Protocol = Literal["h2", "http/1.1"]


def tls_context(ca_files: Sequence[str], protocol: Protocol) -> ssl.SSLContext:
    """A new verifying client context trusting the system store and every ``ca_files``
    entry, offering only ``protocol`` by ALPN; give it to one client only."""
    context = ssl.create_default_context()  # loads the system store (OpenSSL's default paths)
    for path in ca_files:
        context.load_verify_locations(cafile=path)  # adds: the system CAs stay trusted
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # RFC 9113 §9.2; APNs (docs/providers.md §1.1)
    context.set_alpn_protocols([protocol])
    return context
