"""Tunable limits of the HTTP/2 transport."""

from __future__ import annotations

from dataclasses import dataclass

from pushgate.transport import frames


@dataclass(frozen=True, slots=True)
class Http2Config:
    """Timeouts, windows and limits of one HTTP/2 client connection.

    Every wait has a bound: connecting, each request (including its wait for a free
    stream), the answer to a keepalive PING, and a graceful close.
    """

    connect_timeout: float = 10.0
    request_timeout: float = 30.0
    #: Seconds without any frame from the server before a keepalive PING; None disables.
    ping_interval: float | None = 60.0
    ping_timeout: float = 10.0
    close_timeout: float = 5.0
    #: The connection retires once it has used this stream id (RFC 9113 §5.1.1 caps it at
    #: 2**31-1); lower it to rotate connections sooner.
    max_stream_id: int = frames.MAX_STREAM_ID
    #: Our receive window per stream and for the whole connection (RFC 9113 §6.9.2).
    stream_window_size: int = 1 << 20
    connection_window_size: int = 1 << 24
    #: Largest frame we accept (announced as SETTINGS_MAX_FRAME_SIZE).
    max_frame_size: int = frames.DEFAULT_MAX_FRAME_SIZE
    #: Largest decoded response header list, and largest compressed header block we buffer.
    max_header_list_size: int = 1 << 18
    max_response_body: int = 1 << 24
    #: Upper bound for the HPACK dynamic table our encoder fills in the server.
    encoder_table_size: int = 4096
    #: None: the compiled jh2 decoder when importable; False forces the ``hpack`` package.
    compiled_hpack: bool | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.max_stream_id <= frames.MAX_STREAM_ID:
            raise ValueError("max_stream_id must be within 1..2**31-1")
        if not frames.DEFAULT_MAX_FRAME_SIZE <= self.max_frame_size <= frames.MAX_FRAME_SIZE_LIMIT:
            raise ValueError("max_frame_size must be within 16384..16777215 (RFC 9113 §6.5.2)")
        if not 1 <= self.stream_window_size <= frames.MAX_WINDOW_SIZE:
            raise ValueError("stream_window_size must be within 1..2**31-1")
        # The connection window can only grow from its initial 65535 (RFC 9113 §6.9.2).
        if not frames.DEFAULT_WINDOW_SIZE <= self.connection_window_size <= frames.MAX_WINDOW_SIZE:
            raise ValueError("connection_window_size must be within 65535..2**31-1")
