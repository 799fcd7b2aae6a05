"""Splitting received bytes into HTTP/2 frames and applying each one (RFC 9113 §4, §6).

The 9-byte frame header is read with one ``struct.unpack_from`` over the received bytes;
HEADERS and DATA, the frames of every response, are tested first. Control frames are
validated (sizes, stream ids) and a violation becomes a connection error (§5.4.1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pushgate.transport import frames as fr
from pushgate.transport.errors import ProtocolViolation

if TYPE_CHECKING:
    from pushgate.transport.protocol import Http2Protocol

Handler = Callable[[int, int, bytes], None]
_PLAIN_HEADERS_MASK = fr.FLAG_END_HEADERS | fr.FLAG_PADDED | fr.FLAG_PRIORITY
_END_HEADERS = fr.FLAG_END_HEADERS
_HEADER_SIZE = fr.FRAME_HEADER_SIZE
_STREAM_ID_MASK = fr.MAX_STREAM_ID  # the reserved bit is ignored on receipt (§4.1)
_DATA, _HEADERS = fr.DATA, fr.HEADERS
# Http2Protocol's state once closed (not imported: that module imports this one).
CLOSED = "closed"


class FrameReader:
    """Reads the server's frames for one :class:`Http2Protocol`."""

    def __init__(self, protocol: Http2Protocol) -> None:
        self.protocol = protocol
        self.buffer = b""
        self.expect_settings = True
        # A header block split over CONTINUATION frames: stream id, HEADERS flags, parts.
        self.continuation: tuple[int, int, list[bytes]] | None = None
        self.continuation_size = 0
        self.handlers: dict[int, Handler] = {
            fr.SETTINGS: self.on_settings,
            fr.PING: self.on_ping,
            fr.WINDOW_UPDATE: self.on_window_update,
            fr.RST_STREAM: self.on_rst_stream,
            fr.GOAWAY: self.on_goaway,
            fr.CONTINUATION: self.on_continuation,
            fr.PUSH_PROMISE: self.on_push_promise,
        }

    def feed(self, data: bytes) -> None:
        """Apply every complete frame in ``data`` and keep the incomplete rest."""
        if self.buffer:
            data = self.buffer + data
        protocol = self.protocol
        responses = protocol.responses
        max_frame_size = protocol.config.max_frame_size
        unpack = fr.FRAME_HEADER.unpack_from
        size = len(data)
        offset = 0
        # No header block open and the server's SETTINGS seen: the two frames of every
        # response (HEADERS, DATA) go straight to the protocol.
        plain = self.continuation is None and not self.expect_settings
        while size - offset >= _HEADER_SIZE:
            length_type, flags, stream_id = unpack(data, offset)
            length = length_type >> 8
            end = offset + _HEADER_SIZE + length
            if length > max_frame_size:
                self.fail(fr.FRAME_SIZE_ERROR, f"frame of {length} bytes above our limit")
                return
            if end > size:
                break
            frame_type = length_type & 0xFF
            payload = data[offset + _HEADER_SIZE : end]
            offset = end
            if plain and frame_type == _DATA:
                responses.data_received(stream_id & _STREAM_ID_MASK, flags, payload)
            elif plain and frame_type == _HEADERS and flags & _PLAIN_HEADERS_MASK == _END_HEADERS:
                # A whole header block, unpadded, without priority: every response.
                responses.headers_received(stream_id & _STREAM_ID_MASK, flags, payload)
            else:
                self.on_frame(frame_type, stream_id & _STREAM_ID_MASK, flags, payload)
                plain = self.continuation is None and not self.expect_settings
            if protocol.state == CLOSED:
                return
        self.buffer = data[offset:]

    def on_frame(self, frame_type: int, stream_id: int, flags: int, payload: bytes) -> None:
        if frame_type == fr.HEADERS and self.continuation is None:
            self.on_headers(stream_id, flags, payload)
        elif frame_type == fr.DATA and self.continuation is None and not self.expect_settings:
            self.protocol.responses.data_received(stream_id, flags, payload)
        else:
            self.on_other(frame_type, stream_id, flags, payload)

    def on_other(self, frame_type: int, stream_id: int, flags: int, payload: bytes) -> None:
        if self.expect_settings and frame_type != fr.SETTINGS:
            # RFC 9113 §3.4: the server's preface is a SETTINGS frame.
            self.fail(fr.PROTOCOL_ERROR, "the server's first frame was not SETTINGS")
        elif self.continuation is not None and frame_type != fr.CONTINUATION:
            # §6.10: nothing may come between HEADERS and its last CONTINUATION.
            self.fail(fr.PROTOCOL_ERROR, "a frame interrupted a header block")
        else:
            handler = self.handlers.get(frame_type)
            # Unknown frame types and PRIORITY are ignored (§4.1, §5.3.2).
            if handler is not None:
                handler(stream_id, flags, payload)

    def fail(self, error_code: int, message: str) -> None:
        self.protocol.fail_connection(error_code, message)

    def on_headers(self, stream_id: int, flags: int, payload: bytes) -> None:
        if self.expect_settings or stream_id == 0:
            self.fail(fr.PROTOCOL_ERROR, "HEADERS before SETTINGS or on stream 0")
            return
        block = fr.strip_padding(payload, flags)
        if block is None or (flags & fr.FLAG_PRIORITY and len(block) < 5):
            self.fail(fr.PROTOCOL_ERROR, "malformed HEADERS padding or priority")
            return
        if flags & fr.FLAG_PRIORITY:
            block = block[5:]
        if flags & fr.FLAG_END_HEADERS:
            self.protocol.responses.headers_received(stream_id, flags, block)
        else:
            self.continuation = (stream_id, flags, [block])
            self.continuation_size = len(block)

    def on_continuation(self, stream_id: int, flags: int, payload: bytes) -> None:
        if self.continuation is None or self.continuation[0] != stream_id:
            self.fail(fr.PROTOCOL_ERROR, "CONTINUATION without a header block to continue")
            return
        _, headers_flags, parts = self.continuation
        parts.append(payload)
        self.continuation_size += len(payload)
        if self.continuation_size > self.protocol.config.max_header_list_size:
            self.fail(fr.ENHANCE_YOUR_CALM, "response header block above our limit")
            return
        if flags & fr.FLAG_END_HEADERS:
            self.continuation = None
            self.protocol.responses.headers_received(stream_id, headers_flags, b"".join(parts))

    def on_settings(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id:
            self.fail(fr.PROTOCOL_ERROR, "SETTINGS on a stream")
        elif flags & fr.FLAG_ACK:
            if payload:
                self.fail(fr.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload")
        elif len(payload) % fr.SETTING.size:
            self.fail(fr.FRAME_SIZE_ERROR, "SETTINGS length not a multiple of 6")
        else:
            for key, value in fr.SETTING.iter_unpack(payload):
                if not self.apply_setting(key, value):
                    return
            protocol = self.protocol
            protocol.queue(fr.SETTINGS_ACK)
            if self.expect_settings:
                self.expect_settings = False
                protocol.settings_received.set_result(None)
            protocol.resume_blocked()
            protocol.on_capacity()

    def apply_setting(self, key: int, value: int) -> bool:
        """Apply one of the server's settings (RFC 9113 §6.5.2); False after an error."""
        protocol = self.protocol
        if key == fr.SETTINGS_HEADER_TABLE_SIZE:
            protocol.encoder.set_max_table_size(min(value, protocol.config.encoder_table_size))
        elif key == fr.SETTINGS_MAX_CONCURRENT_STREAMS:
            protocol.peer_max_streams = value
        elif key == fr.SETTINGS_INITIAL_WINDOW_SIZE:
            return self.change_initial_window(value)
        elif key == fr.SETTINGS_MAX_FRAME_SIZE:
            if not fr.DEFAULT_MAX_FRAME_SIZE <= value <= fr.MAX_FRAME_SIZE_LIMIT:
                self.fail(fr.PROTOCOL_ERROR, f"SETTINGS_MAX_FRAME_SIZE {value} out of range")
                return False
            protocol.peer_max_frame_size = value
        elif key == fr.SETTINGS_ENABLE_PUSH and value > 1:
            self.fail(fr.PROTOCOL_ERROR, f"SETTINGS_ENABLE_PUSH {value}")
            return False
        return True

    def change_initial_window(self, value: int) -> bool:
        """§6.9.2: a new initial window shifts every open stream's window by the change."""
        protocol = self.protocol
        if value > fr.MAX_WINDOW_SIZE:
            self.fail(fr.FLOW_CONTROL_ERROR, f"SETTINGS_INITIAL_WINDOW_SIZE {value}")
            return False
        delta = value - protocol.peer_initial_window
        protocol.peer_initial_window = value
        for stream in protocol.streams.values():
            stream.send_window += delta
            if stream.send_window > fr.MAX_WINDOW_SIZE:
                self.fail(fr.FLOW_CONTROL_ERROR, "a stream window overflowed")
                return False
        return True

    def on_ping(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id:
            self.fail(fr.PROTOCOL_ERROR, "PING on a stream")
        elif len(payload) != 8:
            self.fail(fr.FRAME_SIZE_ERROR, "PING payload is not 8 bytes")
        elif flags & fr.FLAG_ACK:
            if payload == self.protocol.ping_payload:
                self.protocol.ping_payload = None
                self.protocol.on_ping_ack()
        else:
            # §6.7: answer with the same payload, ahead of nothing else we hold back.
            self.protocol.queue(fr.ping_frame(payload, ack=True))

    def on_window_update(self, stream_id: int, flags: int, payload: bytes) -> None:
        if len(payload) != 4:
            self.fail(fr.FRAME_SIZE_ERROR, "WINDOW_UPDATE payload is not 4 bytes")
            return
        increment = fr.UINT32.unpack(payload)[0] & fr.MAX_WINDOW_SIZE
        protocol = self.protocol
        if stream_id == 0:
            protocol.send_window += increment
            if increment == 0 or protocol.send_window > fr.MAX_WINDOW_SIZE:
                self.fail(fr.FLOW_CONTROL_ERROR, "bad connection WINDOW_UPDATE")
            elif protocol.blocked:
                protocol.resume_blocked()
            return
        stream = protocol.streams.get(stream_id)
        if stream is None:
            return  # a stream that is already closed on our side
        stream.send_window += increment
        if increment == 0 or stream.send_window > fr.MAX_WINDOW_SIZE:
            error = ProtocolViolation(f"bad WINDOW_UPDATE on stream {stream_id}")
            protocol.reset_stream(stream, fr.FLOW_CONTROL_ERROR, error)
        elif stream.pending is not None:
            protocol.resume_blocked()

    def on_rst_stream(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id == 0 or stream_id >= self.protocol.next_stream_id:
            self.fail(fr.PROTOCOL_ERROR, f"RST_STREAM on idle stream {stream_id}")
        elif len(payload) != 4:
            self.fail(fr.FRAME_SIZE_ERROR, "RST_STREAM payload is not 4 bytes")
        else:
            self.protocol.reset_received(stream_id, fr.UINT32.unpack(payload)[0])

    def on_goaway(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id:
            self.fail(fr.PROTOCOL_ERROR, "GOAWAY on a stream")
        elif len(payload) < 8:
            self.fail(fr.FRAME_SIZE_ERROR, "GOAWAY payload shorter than 8 bytes")
        else:
            last_stream_id, error_code = fr.TWO_UINT32.unpack_from(payload)
            self.protocol.goaway_received(last_stream_id & fr.MAX_STREAM_ID, error_code)

    def on_push_promise(self, stream_id: int, flags: int, payload: bytes) -> None:
        # We announced SETTINGS_ENABLE_PUSH = 0 (RFC 9113 §6.6).
        self.fail(fr.PROTOCOL_ERROR, "PUSH_PROMISE although push is disabled")
