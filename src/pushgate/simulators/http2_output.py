"""The output half of the simulators' HTTP/2 connection: frames produced in one event-loop
turn leave in one ``transport.write``; header blocks larger than the client's
MAX_FRAME_SIZE continue in CONTINUATION frames (RFC 9113 §6.10); DATA waits for both
flow-control windows (RFC 9113 §6.9)."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod

from pushgate.simulators import http2_wire as wire
from pushgate.simulators.base import SimResponse
from pushgate.simulators.http2_stream import Stream


class Http2Output(ABC):
    """Writes responses for :class:`~pushgate.simulators.http2.Http2Connection`."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.loop = asyncio.get_running_loop()
        self.out: list[bytes] = []
        self.flush_scheduled = False
        self.streams: dict[int, Stream] = {}
        self.blocked: dict[int, Stream] = {}
        self.encoder = wire.ResponseHeaderEncoder()
        self.peer_max_frame = wire.DEFAULT_MAX_FRAME_SIZE
        self.send_window = wire.DEFAULT_WINDOW

    @abstractmethod
    def _forget(self, stream_id: int) -> None:
        """Drop a finished stream's state (the connection owns the streams' tasks)."""

    def _send_response(self, stream: Stream, response: SimResponse) -> None:
        headers = response.headers
        if response.body:
            headers = [*headers, ("content-length", str(len(response.body)))]
        block = self.encoder.encode(response.status, headers)
        self._write_header_block(stream.stream_id, block, end_stream=not response.body)
        if response.body:
            stream.pending = response.body
            self._send_data(stream)
        else:
            self._forget(stream.stream_id)

    def _write_header_block(self, stream_id: int, block: bytes, end_stream: bool) -> None:
        flags = wire.FLAG_END_STREAM if end_stream else 0
        limit = self.peer_max_frame
        if len(block) <= limit:
            self._write(wire.frame(wire.HEADERS, flags | wire.FLAG_END_HEADERS, stream_id, block))
            return
        chunks = [block[i : i + limit] for i in range(0, len(block), limit)]
        self._write(wire.frame(wire.HEADERS, flags, stream_id, chunks[0]))
        for index, chunk in enumerate(chunks[1:], start=2):
            last = wire.FLAG_END_HEADERS if index == len(chunks) else 0
            self._write(wire.frame(wire.CONTINUATION, last, stream_id, chunk))

    def _send_data(self, stream: Stream) -> None:
        """Send as much of the stream's body as both windows allow (RFC 9113 §6.9)."""
        while stream.pending:
            allowed = min(self.send_window, stream.send_window, self.peer_max_frame)
            if allowed <= 0:
                self.blocked[stream.stream_id] = stream
                return
            chunk, stream.pending = stream.pending[:allowed], stream.pending[allowed:]
            self.send_window -= len(chunk)
            stream.send_window -= len(chunk)
            flags = 0 if stream.pending else wire.FLAG_END_STREAM
            self._write(wire.frame(wire.DATA, flags, stream.stream_id, chunk))
        self.blocked.pop(stream.stream_id, None)
        self._forget(stream.stream_id)

    def _resume_blocked(self) -> None:
        for stream in list(self.blocked.values()):
            if self.send_window <= 0:
                return
            self._send_data(stream)

    # -- output ----------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        self.out.append(data)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self.flush_scheduled = False
        if self.out:
            data = b"".join(self.out)
            self.out.clear()
            if not self.transport.is_closing():
                self.transport.write(data)
