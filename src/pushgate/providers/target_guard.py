"""Connections that refuse targets on loopback, private and link-local addresses.

Every outbound connection of pushgate opens here: the HTTP/1.1 clients (webhooks, Web Push,
WNS, HMS, token endpoints) through :class:`CheckedTransport`, and the HTTP/2 pools of APNs
and FCM through :func:`http2_address_check`. The one table of forbidden ranges is the IANA
special-purpose registry as :attr:`ipaddress.IPv4Address.is_global` applies it (RFC 6890).

A URL naming a public host can still resolve to ``127.0.0.1`` or ``169.254.169.254``, and a
host that resolved to a public address once can answer differently a second later (DNS
rebinding). So the check happens where the socket is opened: the host is resolved once,
every address it resolves to is judged, and the connection goes to an address that was
judged, never to a second lookup (docs/architecture.md §6; docs/providers.md §6.3: guard
against SSRF).
TLS still verifies the certificate against the host name, which httpcore passes to
``start_tls`` as the server name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from pushgate.core.addresses import address_use, is_public_text, may_connect
from pushgate.providers.options import ProviderOptions, Resolver
from pushgate.transport import AddressCheck, ConnectError, TargetRefused


class PrivateTargetRefused(Exception):
    """The target resolves to an address that private targets are not allowed to use."""


def is_public_address(text: str) -> bool:
    """True for globally routable unicast addresses (by core/addresses.py's one table)."""
    return is_public_text(text)


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, as the event loop's resolver answers."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def checked_addresses(
    host: str, port: int, resolver: Resolver, *, allow_private: bool
) -> list[str]:
    """The addresses to connect to; refused when any of them is not public."""
    try:
        addresses = await resolver(host, port)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise httpcore.ConnectError(f"{host} resolves to no address")
    # Every address is judged: a name with one public and one private address would
    # otherwise reach the private one whenever the resolver reorders its answer. The table
    # is the one registration judges address literals by (core/addresses.py).
    uses = [address_use(ipaddress.ip_address(address)) for address in addresses]
    refused = [use for use in uses if not may_connect(use, allow_private=allow_private)]
    if refused:
        raise PrivateTargetRefused(
            f"{host} resolves to a loopback, private or link-local address ({refused[0]})"
        )
    return addresses


def http2_address_check(resolver: Resolver | None, *, allow_private: bool) -> AddressCheck:
    """The same check for pushgate's HTTP/2 pools: resolve once, judge, answer the addresses
    the connection may use; a refusal is the transport's :class:`TargetRefused`."""

    async def check(host: str, port: int) -> list[str]:
        try:
            return await checked_addresses(
                host, port, resolver or system_resolver, allow_private=allow_private
            )
        except PrivateTargetRefused as exc:
            raise TargetRefused(f"target refused: {exc}") from exc
        except httpcore.ConnectError as exc:
            raise ConnectError(str(exc)) from exc

    return check


class CheckedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses that passed :func:`checked_addresses`."""

    def __init__(self, resolver: Resolver, *, allow_private: bool) -> None:
        self.resolver = resolver
        self.allow_private = allow_private
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await checked_addresses(
            host, port, self.resolver, allow_private=self.allow_private
        )
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        if last_error is None:  # checked_addresses never answers an empty list
            raise httpcore.ConnectError(f"{host} resolves to no address")
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not provider targets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's HTTP/1.1 transport over :class:`CheckedNetworkBackend`.

    httpx builds its httpcore pool without a way to pass a network backend, so the pool is
    rebuilt here with the same settings plus the checked backend.
    """

    def __init__(self, options: ProviderOptions, ssl_context: ssl.SSLContext) -> None:
        limits = httpx.Limits(max_connections=options.max_connections)
        super().__init__(verify=ssl_context, limits=limits)
        backend = CheckedNetworkBackend(
            options.resolver or system_resolver, allow_private=options.allow_private_targets
        )
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=backend,
        )
