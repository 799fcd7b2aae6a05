"""Credential validation in a child process, with a time limit.

Validating parses keys and certificates: PKCS#12 key derivation, RSA key checks. That is CPU
work the input decides, and ``cryptography`` holds the GIL while it runs (a thread would
still stop the event loop: measured, a 1,000,000-iteration bundle held it 1.2 s). So it runs
in a small pool of processes, and a validation that outlasts :data:`PARSE_TIMEOUT_SECONDS`
is refused and its process killed. Input is bounded before this too (sizes, iteration
counts; ``pkcs12_cost.py``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pushgate.core.credentials.kinds import validate_credentials
from pushgate.core.credentials.result import CredentialSet
from pushgate.errors import InvalidInput

PARSE_TIMEOUT_SECONDS = 10.0
# Credentials are set by administrators, rarely and one at a time: two processes serve.
POOL_SIZE = 2

_pool: ProcessPoolExecutor | None = None

# What the child answers: the set, or the refusal's message and details (exceptions with
# keyword arguments do not survive pickling whole).
_Answer = tuple[CredentialSet | None, tuple[str, dict[str, Any]] | None]


def _validate(kind: str, raw: dict[str, Any], allow_insecure_targets: bool) -> _Answer:
    try:
        return validate_credentials(kind, raw, allow_insecure_targets=allow_insecure_targets), None
    except InvalidInput as refused:
        return None, (refused.message, refused.details)


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # spawn: a fork of a process with threads and an event loop is not safe to use.
        _pool = ProcessPoolExecutor(POOL_SIZE, mp_context=multiprocessing.get_context("spawn"))
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
    loop = asyncio.get_running_loop()
    call = loop.run_in_executor(_executor(), _validate, kind, dict(raw), allow_insecure_targets)
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
