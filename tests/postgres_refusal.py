"""What a PostgreSQL server answers a new connection while it starts up or replays its
WAL after a crash: the startup exchange, then a FATAL ``ErrorResponse`` with SQLSTATE
57P03 ``cannot_connect_now`` ("the database system is starting up"), and the connection
closed. Served by a test in place of the server (``TcpProxy.answer_with``), it makes that
moment of a real restart (``pg_ctl restart -m immediate``) happen on demand.

Wire format: PostgreSQL docs, "Message Formats" (SSLRequest, GSSENCRequest, StartupMessage,
ErrorResponse) https://www.postgresql.org/docs/current/protocol-message-formats.html and
the SQLSTATE in "Appendix A. PostgreSQL Error Codes".
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
STARTING_UP = "the database system is starting up"


def error_response(sqlstate: str, message: str) -> bytes:
    fields = b"".join(
        kind + value.encode() + b"\0"
        for kind, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


async def refuse_as_starting_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Decline encryption, take the startup message, answer 57P03 and hang up."""
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while True:
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            packet = await reader.readexactly(length - 4)
            (code,) = struct.unpack("!i", packet[:4])
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                writer.write(b"N")  # no encryption here: the client goes on in the clear
                await writer.drain()
                continue
            writer.write(error_response("57P03", STARTING_UP))
            await writer.drain()
            break
    writer.close()
