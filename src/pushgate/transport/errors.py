"""Failures of the HTTP/2 transport.

Every failure is a :class:`TransportError`. Its two branches tell a caller what it may do:

- :class:`NotProcessedError`: the server did not act on the request (it was never sent,
  or the server said so with GOAWAY or REFUSED_STREAM, RFC 9113 §8.7). Resending it on
  another connection is always safe.
- :class:`MaybeProcessedError`: the request may have reached the server and been acted
  on. Resending may deliver twice; providers resend with a stable message id.
"""

from __future__ import annotations

from pushgate.errors import PushgateError


class TransportError(PushgateError):
    """Base of every HTTP/2 transport failure."""

    code = "transport_error"
    #: True when the server certainly did not process the request.
    safe_to_resend = False


class NotProcessedError(TransportError):
    """The request was not processed by the server; resending is safe."""

    code = "transport_not_processed"
    safe_to_resend = True


class MaybeProcessedError(TransportError):
    """The request may have been processed by the server."""

    code = "transport_maybe_processed"


class ConnectError(NotProcessedError):
    """The connection could not be opened (DNS, TCP, TLS, ALPN or the HTTP/2 preface)."""

    code = "transport_connect_failed"


class ConnectTimeout(ConnectError):
    """Opening the connection took longer than the connect timeout."""

    code = "transport_connect_timeout"


class TargetRefused(TransportError):
    """The connection was not opened: the host's addresses failed the caller's address check.

    Not a :class:`NotProcessedError` on purpose: resending on another connection would meet
    the same check, so the pool does not try again.
    """

    code = "transport_target_refused"


class ConnectionUnavailable(NotProcessedError):
    """The connection is closing, closed or retired; the request was not sent on it."""

    code = "transport_connection_unavailable"


class StreamRefused(NotProcessedError):
    """The server refused the stream: REFUSED_STREAM, or its id was above a GOAWAY's last id."""

    code = "transport_stream_refused"


class StreamSlotTimeout(NotProcessedError):
    """The timeout passed while the request waited for a free stream; it was never sent."""

    code = "transport_stream_slot_timeout"


class ConnectionLost(MaybeProcessedError):
    """The connection broke while the request was in flight."""

    code = "transport_connection_lost"


class RequestTimeout(MaybeProcessedError):
    """No complete response arrived within the request timeout."""

    code = "transport_request_timeout"


class StreamReset(MaybeProcessedError):
    """The server reset the stream with an error code other than REFUSED_STREAM."""

    code = "transport_stream_reset"

    def __init__(self, message: str, *, error_code: int) -> None:
        super().__init__(message, details={"error_code": error_code})
        self.error_code = error_code


class ProtocolViolation(MaybeProcessedError):
    """The server broke the HTTP/2 protocol; the connection was closed."""

    code = "transport_protocol_violation"


class ResponseTooLarge(MaybeProcessedError):
    """The response body exceeded the configured bound; the stream was reset."""

    code = "transport_response_too_large"
