"""One HTTP/2 stream on the simulator server, and the check that turns its header list
into a :class:`~pushgate.simulators.base.SimRequest` (RFC 9113 §8.1–§8.3)."""

from __future__ import annotations

import asyncio

from pushgate.simulators.base import ConnectionInfo, SimRequest

_REQUEST_PSEUDO = frozenset({":method", ":scheme", ":authority", ":path"})
# Connection-specific fields are malformed in HTTP/2 (RFC 9113 §8.2.2).
_CONNECTION_FIELDS = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}
)


class Stream:
    """State of one client-initiated stream: its request so far and both windows."""

    __slots__ = (
        "body",
        "credit",
        "headers",
        "pending",
        "recv_window",
        "remote_closed",
        "send_window",
        "stream_id",
        "task",
    )

    def __init__(self, stream_id: int, headers: list[tuple[str, str]], send_window: int) -> None:
        self.stream_id = stream_id
        self.headers = headers
        self.body = bytearray()
        self.send_window = send_window
        self.recv_window = 65_535  # we never change SETTINGS_INITIAL_WINDOW_SIZE
        self.credit = 0
        self.remote_closed = False
        self.pending = b""
        self.task: asyncio.Task[None] | None = None


def request_from_headers(stream: Stream, info: ConnectionInfo) -> SimRequest | None:
    """The request carried by ``stream``, or None when it is malformed (RFC 9113 §8.1.1)."""
    pseudo: dict[str, str] = {}
    regular: list[tuple[str, str]] = []
    for name, value in stream.headers:
        if name.startswith(":"):
            if regular or name in pseudo or name not in _REQUEST_PSEUDO:
                return None  # pseudo-headers come first, once each (§8.3)
            pseudo[name] = value
        elif _is_forbidden_field(name, value):
            return None
        else:
            regular.append((name, value))
    method, path = pseudo.get(":method"), pseudo.get(":path")
    if not method or not path or ":scheme" not in pseudo:
        return None
    if not _content_length_matches(regular, len(stream.body)):
        return None
    authority = pseudo.get(":authority")
    if authority is not None and not any(name == "host" for name, _ in regular):
        regular.append(("host", authority))
    return SimRequest(method, path, regular, bytes(stream.body), "2", info)


def _is_forbidden_field(name: str, value: str) -> bool:
    """Upper-case names and connection-specific fields make a request malformed (§8.2)."""
    if not name or name in _CONNECTION_FIELDS or name != name.lower():
        return True
    return name == "te" and value != "trailers"


def _content_length_matches(headers: list[tuple[str, str]], size: int) -> bool:
    for name, value in headers:
        if name == "content-length":
            return value.isdigit() and int(value) == size
    return True
