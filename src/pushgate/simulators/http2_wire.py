"""HTTP/2 wire pieces for the simulator server: frame constants, frame packing, a small
HPACK encoder for responses and the choice of HPACK decoder.

Frame layout and codes are RFC 9113 §4.1, §6 and §7; header compression is RFC 7541.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

# Frame types, flags, settings and error codes are shared with pushgate's HTTP/2 client.
from pushgate.transport.frames import (
    CANCEL,
    COMPRESSION_ERROR,
    CONTINUATION,
    DATA,
    DEFAULT_MAX_FRAME_SIZE,
    ENHANCE_YOUR_CALM,
    FLAG_ACK,
    FLAG_END_HEADERS,
    FLAG_END_STREAM,
    FLAG_PADDED,
    FLAG_PRIORITY,
    FLOW_CONTROL_ERROR,
    FRAME_SIZE_ERROR,
    GOAWAY,
    HEADERS,
    INTERNAL_ERROR,
    MAX_FRAME_SIZE_LIMIT,
    NO_ERROR,
    PING,
    PREFACE,
    PRIORITY,
    PROTOCOL_ERROR,
    PUSH_PROMISE,
    REFUSED_STREAM,
    RST_STREAM,
    SETTING,
    SETTINGS,
    SETTINGS_ENABLE_PUSH,
    SETTINGS_HEADER_TABLE_SIZE,
    SETTINGS_INITIAL_WINDOW_SIZE,
    SETTINGS_MAX_CONCURRENT_STREAMS,
    SETTINGS_MAX_FRAME_SIZE,
    SETTINGS_MAX_HEADER_LIST_SIZE,
    STREAM_CLOSED,
    UINT32,
    WINDOW_UPDATE,
    frame,
    goaway_frame,
    rst_stream_frame,
    settings_frame,
    window_update_frame,
)
from pushgate.transport.frames import DEFAULT_WINDOW_SIZE as DEFAULT_WINDOW
from pushgate.transport.frames import MAX_WINDOW_SIZE as MAX_WINDOW
from pushgate.transport.header_encoder import encode_integer

# The server parses the 24-bit length as 8 + 16 bits in one unpack.
FRAME_HEADER = struct.Struct(">BHBBL")


__all__ = [
    "CANCEL",
    "COMPRESSION_ERROR",
    "CONTINUATION",
    "DATA",
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_WINDOW",
    "ENHANCE_YOUR_CALM",
    "FLAG_ACK",
    "FLAG_END_HEADERS",
    "FLAG_END_STREAM",
    "FLAG_PADDED",
    "FLAG_PRIORITY",
    "FLOW_CONTROL_ERROR",
    "FRAME_HEADER",
    "FRAME_SIZE_ERROR",
    "GOAWAY",
    "HEADERS",
    "INTERNAL_ERROR",
    "MAX_FRAME_SIZE_LIMIT",
    "MAX_WINDOW",
    "NO_ERROR",
    "PING",
    "PREFACE",
    "PRIORITY",
    "PROTOCOL_ERROR",
    "PUSH_PROMISE",
    "REFUSED_STREAM",
    "RST_STREAM",
    "SETTING",
    "SETTINGS",
    "SETTINGS_ENABLE_PUSH",
    "SETTINGS_HEADER_TABLE_SIZE",
    "SETTINGS_INITIAL_WINDOW_SIZE",
    "SETTINGS_MAX_CONCURRENT_STREAMS",
    "SETTINGS_MAX_FRAME_SIZE",
    "SETTINGS_MAX_HEADER_LIST_SIZE",
    "STREAM_CLOSED",
    "UINT32",
    "WINDOW_UPDATE",
    "H2ConnectionError",
    "decoder_errors",
    "encode_header",
    "encode_status",
    "frame",
    "goaway_frame",
    "make_header_decoder",
    "rst_stream_frame",
    "settings_frame",
    "table_size_update",
    "window_update_frame",
]


class H2ConnectionError(Exception):
    """A connection error (RFC 9113 §5.4.1): answered with GOAWAY, then the connection closes."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


# -- HPACK encoding of responses --------------------------------------------------------
# Responses use only the static table and literals "without indexing" (RFC 7541 §6.2.2),
# so the encoder keeps no dynamic table and the client's table size never constrains it.

_STATIC_STATUS = {200: 8, 204: 9, 206: 10, 304: 11, 400: 12, 404: 13, 500: 14}
# Static-table name indices (RFC 7541 Appendix A) for the names simulators answer with.
_STATIC_NAMES = {
    ":status": 8,
    "content-length": 28,
    "content-type": 31,
    "date": 33,
    "location": 46,
    "retry-after": 53,
    "www-authenticate": 61,
}


def _hpack_string(data: bytes) -> bytes:
    return encode_integer(len(data), 7, 0) + data  # no Huffman: cheaper to produce


def encode_header(name: str, value: str) -> bytes:
    """One header as a literal without indexing, naming a static entry when one exists."""
    raw_value = value.encode("latin-1")
    index = _STATIC_NAMES.get(name)
    if index is not None:
        return encode_integer(index, 4, 0x00) + _hpack_string(raw_value)
    return b"\x00" + _hpack_string(name.encode("ascii")) + _hpack_string(raw_value)


def encode_status(status: int) -> bytes:
    index = _STATIC_STATUS.get(status)
    if index is not None:
        return bytes([0x80 | index])  # indexed header field (RFC 7541 §6.1)
    return encode_header(":status", str(status))


def table_size_update(size: int) -> bytes:
    """A dynamic table size update (RFC 7541 §6.3), sent after the client changes
    SETTINGS_HEADER_TABLE_SIZE."""
    return encode_integer(size, 5, 0x20)


class ResponseHeaderEncoder:
    """Encodes response header blocks, reusing the bytes of headers seen before.

    Constant headers (``content-type: application/json``, the status line) repeat on
    every response, so their encodings are kept in a bounded cache.
    """

    CACHE_LIMIT = 4096

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], bytes] = {}
        self._status: dict[int, bytes] = {}
        self.pending_table_update: bytes = b""

    def encode(self, status: int, headers: list[tuple[str, str]]) -> bytes:
        status_bytes = self._status.get(status)
        if status_bytes is None:
            status_bytes = self._status[status] = encode_status(status)
        parts = (
            [self.pending_table_update, status_bytes]
            if self.pending_table_update
            else [status_bytes]
        )
        self.pending_table_update = b""
        cache = self._cache
        for pair in headers:
            encoded = cache.get(pair)
            if encoded is None:
                encoded = encode_header(pair[0].lower(), pair[1])
                if pair[0] != "apns-id" and len(cache) < self.CACHE_LIMIT:
                    cache[pair] = encoded
            parts.append(encoded)
        return b"".join(parts)


# -- HPACK decoding ---------------------------------------------------------------------

HeaderDecoder = Callable[[bytes], list[tuple[str, str]]]


def make_header_decoder(max_header_list_size: int, prefer_compiled: bool = True) -> HeaderDecoder:
    """A function decoding one header block into ``(name, value)`` strings.

    The compiled decoder shipped with jh2 costs ~2 µs per APNs request block; the
    pure-Python ``hpack`` package ~26 µs. Values are decoded as latin-1 so that string
    length equals byte length (APNs limits are in bytes).
    """
    if prefer_compiled:
        try:
            from jh2._hazmat import Decoder as CompiledDecoder
        except ImportError:  # pragma: no cover - depends on the installed wheel
            pass
        else:
            return _compiled_decoder(CompiledDecoder(max_header_list_size))
    import hpack

    return _pure_decoder(hpack.Decoder(max_header_list_size=max_header_list_size))


def _compiled_decoder(decoder: Any) -> HeaderDecoder:
    def decode(block: bytes) -> list[tuple[str, str]]:
        return [
            (_text(name), _text(value)) for name, value, _sensitive in decoder.decode(block, True)
        ]

    return decode


def _pure_decoder(decoder: Any) -> HeaderDecoder:
    def decode(block: bytes) -> list[tuple[str, str]]:
        return [(_text(name), _text(value)) for name, value in decoder.decode(block, raw=True)]

    return decode


def _text(raw: bytes | str) -> str:
    return raw if isinstance(raw, str) else raw.decode("latin-1")


def decoder_errors() -> tuple[type[Exception], ...]:
    """Exceptions either decoder raises for a bad block (a COMPRESSION_ERROR)."""
    import hpack

    errors: list[type[Exception]] = [hpack.HPACKError]
    try:
        from jh2 import _hazmat
    except ImportError:  # pragma: no cover
        pass
    else:
        errors += [_hazmat.HPACKError, _hazmat.OversizedHeaderListError]
    return tuple(errors)
