"""Telling outages from bugs, backing off, and logging an outage once (docs/architecture.md §9)."""

from __future__ import annotations

import asyncio
import errno
import logging

import asyncpg
import pytest
import redis.exceptions
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from pushgate.errors import Unavailable
from pushgate.outage import Backoff, OutageLog, is_outage
from tests.postgres_refusal import refuse_as_starting_up


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
        TimeoutError(),
        redis.exceptions.ConnectionError("Error 111 connecting"),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        sa.exc.InterfaceError("SELECT 1", {}, Exception("connection is closed")),
        Unavailable("the database is busy"),
        OSError("Multiple exceptions: [Errno 111] Connect call failed"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_unreachable_dependencies_are_outages(exc: BaseException) -> None:
    assert is_outage(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad payload"),
        KeyError("n"),
        FileNotFoundError(errno.ENOENT, "missing"),
        redis.exceptions.ResponseError("WRONGTYPE"),
        sa.exc.ProgrammingError("SELECT nope", {}, Exception("syntax error")),
        sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key")),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_bugs_and_bad_data_are_not_outages(exc: BaseException) -> None:
    assert not is_outage(exc)


def test_an_outage_wrapped_in_another_error_is_still_one() -> None:
    outer = RuntimeError("sending failed")
    outer.__cause__ = ConnectionResetError(errno.ECONNRESET, "reset by peer")
    assert is_outage(outer)


def test_backoff_doubles_up_to_its_cap_with_jitter_and_starts_over_on_reset() -> None:
    backoff = Backoff(first=0.1, cap=1.0)
    waits = [backoff.next_wait() for _ in range(8)]
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    for wait, ceiling in zip(waits, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling
    backoff.reset()
    assert backoff.next_wait() <= 0.1


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    outage = OutageLog("queue", logging.getLogger("test.outage"), clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="test.outage")
    outage.succeeded()  # nothing was down: nothing to say
    for _ in range(5):
        outage.failed(ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
        now[0] += 3.0
    assert outage.down
    outage.succeeded()
    outage.succeeded()
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("queue unreachable since ")
    assert "ConnectionRefusedError" in messages[0]
    assert messages[1] == "queue reachable again after 15.0 s"
    assert not outage.down


async def test_a_database_starting_up_is_an_outage() -> None:
    """PostgreSQL refuses connections with 57P03 while it starts or replays its WAL after
    a crash; SQLAlchemy reports that as a bare DBAPIError (not OperationalError)."""
    server = await asyncio.start_server(refuse_as_starting_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test")
    try:
        with pytest.raises(sa.exc.DBAPIError, match="starting up") as raised:
            async with engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
        assert is_outage(raised.value)
    finally:
        await engine.dispose()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("sqlstate", "outage"),
    [
        ("57P01", True),  # admin_shutdown: a fast or immediate stop ended the session
        ("57P02", True),  # crash_shutdown: another backend crashed, every one restarts
        ("57P03", True),  # cannot_connect_now: starting up, in recovery
        ("08006", True),  # connection_failure
        ("08P01", False),  # protocol_violation: a bug, not an outage
        ("57014", False),  # query_canceled: a statement timeout, not the server away
        ("23505", False),  # unique_violation
    ],
)
def test_postgres_errors_are_outages_by_their_sqlstate(sqlstate: str, outage: bool) -> None:
    error = asyncpg.PostgresError.new({"C": sqlstate, "M": "the server said so", "S": "FATAL"})
    wrapped = sa.exc.DBAPIError("SELECT 1", {}, error)
    wrapped.__cause__ = error
    assert is_outage(wrapped) is outage
