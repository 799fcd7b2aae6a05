"""A small HTTP/2 test client on the `h2` package (written by others) over a real socket.

It exposes every event so tests can check SETTINGS, PING, RST_STREAM and GOAWAY, and it
can be told to use tiny flow-control windows.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from typing import Any, TypeVar

import h2.config
import h2.connection
import h2.events
import h2.settings

E = TypeVar("E", bound=h2.events.Event)
WAIT_SECONDS = 5


@dataclass
class StreamResult:
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    reset_code: int | None = None

    @property
    def status(self) -> int:
        return int(self.headers[":status"])


class H2Client:
    """Drives an `h2` client connection; ``auto_ack`` returns flow-control credit."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        self.events: list[h2.events.Event] = []
        self.streams: dict[int, StreamResult] = {}
        self.changed = asyncio.Event()
        self.auto_ack = True
        self.task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls,
        port: int,
        ssl_context: ssl.SSLContext | None = None,
        settings: dict[int, int] | None = None,
    ) -> H2Client:
        if ssl_context is not None:
            ssl_context.set_alpn_protocols(["h2"])
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=ssl_context, server_hostname="localhost" if ssl_context else None
        )
        client = cls(reader, writer)
        client.conn.initiate_connection()
        if settings:
            client.conn.update_settings(settings)
        client.flush()
        client.task = asyncio.get_running_loop().create_task(client._read())
        return client

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.writer.write(data)

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                for event in self.conn.receive_data(data):
                    self._on_event(event)
                self.flush()
                self.changed.set()
        self.events.append(h2.events.ConnectionTerminated())
        self.changed.set()

    def _on_event(self, event: h2.events.Event) -> None:
        self.events.append(event)
        stream_id = getattr(event, "stream_id", None)
        result = self.streams.setdefault(stream_id, StreamResult()) if stream_id else None
        if isinstance(event, h2.events.ResponseReceived) and result is not None:
            result.headers.update({str(k): str(v) for k, v in event.headers or []})
        elif isinstance(event, h2.events.DataReceived) and result is not None:
            result.body += event.data or b""
            if self.auto_ack and stream_id is not None:
                self.conn.acknowledge_received_data(event.flow_controlled_length, stream_id)
        elif isinstance(event, h2.events.StreamEnded) and result is not None:
            result.ended.set()
        elif isinstance(event, h2.events.StreamReset) and result is not None:
            result.reset_code = event.error_code
            result.ended.set()

    def send(
        self,
        path: str,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        method: str = "POST",
        end_stream: bool = True,
    ) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        self.streams[stream_id] = StreamResult()
        request = [
            (":method", method),
            (":scheme", "https"),
            (":authority", "localhost"),
            (":path", path),
            *(headers or []),
        ]
        self.conn.send_headers(stream_id, request, end_stream=end_stream and not body)
        if body:
            self.conn.send_data(stream_id, body, end_stream=end_stream)
        self.flush()
        return stream_id

    async def result(self, stream_id: int) -> StreamResult:
        result = self.streams[stream_id]
        await asyncio.wait_for(result.ended.wait(), WAIT_SECONDS)
        return result

    async def wait_for(self, kind: type[E], **match: Any) -> E:
        async def find() -> E:
            while True:
                for event in self.events:
                    if isinstance(event, kind) and all(
                        getattr(event, k) == v for k, v in match.items()
                    ):
                        return event
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(find(), WAIT_SECONDS)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()
