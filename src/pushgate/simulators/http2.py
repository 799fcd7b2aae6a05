"""A purpose-built server-side HTTP/2 connection (RFC 9113) for the simulators.

A general HTTP/2 state machine costs ~100 µs per request in Python; the simulators must
take well over 10,000 requests/s on one core, so this connection parses frames with
``struct`` over one buffer, decodes header blocks with a compiled HPACK decoder when one
is importable, encodes responses from cached bytes and writes everything produced in one
event-loop turn with one ``transport.write``. It still does the protocol properly:
SETTINGS and ACK, MAX_CONCURRENT_STREAMS changed at run time (APNs allows one stream
until the first valid provider token, docs/providers.md §1.5), flow control both ways,
CONTINUATION, PING, RST_STREAM, GOAWAY, header table size changes and MAX_FRAME_SIZE.
"""

from __future__ import annotations

import asyncio
import collections
import logging

import orjson

from pushgate.simulators import http2_wire as wire
from pushgate.simulators.base import ConnectionInfo, SimRequest, SimResponse, Simulator
from pushgate.simulators.http2_output import Http2Output
from pushgate.simulators.http2_stream import Stream, request_from_headers

log = logging.getLogger(__name__)

DEFAULT_MAX_CONCURRENT_STREAMS = 1000
MAX_HEADER_LIST_SIZE = 256 * 1024
MAX_BODY_SIZE = 1024 * 1024
CONNECTION_WINDOW = 1024 * 1024
_UNLIMITED = 2**31

_DECODE_ERRORS: tuple[type[Exception], ...] = (*wire.decoder_errors(), ValueError, IndexError)


class Http2Connection(Http2Output, asyncio.Protocol):
    """One HTTP/2 server connection handing each complete stream to ``simulator.handle``."""

    def __init__(
        self,
        simulator: Simulator,
        transport: asyncio.Transport,
        info: ConnectionInfo,
        initial: bytes = b"",
    ) -> None:
        super().__init__(transport)
        self.simulator = simulator
        self.info = info
        self.buffer = bytearray()
        self.preface_seen = False
        self.closed = False
        self.credit: dict[int, Stream] = {}
        self.highest_stream_id = 0
        self.decode = wire.make_header_decoder(MAX_HEADER_LIST_SIZE)
        self.encoder_table_size = 4096
        self.peer_initial_window = wire.DEFAULT_WINDOW
        self.recv_window = CONNECTION_WINDOW
        self.recv_consumed = 0
        self.continuation: tuple[int, int, list[bytes], int] | None = None
        self.got_client_settings = False
        self.enforced_streams = _UNLIMITED  # until the client ACKs our first SETTINGS
        self.pending_settings: collections.deque[int | None] = collections.deque()
        self.goaway_last: int | None = None
        self.handlers = {
            wire.DATA: self._on_data,
            wire.HEADERS: self._on_headers,
            wire.PRIORITY: self._on_priority,
            wire.RST_STREAM: self._on_rst_stream,
            wire.SETTINGS: self._on_settings,
            wire.PUSH_PROMISE: self._on_push_promise,
            wire.PING: self._on_ping,
            wire.GOAWAY: self._on_goaway,
            wire.WINDOW_UPDATE: self._on_window_update,
            wire.CONTINUATION: self._on_continuation,
        }
        simulator.connection_opened(info)
        self.advertised_streams = info.max_concurrent_streams or DEFAULT_MAX_CONCURRENT_STREAMS
        self._start(initial)

    def _start(self, initial: bytes) -> None:
        # Our SETTINGS must be the first frame we send (RFC 9113 §3.4).
        self._send_settings(
            {
                wire.SETTINGS_MAX_CONCURRENT_STREAMS: self.advertised_streams,
                wire.SETTINGS_MAX_HEADER_LIST_SIZE: MAX_HEADER_LIST_SIZE,
            },
            self.advertised_streams,
        )
        self._write(wire.window_update_frame(0, CONNECTION_WINDOW - wire.DEFAULT_WINDOW))
        if initial:
            self.data_received(initial)
        else:
            self._flush()

    # -- asyncio.Protocol ------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self.buffer += data
        try:
            if self.preface_seen or self._read_preface():
                self._read_frames()
        except wire.H2ConnectionError as exc:
            self._connection_error(exc.code, exc.detail)
        self._return_credit()
        self._flush()

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for stream in self.streams.values():
            if stream.task is not None:
                stream.task.cancel()
        self.streams.clear()

    # -- reading ---------------------------------------------------------------------
    def _read_preface(self) -> bool:
        if len(self.buffer) < len(wire.PREFACE):
            if not wire.PREFACE.startswith(bytes(self.buffer)):
                raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "invalid connection preface")
            return False
        if self.buffer[: len(wire.PREFACE)] != wire.PREFACE:
            raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "invalid connection preface")
        del self.buffer[: len(wire.PREFACE)]
        self.preface_seen = True
        return True

    def _read_frames(self) -> None:
        buffer = self.buffer
        unpack = wire.FRAME_HEADER.unpack_from
        handlers = self.handlers
        position, end = 0, len(buffer)
        try:
            while end - position >= 9 and not self.closed:
                high, low, kind, flags, stream_id = unpack(buffer, position)
                length = high << 16 | low
                if length > wire.DEFAULT_MAX_FRAME_SIZE:  # we never raise our MAX_FRAME_SIZE
                    raise wire.H2ConnectionError(wire.FRAME_SIZE_ERROR, "frame too large")
                if end - position - 9 < length:
                    break
                payload = bytes(buffer[position + 9 : position + 9 + length])
                position += 9 + length
                self._check_order(kind)
                handler = handlers.get(kind)
                if handler is not None:  # unknown frame types are ignored (RFC 9113 §4.1)
                    handler(flags, stream_id & 0x7FFFFFFF, payload)
        finally:
            del buffer[:position]

    def _check_order(self, kind: int) -> None:
        if not self.got_client_settings and kind != wire.SETTINGS:
            # The client preface ends with a SETTINGS frame (RFC 9113 §3.4).
            raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "first frame is not SETTINGS")
        if self.continuation is not None and kind != wire.CONTINUATION:
            # A header block is contiguous (RFC 9113 §6.10).
            raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "expected CONTINUATION")

    # -- frame handlers --------------------------------------------------------------
    def _on_headers(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0 or stream_id % 2 == 0:
            raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "HEADERS on an invalid stream id")
        payload = _strip_padding(flags, payload)
        if flags & wire.FLAG_PRIORITY:
            if len(payload) < 5:
                raise wire.H2ConnectionError(wire.FRAME_SIZE_ERROR, "short PRIORITY fields")
            payload = payload[5:]
        if flags & wire.FLAG_END_HEADERS:
            self._on_header_block(stream_id, flags, payload)
        else:
            self.continuation = (stream_id, flags, [payload], len(payload))

    def _on_continuation(self, flags: int, stream_id: int, payload: bytes) -> None:
        if self.continuation is None or self.continuation[0] != stream_id:
            raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "unexpected CONTINUATION")
        _, first_flags, fragments, size = self.continuation
        fragments.append(payload)
        size += len(payload)
        if size > MAX_HEADER_LIST_SIZE:
            raise wire.H2ConnectionError(wire.ENHANCE_YOUR_CALM, "header block too large")
        self.continuation = (stream_id, first_flags, fragments, size)
        if flags & wire.FLAG_END_HEADERS:
            self.continuation = None
            self._on_header_block(stream_id, first_flags, b"".join(fragments))

    def _on_header_block(self, stream_id: int, flags: int, block: bytes) -> None:
        try:
            headers = self.decode(block)
        except _DECODE_ERRORS as exc:
            raise wire.H2ConnectionError(wire.COMPRESSION_ERROR, "bad header block") from exc
        end_stream = bool(flags & wire.FLAG_END_STREAM)
        stream = self.streams.get(stream_id)
        if stream is not None:
            self._on_trailers(stream, end_stream)
            return
        if stream_id <= self.highest_stream_id:
            raise wire.H2ConnectionError(wire.STREAM_CLOSED, "HEADERS on a closed stream")
        self.highest_stream_id = stream_id
        if self.goaway_last is not None:
            return  # after GOAWAY new streams are ignored (RFC 9113 §6.8)
        if len(self.streams) >= self.enforced_streams:
            self._reset(stream_id, wire.REFUSED_STREAM)  # RFC 9113 §5.1.2
            return
        stream = Stream(stream_id, headers, self.peer_initial_window)
        self.streams[stream_id] = stream
        if end_stream:
            self._dispatch(stream)

    def _on_trailers(self, stream: Stream, end_stream: bool) -> None:
        if stream.remote_closed or not end_stream:
            self._reset(stream.stream_id, wire.PROTOCOL_ERROR)
            return
        self._dispatch(stream)

    def _on_data(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "DATA on stream 0")
        size = len(payload)  # padding counts against flow control (RFC 9113 §6.1)
        self.recv_window -= size
        if self.recv_window < 0:
            raise wire.H2ConnectionError(wire.FLOW_CONTROL_ERROR, "connection window exceeded")
        self.recv_consumed += size
        stream = self.streams.get(stream_id)
        if stream is None:
            if stream_id > self.highest_stream_id:
                raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "DATA on an idle stream")
            return  # a stream we already reset or answered: drop its data
        stream.recv_window -= size
        if stream.remote_closed or stream.recv_window < 0:
            code = wire.STREAM_CLOSED if stream.remote_closed else wire.FLOW_CONTROL_ERROR
            self._reset(stream_id, code)
            return
        stream.body += _strip_padding(flags, payload)
        if len(stream.body) > MAX_BODY_SIZE:
            self._reset(stream_id, wire.ENHANCE_YOUR_CALM)
        elif flags & wire.FLAG_END_STREAM:
            self._dispatch(stream)
        else:
            stream.credit += size
            self.credit[stream_id] = stream

    def _on_settings(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & wire.FLAG_ACK:
            if payload:
                raise wire.H2ConnectionError(wire.FRAME_SIZE_ERROR, "SETTINGS ACK with payload")
            self._on_settings_ack()
            return
        if len(payload) % 6:
            raise wire.H2ConnectionError(wire.FRAME_SIZE_ERROR, "SETTINGS length not 6n")
        for offset in range(0, len(payload), 6):
            self._apply_setting(*wire.SETTING.unpack_from(payload, offset))
        self.got_client_settings = True
        self._write(wire.frame(wire.SETTINGS, wire.FLAG_ACK, 0))
        self._resume_blocked()

    def _apply_setting(self, key: int, value: int) -> None:
        if key == wire.SETTINGS_HEADER_TABLE_SIZE and value < self.encoder_table_size:
            # The client's decoder shrank: say so at the start of our next header block
            # (RFC 7541 §4.2), although our encoder never inserts into the table.
            self.encoder_table_size = value
            self.encoder.pending_table_update = wire.table_size_update(value)
        elif key == wire.SETTINGS_ENABLE_PUSH and value > 1:
            raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "ENABLE_PUSH not 0 or 1")
        elif key == wire.SETTINGS_INITIAL_WINDOW_SIZE:
            if value > wire.MAX_WINDOW:
                raise wire.H2ConnectionError(wire.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE too big")
            delta = value - self.peer_initial_window  # applies to open streams (§6.9.2)
            self.peer_initial_window = value
            for stream in self.streams.values():
                stream.send_window += delta
        elif key == wire.SETTINGS_MAX_FRAME_SIZE:
            if not wire.DEFAULT_MAX_FRAME_SIZE <= value <= wire.MAX_FRAME_SIZE_LIMIT:
                raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "MAX_FRAME_SIZE out of range")
            self.peer_max_frame = value

    def _on_settings_ack(self) -> None:
        if not self.pending_settings:
            raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "unexpected SETTINGS ACK")
        streams = self.pending_settings.popleft()
        if streams is not None:
            self.enforced_streams = streams

    def _on_ping(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "PING on a stream")
        if len(payload) != 8:
            raise wire.H2ConnectionError(wire.FRAME_SIZE_ERROR, "PING length not 8")
        if not flags & wire.FLAG_ACK:
            self.simulator.counters["h2_pings"] += 1
            self._write(wire.frame(wire.PING, wire.FLAG_ACK, 0, payload))

    def _on_rst_stream(self, flags: int, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise wire.H2ConnectionError(wire.FRAME_SIZE_ERROR, "RST_STREAM length not 4")
        if stream_id == 0 or stream_id > self.highest_stream_id:
            raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "RST_STREAM on an idle stream")
        self.simulator.counters["h2_client_resets"] += 1
        self._forget(stream_id)

    def _on_window_update(self, flags: int, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise wire.H2ConnectionError(wire.FRAME_SIZE_ERROR, "WINDOW_UPDATE length not 4")
        increment = wire.UINT32.unpack(payload)[0] & 0x7FFFFFFF
        if stream_id == 0:
            self.send_window += increment
            if increment == 0 or self.send_window > wire.MAX_WINDOW:
                code = wire.PROTOCOL_ERROR if increment == 0 else wire.FLOW_CONTROL_ERROR
                raise wire.H2ConnectionError(code, "bad connection WINDOW_UPDATE")
            self._resume_blocked()
            return
        stream = self.streams.get(stream_id)
        if stream is None:
            if stream_id > self.highest_stream_id:
                raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "WINDOW_UPDATE on idle stream")
            return
        stream.send_window += increment
        if increment == 0 or stream.send_window > wire.MAX_WINDOW:
            code = wire.PROTOCOL_ERROR if increment == 0 else wire.FLOW_CONTROL_ERROR
            self._reset(stream_id, code)
        elif stream.pending:
            self._send_data(stream)

    def _on_priority(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "PRIORITY on stream 0")
        if len(payload) != 5:
            self._reset(stream_id, wire.FRAME_SIZE_ERROR)

    def _on_push_promise(self, flags: int, stream_id: int, payload: bytes) -> None:
        raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "clients cannot push")

    def _on_goaway(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "GOAWAY on a stream")
        if self.goaway_last is None:
            self.goaway_last = self.highest_stream_id
        self._close_when_idle()

    # -- requests and responses ------------------------------------------------------
    def _dispatch(self, stream: Stream) -> None:
        stream.remote_closed = True
        request = request_from_headers(stream, self.info)
        if request is None:  # malformed (RFC 9113 §8.1.1): a stream error
            self._reset(stream.stream_id, wire.PROTOCOL_ERROR)
            return
        stream.task = self.loop.create_task(self._respond(stream, request))

    async def _respond(self, stream: Stream, request: SimRequest) -> None:
        try:
            response = await self.simulator.handle(request)
        except Exception:
            log.exception("simulator %s failed on %s", self.simulator.name, request.path)
            response = SimResponse.json(500, {"reason": "InternalServerError"})
        stream.task = None
        if self.closed or self.streams.get(stream.stream_id) is not stream:
            return
        if response.action == "reset":
            self.closed = True
            self.transport.abort()
        elif response.action == "goaway":
            self._shutdown(stream, response.goaway_reason or "Shutdown")
        else:
            self._send_response(stream, response)
            self._advertise_stream_limit()

    def _advertise_stream_limit(self) -> None:
        wanted = self.info.max_concurrent_streams
        if wanted is not None and wanted != self.advertised_streams:
            self.advertised_streams = wanted
            self._send_settings({wire.SETTINGS_MAX_CONCURRENT_STREAMS: wanted}, wanted)

    def _send_settings(self, values: dict[int, int], streams: int | None) -> None:
        self.pending_settings.append(streams)
        self._write(wire.settings_frame(values))

    def _return_credit(self) -> None:
        """WINDOW_UPDATE for DATA consumed in this read (RFC 9113 §6.9)."""
        if self.recv_consumed >= CONNECTION_WINDOW // 2:
            self._write(wire.window_update_frame(0, self.recv_consumed))
            self.recv_window += self.recv_consumed
            self.recv_consumed = 0
        for stream_id, stream in self.credit.items():
            if stream.credit and not stream.remote_closed and stream_id in self.streams:
                self._write(wire.window_update_frame(stream_id, stream.credit))
                stream.recv_window += stream.credit
            stream.credit = 0
        self.credit.clear()

    # -- closing ---------------------------------------------------------------------
    def _reset(self, stream_id: int, code: int) -> None:
        self._write(wire.rst_stream_frame(stream_id, code))
        self._forget(stream_id)

    def _forget(self, stream_id: int) -> None:
        stream = self.streams.pop(stream_id, None)
        self.blocked.pop(stream_id, None)
        if stream is not None and stream.task is not None:
            stream.task.cancel()
        if self.goaway_last is not None:
            self._close_when_idle()

    def _shutdown(self, stream: Stream, reason: str) -> None:
        """GOAWAY as APNs sends it (docs/providers.md §1.7): JSON ``{"reason"}`` debug data;
        this stream and later ones are left for the client to retry elsewhere."""
        last = max(stream.stream_id - 2, 0)  # every earlier stream was or will be answered
        self.goaway_last = last
        debug = orjson.dumps({"reason": reason})
        self._write(wire.goaway_frame(last, wire.NO_ERROR, debug))
        for stream_id in [sid for sid in self.streams if sid > last]:
            self._forget(stream_id)
        self._close_when_idle()

    def _close_when_idle(self) -> None:
        if not self.streams and not self.closed:
            self._flush()
            self.closed = True
            self.transport.close()

    def _connection_error(self, code: int, detail: str) -> None:
        self._write(wire.goaway_frame(self.highest_stream_id, code, detail.encode()))
        self._flush()
        self.closed = True
        self.transport.close()
        for stream in list(self.streams.values()):
            if stream.task is not None:
                stream.task.cancel()
        self.streams.clear()


def _strip_padding(flags: int, payload: bytes) -> bytes:
    if not flags & wire.FLAG_PADDED:
        return payload
    if not payload or payload[0] >= len(payload):
        # Padding as long as the payload is a connection error (RFC 9113 §6.1).
        raise wire.H2ConnectionError(wire.PROTOCOL_ERROR, "bad padding")
    return payload[1 : len(payload) - payload[0]]
