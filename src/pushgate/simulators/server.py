"""Serve a :class:`~pushgate.simulators.base.Simulator` on a loopback socket.

HTTP/1.1 is handled with ``h11``. HTTP/2 (ALPN ``h2`` over TLS, or prior-knowledge h2c,
RFC 9113 §3.3–§3.4) is handed to :class:`~pushgate.simulators.http2.Http2Connection`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import cast

import h11

from pushgate.simulators.base import ConnectionInfo, SimRequest, SimResponse, Simulator
from pushgate.simulators.http2 import Http2Connection

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Builds the protocol that takes over a connection speaking HTTP/2; replaceable so a
# benchmark can compare against another implementation.
HTTP2_FACTORY: (
    Callable[[Simulator, asyncio.Transport, ConnectionInfo, bytes], asyncio.Protocol] | None
) = Http2Connection


class Http1Protocol(asyncio.Protocol):
    """One HTTP/1.1 connection, keep-alive, requests answered in order."""

    def __init__(self, simulator: Simulator, live: set[asyncio.Transport] | None = None) -> None:
        self.simulator = simulator
        self.live = live if live is not None else set()
        self.conn = h11.Connection(h11.SERVER)
        self.transport: asyncio.Transport | None = None
        self.info = ConnectionInfo()
        self.pending = bytearray()
        self.sniffing = True
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.worker: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.live.add(self.transport)
        ssl_object = self.transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.info.peer_certificate = ssl_object.getpeercert() or None
            if self.info.peer_certificate is not None:
                self.info.peer_certificate_der = ssl_object.getpeercert(binary_form=True)
            if ssl_object.selected_alpn_protocol() == "h2":
                self._switch_to_h2(b"")

    def data_received(self, data: bytes) -> None:
        if self.sniffing:
            self.pending += data
            if len(self.pending) < len(H2_PREFACE) and H2_PREFACE.startswith(bytes(self.pending)):
                return
            self.sniffing = False
            data, self.pending = bytes(self.pending), bytearray()
            if data.startswith(H2_PREFACE) and HTTP2_FACTORY is not None:
                self._switch_to_h2(data)
                return
            # HTTP/1.1 it is: the worker starts only now, so a switch never has to stop it.
            self.worker = asyncio.get_running_loop().create_task(self._serve())
        self.queue.put_nowait(data)

    def eof_received(self) -> bool | None:
        self.queue.put_nowait(None)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.live.discard(self.transport)
        self.queue.put_nowait(None)

    def _made(self) -> asyncio.Transport:
        """The transport; asyncio calls ``connection_made`` before any other callback."""
        if self.transport is None:
            raise RuntimeError("HTTP/1.1 connection used before connection_made")
        return self.transport

    def _switch_to_h2(self, initial: bytes) -> None:
        transport = self._made()
        if HTTP2_FACTORY is None:
            transport.close()
            return
        protocol = HTTP2_FACTORY(self.simulator, transport, self.info, initial)
        transport.set_protocol(protocol)

    async def _serve(self) -> None:
        transport = self._made()
        try:
            while True:
                request = await self._next_request()
                if request is None:
                    break
                response = await self.simulator.handle(request)
                if response.action in ("reset", "goaway"):
                    transport.abort()
                    return
                self._send(response)
                if self.conn.our_state is h11.MUST_CLOSE:
                    break
                self.conn.start_next_cycle()
        except h11.RemoteProtocolError:
            with contextlib.suppress(h11.LocalProtocolError):
                self._send(SimResponse(400, [("content-type", "text/plain")], b"bad request"))
        finally:
            transport.close()

    async def _next_request(self) -> SimRequest | None:
        head: h11.Request | None = None
        body = bytearray()
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = await self.queue.get()
                if data is None:
                    return None
                self.conn.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage) and head is not None:
                headers = [(k.decode().lower(), v.decode("latin-1")) for k, v in head.headers]
                return SimRequest(
                    head.method.decode(),
                    head.target.decode(),
                    headers,
                    bytes(body),
                    "1.1",
                    self.info,
                )
            elif isinstance(event, h11.ConnectionClosed):
                return None

    def _send(self, response: SimResponse) -> None:
        transport = self._made()
        headers = [*response.headers, ("content-length", str(len(response.body)))]
        # Some clients (h2load --h1) treat an empty reason phrase as a failure.
        reason = _reason_phrase(response.status)
        out = (
            self.conn.send(
                h11.Response(status_code=response.status, headers=headers, reason=reason)
            )
            or b""
        )
        out += self.conn.send(h11.Data(data=response.body)) or b""
        out += self.conn.send(h11.EndOfMessage()) or b""
        transport.write(out)


def _reason_phrase(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


@dataclass
class RunningServer:
    """A started simulator server; ``base_url`` is what clients should use."""

    simulator: Simulator
    server: asyncio.base_events.Server
    base_url: str
    port: int
    live: set[asyncio.Transport] = field(default_factory=set)

    async def close(self) -> None:
        self.server.close()
        # Python 3.11's Server.close leaves accepted connections open (3.12 adds
        # close_clients): a client that never closed its side would keep them, and their
        # sockets, until garbage collection.
        for transport in list(self.live):
            transport.abort()
        self.live.clear()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 2)


async def start(
    simulator: Simulator,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
) -> RunningServer:
    """Serve ``simulator`` on ``host:port`` (0 picks a free port) and return at once."""
    loop = asyncio.get_running_loop()
    live: set[asyncio.Transport] = set()
    server = await loop.create_server(
        lambda: Http1Protocol(simulator, live), host, port, ssl=ssl_context, reuse_address=True
    )
    bound_port = server.sockets[0].getsockname()[1]
    scheme = "https" if ssl_context is not None else "http"
    base_url = f"{scheme}://{host}:{bound_port}"
    simulator.base_url = base_url
    return RunningServer(simulator, server, base_url, bound_port, live)
