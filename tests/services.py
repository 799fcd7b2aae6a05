"""Reaching the PostgreSQL and Redis servers and the programs tests may use.

Locally a missing server or program skips its suites (named in the summary); with
``CI=true`` the suites are mandatory and a missing one fails them.

The suite runs in several processes at once (pytest-xdist): every database and Redis key
prefix a test makes is named by ``unique_name``, which carries the worker's id, so two
workers never share one and a leftover names the worker that made it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket

import pytest

POSTGRES_HOST = os.environ.get("PUSHGATE_TEST_PG_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("PUSHGATE_TEST_PG_PORT", "5432"))
POSTGRES_ADMIN_DB = os.environ.get("PUSHGATE_TEST_PG_DB", "test")
POSTGRES_USER = os.environ.get("PUSHGATE_TEST_PG_USER", "postgres")
REDIS_HOST = os.environ.get("PUSHGATE_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("PUSHGATE_TEST_REDIS_PORT", "6379"))
# One database for every worker: each test's keys live under a prefix of its own
# (``unique_name``), and no test flushes a database.
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/15"

# A skip for want of a server or program says so in these words; the summary (made in
# the controlling process, which sees only the reports of the workers) finds them there.
SUITE_SKIP_MARK = "suite needs"


def worker_id() -> str:
    """The xdist worker this process is (``gw0``, ``gw1``…), or ``main`` when run alone."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def unique_name(kind: str) -> str:
    """A name no other test, worker or run uses: for databases and Redis key prefixes."""
    return f"{kind}_{worker_id()}_{os.getpid()}_{secrets.token_hex(4)}"


def is_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def is_listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (locally) or fail (in CI) when ``name`` is not reachable."""
    if is_listening(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if is_ci():
        pytest.fail(f"{message}; CI=true makes the {name} suites mandatory", pytrace=False)
    pytest.skip(f"{SUITE_SKIP_MARK} {name}: {message}")


def require_program(program: str, package: str) -> str:
    """The path of ``program``; skip (locally) or fail (in CI) when it is not installed.

    ``make test-deps`` installs every program the suites use (what ``.ci/run`` does first).
    """
    path = shutil.which(program)
    if path is not None:
        return path
    message = f"{program} is not installed (apt-get install {package}, or make test-deps)"
    if is_ci():
        pytest.fail(f"{message}; CI=true makes every suite mandatory", pytrace=False)
    pytest.skip(f"{SUITE_SKIP_MARK} {program}: {message}")


def postgres_url(database: str) -> str:
    return f"postgresql+asyncpg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}"
