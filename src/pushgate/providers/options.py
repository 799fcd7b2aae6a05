"""What the operator's settings tell every provider client, beside its credentials."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

# Resolves a host name to the IP addresses a connection may use (tests pass their own;
# production uses the event loop's getaddrinfo).
Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class ProviderOptions:
    """Settings shared by the HTTP/1.1 provider clients (Web Push, WNS, HMS, webhook).

    ``allow_private_targets`` mirrors the ``allow_private_targets`` setting: only then may a
    Web Push endpoint, WNS channel or webhook URL resolve to a loopback, private or
    link-local address (docs/architecture.md §6). ``ca_files`` are trusted beside the system store
    for provider hosts; every client builds its own TLS context from them. ``clock`` gives
    epoch seconds, so token lifetimes can be tested.
    """

    allow_private_targets: bool = False
    connect_timeout: float = 5.0
    request_timeout: float = 30.0
    pool_timeout: float = 10.0
    max_connections: int = 16
    # How many requests of one batch are in flight at once. httpx's pool scans its
    # connections on every event, so client CPU per request grows with this (measured:
    # ~1.2 ms at 4, ~1.9 ms at 8, ~3.4 ms at 32); 8 still hides a remote receiver's latency.
    concurrency: int = 8
    # CA files trusted beside the system store (the simulators' CA).
    ca_files: tuple[str, ...] = ()
    resolver: Resolver | None = None
    clock: Callable[[], float] = field(default=time.time)
