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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pushgate.core.ids import new_id
from pushgate.core.ttlcache import TtlCache

if TYPE_CHECKING:
    from pushgate.core.interactions import InteractionRow

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


async def forwarder(
    forwards: ForwardQueuePort,
    switch: ForwardingSwitch,
    tenant_of: Mapping[str, str],
    now: int,
    forwarded: list[ForwardBatch],
) -> Callable[[Any, list[InteractionRow]], Awaitable[None]] | None:
    """The writes that queue a recorded batch's new events (one forward per tenant and
    app) for the tenants that forward them, to run in the transaction that records them;
    None when none of the batch's tenants does. ``tenant_of``: notification id → tenant
    id; ``forwarded`` receives what was queued, for :meth:`ForwardQueuePort.committed`."""
    on = {
        tenant_id for tenant_id in sorted(set(tenant_of.values())) if await switch.is_on(tenant_id)
    }
    if not on:
        return None

    async def queue(connection: Any, new: list[InteractionRow]) -> None:
        by_owner: dict[tuple[str, str], list[ForwardedEvent]] = {}
        for row in new:
            item = row.recorded
            tenant_id = tenant_of[item.notification_id]
            if tenant_id in on:
                by_owner.setdefault((tenant_id, item.app_id), []).append(
                    ForwardedEvent(
                        item.notification_id,
                        row.delivery_id,
                        row.device_id,
                        item.event.value,
                        item.action_key or None,
                        item.at,
                    )
                )
        batches = [
            ForwardBatch(new_id(), tenant_id, app_id, now, tuple(events))
            for (tenant_id, app_id), events in sorted(by_owner.items())
        ]
        await forwards.enqueue_in(connection, batches)
        forwarded[:] = batches  # a group tried again alone calls this once more

    return queue
