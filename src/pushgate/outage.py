"""Outages of the database and the queue: telling them from bugs, waiting them out, and
saying so once.

A long-running loop (the worker's leases, the outbox relay and reconciler, housekeeping)
that meets an outage backs off, capped and jittered, and tries again; it never exits.
Its log says when the outage began and when it ended, not every failed attempt
(docs/architecture.md §9).
"""

from __future__ import annotations

import errno
import logging
import random
import socket
import sys
import time
from collections.abc import Callable

import sqlalchemy as sa

from pushgate.errors import Unavailable

# The first wait after a failure, and the longest: a queue back within seconds is used
# again within seconds, and a long outage costs a try every half minute.
FIRST_WAIT_SECONDS = 0.2
_UNREACHABLE = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ECONNRESET}
MAX_WAIT_SECONDS = 30.0
# PostgreSQL going away or not back yet, by SQLSTATE ("Appendix A. PostgreSQL Error
# Codes", https://www.postgresql.org/docs/current/errcodes-appendix.html): 57P01
# admin_shutdown (a fast or immediate stop ends each session), 57P02 crash_shutdown
# (another backend crashed, all restart), 57P03 cannot_connect_now (starting up or
# replaying its WAL; SQLAlchemy wraps it in a bare DBAPIError, not OperationalError), and
# class 08 connection exceptions but 08P01 protocol_violation, which is a bug.
_POSTGRES_AWAY = frozenset({"57P01", "57P02", "57P03"})
_POSTGRES_NOT_AWAY = frozenset({"08P01"})


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says a dependency is unreachable (worth waiting out), not a bug."""
    if _is_redis_outage(exc):
        return True
    match exc:
        case Unavailable():
            return True
        case sa.exc.OperationalError() | sa.exc.InterfaceError() | sa.exc.TimeoutError():
            return True
        case sa.exc.DBAPIError() if exc.connection_invalidated:
            return True
        case ConnectionError() | TimeoutError() | socket.gaierror():
            # Refused or reset, a socket timeout, a name that does not resolve.
            return True
        case OSError() if exc.errno in _UNREACHABLE or str(exc).startswith("Multiple exceptions"):
            # asyncpg tries each address of a host and reports them all in one OSError.
            return True
        case _ if _is_postgres_away(exc):
            return True
        case _:
            return is_outage(exc.__cause__) if exc.__cause__ is not None else False


def _is_postgres_away(exc: BaseException) -> bool:
    # asyncpg's errors and SQLAlchemy's adapter of them carry the SQLSTATE as ``sqlstate``.
    state = getattr(exc, "sqlstate", None)
    if not isinstance(state, str) or state in _POSTGRES_NOT_AWAY:
        return False
    return state in _POSTGRES_AWAY or state.startswith("08")


def _is_redis_outage(exc: BaseException) -> bool:
    """A Redis connection error or timeout. Only the Redis queue and limiter import the
    client: until one has, no error can come from it, and importing it here would cost
    every process (each command, ``pushgate --help``) about a tenth of a second."""
    if "redis.exceptions" not in sys.modules:
        return False
    import redis.exceptions

    return isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError)


def describe(exc: BaseException) -> str:
    """A short, secret-free name for an outage: the error's type and first line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def unavailable(what: str, exc: BaseException) -> Unavailable:
    """The error callers see (HTTP 503 ``unavailable``) for an outage of ``what``."""
    message = f"the {what} is unreachable; try again shortly"
    return Unavailable(message, details={what: describe(exc)})


class Backoff:
    """Waits that double from ``first`` up to ``cap``, each jittered down to half (full
    jitter would let a crowd of workers retry at once; none keeps them in step)."""

    def __init__(self, first: float = FIRST_WAIT_SECONDS, cap: float = MAX_WAIT_SECONDS) -> None:
        self.first = first
        self.cap = cap
        self._failures = 0

    def next_wait(self) -> float:
        wait = min(self.cap, self.first * 2.0**self._failures)
        self._failures += 1
        return wait * random.uniform(0.5, 1.0)  # noqa: S311 (spreading retries, not secrecy)

    def reset(self) -> None:
        self._failures = 0


class OutageLog:
    """Logs an outage of ``what`` once when it starts and once when it ends."""

    def __init__(
        self,
        what: str,
        logger: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.logger = logger
        self.clock = clock
        self._since: float | None = None
        self._since_wall: str = ""

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> None:
        if self._since is not None:
            return
        self._since = self.clock()
        self._since_wall = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.logger.warning(
            "%s unreachable since %s (%s); backing off", self.what, self._since_wall, describe(exc)
        )

    def succeeded(self) -> None:
        if self._since is None:
            return
        lasted = self.clock() - self._since
        self._since = None
        self.logger.warning("%s reachable again after %.1f s", self.what, lasted)
