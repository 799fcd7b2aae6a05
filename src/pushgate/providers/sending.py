"""Sending a batch one request per delivery, and the remaining TTL of a delivery."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import httpx

from pushgate.core.outcomes import Outcome
from pushgate.providers.base import Delivery
from pushgate.providers.http_client import transport_failure
from pushgate.providers.target_guard import PrivateTargetRefused

# What can go wrong on the wire; anything else is a bug and is allowed to surface.
TRANSPORT_ERRORS = (httpx.HTTPError, PrivateTargetRefused, OSError)


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
    """
    gate = asyncio.Semaphore(max(1, concurrency))

    async def guarded(delivery: Delivery) -> Outcome:
        async with gate:
            try:
                return await send_one(delivery)
            except TRANSPORT_ERRORS as exc:
                return transport_failure(exc)

    return list(await asyncio.gather(*(guarded(delivery) for delivery in batch)))
