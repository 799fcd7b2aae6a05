"""HTTP/2 frame layout (RFC 9113 §4.1, §6) and builders for the frames a client sends.

Every builder returns ready-to-write bytes. The 9-byte frame header is packed with one
``struct`` call: the 24-bit length and the 8-bit type share one 32-bit word.
"""

from __future__ import annotations

import struct

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# (length << 8 | type, flags, stream id): RFC 9113 §4.1.
FRAME_HEADER = struct.Struct(">LBL")
FRAME_HEADER_SIZE = 9
UINT32 = struct.Struct(">L")
TWO_UINT32 = struct.Struct(">LL")
SETTING = struct.Struct(">HL")

DATA = 0x0
HEADERS = 0x1
PRIORITY = 0x2
RST_STREAM = 0x3
SETTINGS = 0x4
PUSH_PROMISE = 0x5
PING = 0x6
GOAWAY = 0x7
WINDOW_UPDATE = 0x8
CONTINUATION = 0x9

FLAG_END_STREAM = 0x1
FLAG_ACK = 0x1
FLAG_END_HEADERS = 0x4
FLAG_PADDED = 0x8
FLAG_PRIORITY = 0x20

# RFC 9113 §6.5.2.
SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6

# RFC 9113 §7.
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
INTERNAL_ERROR = 0x2
FLOW_CONTROL_ERROR = 0x3
SETTINGS_TIMEOUT = 0x4
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
ENHANCE_YOUR_CALM = 0xB

DEFAULT_WINDOW_SIZE = 65_535
DEFAULT_MAX_FRAME_SIZE = 16_384
MAX_FRAME_SIZE_LIMIT = 16_777_215
MAX_WINDOW_SIZE = 2**31 - 1
MAX_STREAM_ID = 2**31 - 1


def frame(frame_type: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One frame: header and payload."""
    return FRAME_HEADER.pack(len(payload) << 8 | frame_type, flags, stream_id) + payload


def settings_frame(settings: dict[int, int]) -> bytes:
    """A SETTINGS frame carrying ``settings`` (RFC 9113 §6.5)."""
    payload = b"".join(SETTING.pack(key, value) for key, value in settings.items())
    return frame(SETTINGS, 0, 0, payload)


SETTINGS_ACK = frame(SETTINGS, FLAG_ACK, 0)


def window_update_frame(stream_id: int, increment: int) -> bytes:
    """A WINDOW_UPDATE frame (RFC 9113 §6.9)."""
    return frame(WINDOW_UPDATE, 0, stream_id, UINT32.pack(increment))


def rst_stream_frame(stream_id: int, error_code: int) -> bytes:
    """A RST_STREAM frame (RFC 9113 §6.4)."""
    return frame(RST_STREAM, 0, stream_id, UINT32.pack(error_code))


def ping_frame(payload: bytes, *, ack: bool = False) -> bytes:
    """A PING frame with an 8-byte opaque payload (RFC 9113 §6.7)."""
    return frame(PING, FLAG_ACK if ack else 0, 0, payload)


def goaway_frame(last_stream_id: int, error_code: int, debug: bytes = b"") -> bytes:
    """A GOAWAY frame (RFC 9113 §6.8), with optional opaque debug data."""
    return frame(GOAWAY, 0, 0, TWO_UINT32.pack(last_stream_id, error_code) + debug)


def header_frames(stream_id: int, block: bytes, end_stream: bool, max_frame_size: int) -> bytes:
    """HEADERS plus as many CONTINUATION frames as the peer's frame size needs (§6.2, §6.10)."""
    end_flag = FLAG_END_STREAM if end_stream else 0
    if len(block) <= max_frame_size:
        head = FRAME_HEADER.pack(len(block) << 8 | HEADERS, end_flag | FLAG_END_HEADERS, stream_id)
        return head + block
    parts = [block[i : i + max_frame_size] for i in range(0, len(block), max_frame_size)]
    frames = [frame(HEADERS, end_flag, stream_id, parts[0])]
    frames.extend(frame(CONTINUATION, 0, stream_id, part) for part in parts[1:-1])
    frames.append(frame(CONTINUATION, FLAG_END_HEADERS, stream_id, parts[-1]))
    return b"".join(frames)


def strip_padding(payload: bytes, flags: int) -> bytes | None:
    """Payload without its padding (§6.1, §6.2), or None when the padding is malformed."""
    if not flags & FLAG_PADDED:
        return payload
    if not payload:
        return None
    pad_length = payload[0]
    if pad_length >= len(payload):
        return None
    return payload[1 : len(payload) - pad_length]
