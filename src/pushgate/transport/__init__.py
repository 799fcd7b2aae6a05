"""pushgate's HTTP/2 client transport: few long-lived connections, many concurrent streams.

Built for the send path (many small POSTs to APNs and FCM). :class:`Http2Pool` spreads
requests over :class:`Http2Connection` objects, one at a time or a whole batch at once
(``request_many``: no task per request); failures are :class:`TransportError`
subclasses that say whether a request is safe to resend.
"""

from pushgate.transport.config import Http2Config
from pushgate.transport.connection import AddressCheck, Http2Connection
from pushgate.transport.errors import (
    ConnectError,
    ConnectionLost,
    ConnectionUnavailable,
    ConnectTimeout,
    MaybeProcessedError,
    NotProcessedError,
    ProtocolViolation,
    RequestTimeout,
    ResponseTooLarge,
    StreamRefused,
    StreamReset,
    StreamSlotTimeout,
    TargetRefused,
    TransportError,
)
from pushgate.transport.header_encoder import SharedHeaders
from pushgate.transport.pool import Http2Pool
from pushgate.transport.stream import Request, Response
from pushgate.transport.tls import client_ssl_context

__all__ = [
    "AddressCheck",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionLost",
    "ConnectionUnavailable",
    "Http2Config",
    "Http2Connection",
    "Http2Pool",
    "MaybeProcessedError",
    "NotProcessedError",
    "ProtocolViolation",
    "Request",
    "RequestTimeout",
    "Response",
    "ResponseTooLarge",
    "SharedHeaders",
    "StreamRefused",
    "StreamReset",
    "StreamSlotTimeout",
    "TargetRefused",
    "TransportError",
    "client_ssl_context",
]
