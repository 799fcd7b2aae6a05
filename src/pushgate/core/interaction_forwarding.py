"""Recorded interactions forwarded to the host system (docs/reports.md, "Forwarding to
the host system").

A tenant that sets ``interactions.forward`` has every newly recorded interaction POSTed
to its operational webhook, signed as its operational events are (docs/operations.md),
so a CRM can attach an open or a tap to its contact. Devices report by the thousand a
second, so forwarding is batched: each recorded batch of a device's report makes one
forward of its new events per tenant, queued as a job in the transaction that records
them (a repeat records nothing and forwards nothing), and sent by a worker.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pushgate.core.ttlcache import TtlCache

SETTING = "interactions.forward"
# Read on every reported batch: kept a while, and forgotten whenever settings change here.
SWITCH_CACHE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class ForwardedEvent:
    """One recorded interaction as the host system receives it."""

    notification: str
    delivery: str
    device: str
    event: str
    action_key: str | None
    at: int  # epoch ms, within the notification's life


@dataclass(frozen=True, slots=True)
class ForwardBatch:
    """The new events of one recorded batch, of one tenant's app: one POST."""

    id: str  # the POST's ``webhook-id``, the same on every attempt
    tenant_id: str
    app_id: str
    at: int  # when they were recorded, epoch ms
    events: tuple[ForwardedEvent, ...]


class ForwardQueuePort(Protocol):
    async def enqueue_in(self, connection: Any, batches: Sequence[ForwardBatch]) -> None:
        """Queue the batches' jobs within the open transaction on ``connection``."""
        ...

    async def committed(self, batches: Sequence[ForwardBatch]) -> None:
        """After the commit: the jobs go on their way."""
        ...


class ForwardingSwitch:
    """Whether each tenant forwards its interactions (its ``interactions.forward``)."""

    def __init__(self, read: Callable[[str], Awaitable[bool]], *, clock: Callable[[], float]):
        self._read = read
        self._cache: TtlCache[str, bool] = TtlCache(SWITCH_CACHE_SECONDS, clock=clock)

    async def is_on(self, tenant_id: str) -> bool:
        return bool(await self._cache.get(tenant_id, functools.partial(self._read, tenant_id)))

    def forget(self) -> None:
        """A setting changed: read again."""
        self._cache.invalidate()
