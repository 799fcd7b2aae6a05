"""The HTTP/2 client wire protocol on one asyncio transport (RFC 9113).

:class:`Http2Protocol` turns requests into frames and frames into responses. It owns the
stream table, send flow control, SETTINGS, PING, RST_STREAM and GOAWAY. Frames produced
in one event-loop turn are collected and leave in one ``transport.write``; incoming frames
are parsed by :mod:`.frame_reader` and responses assembled by :mod:`.responses`.
Timeouts, waiting for a stream slot and keepalive live in :mod:`.connection`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from typing import cast

from pushgate.transport import frames as fr
from pushgate.transport.config import Http2Config
from pushgate.transport.errors import (
    ConnectionLost,
    ConnectionUnavailable,
    MaybeProcessedError,
    ProtocolViolation,
    StreamRefused,
    StreamReset,
    TransportError,
)
from pushgate.transport.frame_reader import FrameReader
from pushgate.transport.header_encoder import RequestHeaderEncoder, SharedHeaders
from pushgate.transport.responses import ResponseAssembler
from pushgate.transport.stream import Response, Stream

OPEN, DRAINING, CLOSED = "open", "draining", "closed"
_END_HEADERS_AND_STREAM = fr.FLAG_END_HEADERS | fr.FLAG_END_STREAM


class Http2Protocol(asyncio.Protocol):
    """Client side of one HTTP/2 connection; see the module docstring."""

    def __init__(self, config: Http2Config, authority: str, scheme: str) -> None:
        self.config = config
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.state = OPEN
        self.streams: dict[int, Stream] = {}
        self.next_stream_id = 1
        self.sent_below = 1  # streams below this id have been handed to the transport
        self.encoder = RequestHeaderEncoder(config.encoder_table_size)
        self.pseudo = SharedHeaders([(":scheme", scheme), (":authority", authority)])
        self.peer_max_streams = 2**31
        self.peer_initial_window = fr.DEFAULT_WINDOW_SIZE
        self.peer_max_frame_size = fr.DEFAULT_MAX_FRAME_SIZE
        self.send_window = fr.DEFAULT_WINDOW_SIZE
        self.blocked: deque[Stream] = deque()
        self.out: list[bytes | memoryview] = []
        self.flush_scheduled = False
        self.close_error: TransportError | None = None
        self.settings_received: asyncio.Future[None] = self.loop.create_future()
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.received_since_tick = False
        self.ping_payload: bytes | None = None
        self.on_capacity: Callable[[], None] = _nothing
        self.on_ping_ack: Callable[[], None] = _nothing
        self.write_paused = False
        self.responses = ResponseAssembler(self)
        self.reader = FrameReader(self)
        self.reading = False  # inside data_received
        self.slots_freed = False  # streams closed while reading

    # -- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport but offer the same methods.
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None and ssl_object.selected_alpn_protocol() != "h2":
            # RFC 9113 §3.2: over TLS, HTTP/2 is only spoken after ALPN selected "h2".
            self.close_error = ConnectionUnavailable("the server did not negotiate h2 (ALPN)")
            transport.abort()
            return
        settings = {
            fr.SETTINGS_ENABLE_PUSH: 0,
            fr.SETTINGS_INITIAL_WINDOW_SIZE: self.config.stream_window_size,
            fr.SETTINGS_MAX_FRAME_SIZE: self.config.max_frame_size,
            fr.SETTINGS_MAX_HEADER_LIST_SIZE: self.config.max_header_list_size,
        }
        increment = self.config.connection_window_size - fr.DEFAULT_WINDOW_SIZE
        preface = [fr.PREFACE, fr.settings_frame(settings)]
        if increment:
            preface.append(fr.window_update_frame(0, increment))
        transport.write(b"".join(preface))

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = CLOSED
        if not self.settings_received.done():
            self.settings_received.set_exception(self.lost_error(exc))
            self.settings_received.exception()  # opening may already have given up on it
        streams, self.streams = self.streams, {}
        for stream in streams.values():
            sent = stream.id < self.sent_below
            error = self.lost_error(exc) if sent else self.unsent_error()
            stream.batch.settle(stream.index, error)
        self.blocked.clear()
        self.on_capacity()
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.received_since_tick = True
        self.reading = True
        try:
            self.reader.feed(data)
        finally:
            self.reading = False
        if self.slots_freed:
            # Streams closed by these frames: waiting requests take their slots now, in
            # one go rather than one at a time as each stream closed.
            self.slots_freed = False
            self.on_capacity()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self.on_capacity()

    # -- sending ----------------------------------------------------------------------

    def start_streams(self, streams: Sequence[Stream]) -> None:
        """Open a stream for each request and queue its HEADERS and DATA (as far as the
        windows allow), all leaving in this turn's one write.

        The caller checked the stream limit and that enough stream ids are left.
        """
        encode = self.encoder.encode
        pseudo = self.pseudo
        table = self.streams
        append = self.out.append
        pack = fr.FRAME_HEADER.pack
        max_frame_size = self.peer_max_frame_size
        initial_window = self.peer_initial_window
        stream_id = self.next_stream_id
        for stream in streams:
            path, headers, body, shared = stream.request
            stream.id = stream_id
            table[stream_id] = stream
            block = encode(stream.batch.method, path, pseudo, shared, headers, len(body))
            size = len(block)
            if size <= max_frame_size:
                flags = fr.FLAG_END_HEADERS if body else _END_HEADERS_AND_STREAM
                append(pack(size << 8 | fr.HEADERS, flags, stream_id))
                append(block)
            else:
                append(fr.header_frames(stream_id, block, not body, max_frame_size))
            size = len(body)
            if 0 < size <= max_frame_size and size <= initial_window and size <= self.send_window:
                # The common case: the whole body in one DATA frame (RFC 9113 §6.9.1).
                append(pack(size << 8 | fr.DATA, fr.FLAG_END_STREAM, stream_id))
                append(body)
                self.send_window -= size
                stream.send_window = initial_window - size
            else:
                stream.send_window = initial_window
                if size:
                    self.send_data(stream, memoryview(body))
            stream_id += 2
        self.next_stream_id = stream_id
        if stream_id > self.config.max_stream_id:
            # RFC 9113 §5.1.1: ids cannot be reused; retire before they run out.
            self.state = DRAINING
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self.flush)

    @property
    def stream_ids_left(self) -> int:
        """How many more streams this connection may open (RFC 9113 §5.1.1)."""
        return max(0, (self.config.max_stream_id - self.next_stream_id) // 2 + 1)

    def send_data(self, stream: Stream, pending: memoryview) -> None:
        """Queue as much of the stream's ``pending`` body as both send windows allow
        (§6.9.1); what they hold back stays on the stream until they grow."""
        stream_id = stream.id
        out = self.out
        while True:
            size = min(len(pending), self.send_window, stream.send_window, self.peer_max_frame_size)
            if size <= 0 and pending:
                stream.pending = pending
                self.blocked.append(stream)
                return
            last = size == len(pending)
            out.append(
                fr.FRAME_HEADER.pack(size << 8 | fr.DATA, fr.FLAG_END_STREAM * last, stream_id)
            )
            out.append(pending[:size])
            self.send_window -= size
            stream.send_window -= size
            if last:
                stream.pending = None
                return
            pending = pending[size:]

    def resume_blocked(self) -> None:
        """Send what flow control held back, oldest stream first, after a window grew."""
        blocked, self.blocked = self.blocked, deque()
        for stream in blocked:
            pending = stream.pending
            if pending is not None and self.streams.get(stream.id) is stream:
                self.send_data(stream, pending)
        self.queue(b"")

    def queue(self, data: bytes) -> None:
        """Queue a control frame; it leaves with everything else at the end of this turn."""
        if data:
            self.out.append(data)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write every queued frame in one ``transport.write``."""
        self.flush_scheduled = False
        if self.out and self.transport is not None and self.state is not CLOSED:
            data = b"".join(self.out)
            self.out = []
            self.transport.write(data)
        self.sent_below = self.next_stream_id

    # -- finishing streams -----------------------------------------------------------

    def complete_stream(self, stream: Stream) -> None:
        """The server ended the stream: hand over the response."""
        del self.streams[stream.id]
        if stream.pending is not None:
            # The answer came before the whole body left (RFC 9113 §8.1): stop sending.
            stream.pending = None
            self.queue(fr.rst_stream_frame(stream.id, fr.NO_ERROR))
        body = b"".join(stream.body) if stream.body else b""
        stream.batch.settle(stream.index, Response(stream.status, stream.headers, body))
        self.stream_closed()

    def reset_stream(self, stream: Stream, error_code: int, error: TransportError | None) -> None:
        """Abandon a stream from our side: RST_STREAM, then fail its caller with ``error``
        (None: its caller has gone)."""
        if self.streams.pop(stream.id, None) is None:
            return
        stream.pending = None
        self.queue(fr.rst_stream_frame(stream.id, error_code))
        if error is not None:
            stream.batch.settle(stream.index, error)
        self.stream_closed()

    def stream_closed(self) -> None:
        if self.state is DRAINING and not self.streams:
            self.finish()
        if self.reading:
            self.slots_freed = True
        else:
            self.on_capacity()

    # -- closing ----------------------------------------------------------------------

    def drain(self, reason: TransportError) -> None:
        """Accept no new requests; close once the streams in flight are done."""
        if self.state is OPEN:
            self.state = DRAINING
            self.close_error = reason
        if not self.streams:
            self.finish()
        self.on_capacity()

    def finish(self) -> None:
        """Say goodbye with GOAWAY(NO_ERROR) and close the transport (RFC 9113 §6.8)."""
        if self.transport is not None and not self.transport.is_closing():
            self.queue(fr.goaway_frame(0, fr.NO_ERROR))
            self.flush()
            self.transport.close()

    def fail_connection(self, error_code: int, message: str) -> None:
        """A connection error (RFC 9113 §5.4.1): GOAWAY with the code, then close."""
        self.close_error = ProtocolViolation(message, details={"error_code": error_code})
        self.state = CLOSED
        if self.transport is not None:
            self.out.append(fr.goaway_frame(0, error_code))
            self.transport.write(b"".join(self.out))
            self.out = []
            self.transport.close()

    def lost_error(self, exc: Exception | None) -> TransportError:
        """A fresh error for a request in flight when the connection ended."""
        reason = self.close_error
        if isinstance(reason, MaybeProcessedError):
            return type(reason)(reason.message, details=reason.details)
        cause = f" after: {reason}" if reason is not None else ""
        return ConnectionLost(f"connection lost ({exc or 'closed by the server'}){cause}")

    def unsent_error(self) -> TransportError:
        return ConnectionUnavailable(
            "the connection closed before the request was sent",
            details={"reason": str(self.close_error)} if self.close_error else None,
        )

    # -- events reported by the inbound frame handlers ----------------------------------

    def reset_received(self, stream_id: int, error_code: int) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream is None:
            return
        stream.pending = None
        if error_code == fr.REFUSED_STREAM:
            # RFC 9113 §8.7: REFUSED_STREAM means no application processing happened.
            error: TransportError = StreamRefused(f"stream {stream_id} refused by the server")
        else:
            message = f"stream {stream_id} reset by the server (error code {error_code})"
            error = StreamReset(message, error_code=error_code)
        stream.batch.settle(stream.index, error)
        self.stream_closed()

    def goaway_received(self, last_stream_id: int, error_code: int) -> None:
        # RFC 9113 §6.8: streams above last_stream_id were not processed, resend elsewhere.
        for stream_id in [sid for sid in self.streams if sid > last_stream_id]:
            stream = self.streams.pop(stream_id)
            stream.pending = None
            message = f"stream {stream_id} above GOAWAY last-stream-id {last_stream_id}"
            refused = StreamRefused(message, details={"error_code": error_code})
            stream.batch.settle(stream.index, refused)
        self.drain(ConnectionUnavailable(f"the server sent GOAWAY (error code {error_code})"))


def _nothing() -> None:
    return None
