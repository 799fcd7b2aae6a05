"""Sending a batch one request per delivery, the remaining TTL of a delivery, and the
boundary that keeps one delivery's failure its own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import httpx

from pushgate.core.outcomes import Outcome, rejected
from pushgate.providers.base import Delivery
from pushgate.providers.http_client import short_reason, transport_failure
from pushgate.providers.target_guard import PrivateTargetRefused

log = logging.getLogger(__name__)

# What can go wrong on the wire: those outcomes are read by kind (a retry, a refused target).
TRANSPORT_ERRORS = (httpx.HTTPError, PrivateTargetRefused, OSError)


def failure_outcome(exc: Exception) -> Outcome:
    """The outcome of a delivery that raised ``exc`` while it was prepared or sent: failed
    (``rejected``), with the error's class and message as the reason. Not retried: the same
    input would raise again, and a retry of the batch or job would send its other
    deliveries twice (docs/architecture.md §5)."""
    return rejected(short_reason(f"delivery failed: {type(exc).__name__}", str(exc)))


def unexpected_failure(exc: Exception, delivery_id: str) -> Outcome:
    """:func:`failure_outcome` for one delivery, logged once with its traceback."""
    log.error("delivery %s failed: %s: %s", delivery_id, type(exc).__name__, exc, exc_info=exc)
    return failure_outcome(exc)


def remaining_ttl(expires_at_ms: int, now: float) -> int:
    """Whole seconds until ``expires_at_ms``; a message that waited has less
    (docs/architecture.md §5)."""
    return max(0, (expires_at_ms - int(now * 1000)) // 1000)


def ttl_to_send(delivery: Delivery, now: float) -> int | None:
    """The TTL to tell the provider, in seconds: 0 for a now-or-never delivery (deliver at
    once or drop it), else what is left of its TTL; None when it expired before it could be
    sent (for now-or-never: its one attempt came too late)."""
    left = remaining_ttl(delivery.expires_at, now)
    if left <= 0:
        return None
    return 0 if delivery.now_or_never else left


async def send_each(
    batch: Sequence[Delivery],
    send_one: Callable[[Delivery], Awaitable[Outcome]],
    concurrency: int,
) -> list[Outcome]:
    """One outcome per delivery, in order, with at most ``concurrency`` requests in flight.

    A transport failure becomes that delivery's outcome, so a connection reset mid-batch
    leaves every other delivery's answer intact and none of the failed ones reported sent.
    Any other exception (a URL the HTTP client refuses to parse, a bug in building one
    payload) fails that delivery alone (:func:`unexpected_failure`).
    """
    gate = asyncio.Semaphore(max(1, concurrency))

    async def guarded(delivery: Delivery) -> Outcome:
        async with gate:
            try:
                return await send_one(delivery)
            except TRANSPORT_ERRORS as exc:
                return transport_failure(exc)
            except Exception as exc:
                return unexpected_failure(exc, delivery.delivery_id)

    return list(await asyncio.gather(*(guarded(delivery) for delivery in batch)))
