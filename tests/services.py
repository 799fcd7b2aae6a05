"""Reaching the PostgreSQL and Redis servers and the programs tests may use.

Locally a missing server or program skips its suites (named in the summary); with
``CI=true`` the suites are mandatory and a missing one fails them.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

POSTGRES_HOST = os.environ.get("PUSHGATE_TEST_PG_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("PUSHGATE_TEST_PG_PORT", "5432"))
POSTGRES_ADMIN_DB = os.environ.get("PUSHGATE_TEST_PG_DB", "test")
POSTGRES_USER = os.environ.get("PUSHGATE_TEST_PG_USER", "postgres")
REDIS_HOST = os.environ.get("PUSHGATE_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("PUSHGATE_TEST_REDIS_PORT", "6379"))
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/15"

SKIPPED_SUITES: set[str] = set()


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
    SKIPPED_SUITES.add(name)
    pytest.skip(message)


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
    SKIPPED_SUITES.add(program)
    pytest.skip(message)


def postgres_url(database: str) -> str:
    return f"postgresql+asyncpg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}"
