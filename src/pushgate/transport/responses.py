"""Assembling responses from the server's HEADERS and DATA frames (RFC 9113 §8.1).

:class:`ResponseAssembler` decodes each header block (HPACK, in order, so the server's
table and ours stay in step), takes the final status, collects the body within its
bound, and gives the receive windows back (§6.9). A finished response goes to the
protocol, which hands it to the waiting caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pushgate.transport import frames as fr
from pushgate.transport.errors import ProtocolViolation, ResponseTooLarge
from pushgate.transport.header_decoder import HeaderDecodeError, ResponseHeaderDecoder
from pushgate.transport.stream import Field, Stream

if TYPE_CHECKING:
    from pushgate.transport.protocol import Http2Protocol

# Every valid status value (three digits, RFC 9110 §15) and its number.
_STATUS_CODES = {b"%d" % code: code for code in range(100, 1000)}


class ResponseAssembler:
    """Builds the responses of one :class:`Http2Protocol` from its inbound frames."""

    def __init__(self, protocol: Http2Protocol) -> None:
        config = protocol.config
        self.protocol = protocol
        self.decode = ResponseHeaderDecoder(
            config.max_header_list_size, compiled=config.compiled_hpack
        ).decode
        self.max_body = config.max_response_body
        self.connection_window = config.connection_window_size
        self.stream_window = config.stream_window_size
        self.recv_window = config.connection_window_size
        self.recv_unacked = 0

    def headers_received(self, stream_id: int, flags: int, block: bytes) -> None:
        protocol = self.protocol
        try:
            fields = self.decode(block)
        except HeaderDecodeError as exc:
            # RFC 9113 §4.3: a block that cannot be decoded is a COMPRESSION_ERROR.
            protocol.fail_connection(fr.COMPRESSION_ERROR, f"undecodable header block: {exc}")
            return
        stream = protocol.streams.get(stream_id)
        if stream is None:
            if stream_id >= protocol.next_stream_id or not stream_id % 2:
                protocol.fail_connection(fr.PROTOCOL_ERROR, f"HEADERS on idle stream {stream_id}")
            return  # a stream we reset: decoded only to keep the HPACK table in step
        if stream.status:
            stream.headers.extend(fields)  # trailers (RFC 9113 §8.1)
        elif not self.take_status(stream, fields, flags):
            return
        if flags & fr.FLAG_END_STREAM:
            protocol.complete_stream(stream)

    def take_status(self, stream: Stream, fields: list[Field], flags: int) -> bool:
        """Record the final status; False for 1xx blocks and malformed ones (§8.1, §8.3.2)."""
        status = 0
        if fields and fields[0][0] == b":status":
            status = _STATUS_CODES.get(fields[0][1], 0)
        if not status or (status < 200 and flags & fr.FLAG_END_STREAM):
            error = ProtocolViolation(f"malformed response status on stream {stream.id}")
            self.protocol.reset_stream(stream, fr.PROTOCOL_ERROR, error)
            return False
        if status < 200:
            return False
        stream.status = status
        stream.headers = fields[1:]
        return True

    def data_received(self, stream_id: int, flags: int, payload: bytes) -> None:
        protocol = self.protocol
        size = len(payload)
        if size:  # an empty DATA frame (END_STREAM after the headers) costs no window
            self.recv_window -= size
            if self.recv_window < 0:
                protocol.fail_connection(fr.FLOW_CONTROL_ERROR, "the server overran our window")
                return
            self.recv_unacked += size
            if self.recv_unacked >= self.connection_window // 2:
                # RFC 9113 §6.9: give the window back before the server has to wait for it.
                protocol.queue(fr.window_update_frame(0, self.recv_unacked))
                self.recv_window += self.recv_unacked
                self.recv_unacked = 0
        stream = protocol.streams.get(stream_id)
        if stream is None:
            if stream_id == 0 or stream_id >= protocol.next_stream_id:
                protocol.fail_connection(fr.PROTOCOL_ERROR, f"DATA on idle stream {stream_id}")
            return
        data = fr.strip_padding(payload, flags) if flags & fr.FLAG_PADDED else payload
        if data is None or not stream.status:
            message = f"malformed DATA on stream {stream_id}"
            protocol.reset_stream(stream, fr.PROTOCOL_ERROR, ProtocolViolation(message))
            return
        self.append_body(stream, flags, size, data)

    def append_body(self, stream: Stream, flags: int, size: int, data: bytes) -> None:
        protocol = self.protocol
        if data:
            if stream.body is None:
                stream.body = [data]
            else:
                stream.body.append(data)
            stream.body_size += len(data)
            if stream.body_size > self.max_body:
                error = ResponseTooLarge(f"response body above {self.max_body}")
                protocol.reset_stream(stream, fr.CANCEL, error)
                return
        if flags & fr.FLAG_END_STREAM:
            protocol.complete_stream(stream)
            return
        stream.recv_unacked += size
        if stream.recv_unacked >= (self.stream_window + 1) // 2:
            protocol.queue(fr.window_update_frame(stream.id, stream.recv_unacked))
            stream.recv_unacked = 0
