"""Credential validation in a child process, with a time limit.

Validating parses keys and certificates: PKCS#12 key derivation, RSA key checks. That is CPU
work the input decides, and ``cryptography`` holds the GIL while it runs (a thread would
still stop the event loop: measured, a 1,000,000-iteration bundle held it 1.2 s). So it runs
in a small pool of processes, and a validation that outlasts :data:`PARSE_TIMEOUT_SECONDS`
is refused and its process killed (a new pool's process is started, within its own limit,
before the validation is timed). Input is bounded before this too (sizes, iteration
counts; ``pkcs12_cost.py``).

The pool belongs to the process, not to one set of services: it starts at the first
validation and lasts until the process exits (``concurrent.futures`` stops its processes
then; each also ends on its own when its parent is gone). Services closing leave it be:
another set of services in the same process may be validating with it, and a process
that builds services again (a test suite does so hundreds of times) would otherwise
start a Python process, and import the credential code in it, for every validation.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pushgate.core.credentials.kinds import validate_credentials
from pushgate.core.credentials.result import CredentialSet
from pushgate.errors import InvalidInput, Unavailable

PARSE_TIMEOUT_SECONDS = 10.0
# Starting a pool's process (a new Python importing the credential code) is not parsing,
# and on a loaded machine it has taken longer than the parse limit: it has a limit of its
# own, before the parse is timed.
START_TIMEOUT_SECONDS = 60.0
# Credentials are set by administrators, rarely and one at a time: two processes serve.
POOL_SIZE = 2

_pool: ProcessPoolExecutor | None = None
_started: ProcessPoolExecutor | None = None  # the pool once its process has answered

# What the child answers: the set, or the refusal's message and details (exceptions with
# keyword arguments do not survive pickling whole).
_Answer = tuple[CredentialSet | None, tuple[str, dict[str, Any]] | None]


def _validate(kind: str, raw: dict[str, Any], allow_insecure_targets: bool) -> _Answer:
    try:
        return validate_credentials(kind, raw, allow_insecure_targets=allow_insecure_targets), None
    except InvalidInput as refused:
        return None, (refused.message, refused.details)


def _answer() -> None:
    """Nothing: answered once the pool's process is running."""


def _child_start(parent: int) -> None:
    """In each child: let go of the parent's output, and end with the parent.

    A spawned child keeps the parent's standard output and error open; whoever reads the
    parent's output to its end (a supervisor, a test) would wait for the child too. And a
    parent killed outright (SIGKILL) runs no clean-up: the child watches for it, since it
    is then adopted by another process."""
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    os.close(quiet)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # spawn: a fork of a process with threads and an event loop is not safe to use.
        _pool = ProcessPoolExecutor(
            POOL_SIZE,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_child_start,
            initargs=(os.getpid(),),
        )
    return _pool


def _discard_pool() -> None:
    """Kill the pool's processes (one is stuck in a parse) so the next call starts afresh."""
    global _pool
    pool, _pool = _pool, None
    if pool is None:
        return
    # The executor has no public way to stop a running call; its processes are killed.
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


async def validate_off_loop(
    kind: str, raw: Mapping[str, Any], *, allow_insecure_targets: bool
) -> CredentialSet:
    """:func:`validate_credentials` in a child process, refused after the time limit."""
    global _started
    loop = asyncio.get_running_loop()
    pool = _executor()
    if pool is not _started:
        try:
            async with asyncio.timeout(START_TIMEOUT_SECONDS):
                await loop.run_in_executor(pool, _answer)
        except TimeoutError:
            _discard_pool()
            raise Unavailable(
                f"credential validation: its process did not start within "
                f"{START_TIMEOUT_SECONDS:g} s",
                details={"dependency": "credential parser"},
            ) from None
        except BrokenProcessPool:
            _discard_pool()
            raise
        _started = pool
    call = loop.run_in_executor(pool, _validate, kind, dict(raw), allow_insecure_targets)
    try:
        async with asyncio.timeout(PARSE_TIMEOUT_SECONDS):
            validated, refused = await call
    except TimeoutError:
        _discard_pool()
        raise InvalidInput(
            f"invalid {kind} credentials: parsing took longer than {PARSE_TIMEOUT_SECONDS:g} s",
            details={"field": kind, "reason": "parsing took too long"},
        ) from None
    except BrokenProcessPool:
        _discard_pool()
        raise
    if refused is not None:
        raise InvalidInput(refused[0], details=refused[1])
    if validated is None:  # the child answers one or the other
        raise RuntimeError("credential validation answered nothing")
    return validated
