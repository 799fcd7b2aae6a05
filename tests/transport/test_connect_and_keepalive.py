"""Opening connections, and servers that go silent.

The misbehaving servers here are raw asyncio sockets on 127.0.0.1 that speak only as much
HTTP/2 as the case needs: the outer edge, faked on purpose.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Callable

import pytest

from pushgate.transport import (
    ConnectError,
    ConnectionLost,
    ConnectTimeout,
    Http2Config,
    Http2Connection,
    client_ssl_context,
)
from pushgate.transport.frames import SETTINGS_ACK, settings_frame
from tests.transport.conftest import Server, TlsFiles

ServerStarter = Callable[..., "asyncio.Future[int]"]


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[..., asyncio.Future[int]]]:
    """Start a TCP server whose connections run ``handler(reader, writer)``; yields the port."""
    servers: list[asyncio.Server] = []
    writers: list[asyncio.StreamWriter] = []

    async def start(
        handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object],
        ssl_context: ssl.SSLContext | None = None,
    ) -> int:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.append(writer)
            result = handler(reader, writer)
            if asyncio.iscoroutine(result):
                await result

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=ssl_context)
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start  # type: ignore[misc]
    for writer in writers:
        writer.close()
    for server in servers:
        server.close()
        await server.wait_closed()


async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept the connection and read everything, answering nothing."""
    while await reader.read(65536):
        pass


async def settings_then_silence(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send the SETTINGS preface and an ACK, then ignore every frame (PINGs included)."""
    writer.write(settings_frame({}) + SETTINGS_ACK)
    await swallow(reader, writer)


async def test_unanswered_keepalive_ping_closes_the_connection(raw_server: ServerStarter) -> None:
    port = await raw_server(settings_then_silence)
    config = Http2Config(ping_interval=0.05, ping_timeout=0.1)
    connection = await Http2Connection.open("127.0.0.1", port, config=config)
    with pytest.raises(ConnectionLost, match="PING not answered"):
        await connection.request(b"POST", b"/", (), b"{}", timeout=5)
    assert connection.is_closed


async def test_server_without_settings_preface_times_out(raw_server: ServerStarter) -> None:
    port = await raw_server(swallow)
    with pytest.raises(ConnectTimeout):
        await Http2Connection.open("127.0.0.1", port, config=Http2Config(connect_timeout=0.2))


async def test_refused_port_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port once the probe socket is closed.
    with pytest.raises(ConnectError) as caught:
        await Http2Connection.open("127.0.0.1", port)
    assert caught.value.safe_to_resend


async def test_tls_server_without_h2_alpn_is_refused(
    raw_server: ServerStarter, tls_files: TlsFiles
) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files.cert, tls_files.key)
    context.set_alpn_protocols(["http/1.1"])
    port = await raw_server(swallow, context)
    with pytest.raises(ConnectError, match="ALPN"):
        await Http2Connection.open(
            "127.0.0.1",
            port,
            ssl_context=tls_files.client_context(),
            server_hostname="localhost",
        )


async def test_untrusted_certificate_is_refused(
    node_server: Callable[..., Server],
) -> None:
    server = node_server(tls=True)
    with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        await Http2Connection.open(
            "127.0.0.1", server.port, ssl_context=client_ssl_context(), server_hostname="localhost"
        )
