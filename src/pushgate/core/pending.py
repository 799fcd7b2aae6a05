"""Why a notification's deliveries are still pending, with counts (docs/operations.md,
"Why deliveries are pending").

Derived from what is stored, cheaply: the kept counts per provider and state, the app's
paused credentials, and, for notifications that keep a row per delivery, a look at no more
than ``SCAN_LIMIT`` of its pending rows (through the index that holds only pending ones),
never all the deliveries of a big notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.notifications import (
    DeliveryRecords,
    DeliveryState,
    Notification,
    NotificationState,
)
from pushgate.core.ports import PendingReadsPort, PendingRows
from pushgate.core.sending import Status

# Pending rows looked at for one status read; past it, the rest are ``not_examined``.
SCAN_LIMIT = 10_000
# Distinct retry reasons listed; the rest are summed under ``other``.
MAX_RETRY_REASONS = 10


class PendingKind(StrEnum):
    """Why deliveries wait, each delivery under one kind only."""

    SCHEDULED = "scheduled"  # the notification waits for its send_at
    WAITING_FOR_FANOUT = "waiting_for_fanout"  # devices of the audience not yet given one
    CREDENTIALS_PAUSED = "credentials_paused"  # the app's credentials of the provider
    RETRYING = "retrying"  # a provider answered "try again"
    DEFERRED = "deferred"  # held for quiet hours or a local time (core/deferral.py)
    QUEUED = "queued"  # not yet attempted: waiting for a worker
    NOT_EXAMINED = "not_examined"  # pending, beyond the rows looked at


@dataclass(frozen=True, slots=True)
class PendingReason:
    kind: PendingKind
    count: int
    provider: str | None = None
    reason: str | None = None
    next_attempt_at: int | None = None


class PendingReasons:
    def __init__(
        self, store: PendingReadsPort, scan_limit: int = SCAN_LIMIT, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.store = store
        self.scan_limit = scan_limit
        # Held deliveries whose time has come count as queued (core/deferral.py).
        self.clock = clock

    async def of(self, status: Status) -> list[PendingReason]:
        notification = status.notification
        match notification.state:
            case NotificationState.SCHEDULED:
                return [PendingReason(PendingKind.SCHEDULED, notification.targeted)]
            case NotificationState.COMPLETED | NotificationState.EXPIRED:
                return []
            case NotificationState.CANCELED:
                return []
            case NotificationState.SENDING:
                return await self._sending(notification, status)
            case _ as unreachable:
                assert_never(unreachable)

    async def _sending(self, notification: Notification, status: Status) -> list[PendingReason]:
        reasons: list[PendingReason] = []
        made = sum(status.by_state.values())
        if not notification.fanout_done and notification.targeted > made:
            reasons.append(
                PendingReason(PendingKind.WAITING_FOR_FANOUT, notification.targeted - made)
            )
        pending = {
            provider: counts.get(DeliveryState.PENDING.value, 0)
            for provider, counts in status.by_provider.items()
        }
        if not any(pending.values()):
            return reasons
        paused = await self.store.paused_credentials_of(notification.app_id)
        for provider, reason in sorted(paused.items()):
            if pending.get(provider):
                reasons.append(
                    PendingReason(
                        PendingKind.CREDENTIALS_PAUSED, pending[provider], provider, reason
                    )
                )
        waiting = sum(n for provider, n in pending.items() if provider not in paused)
        if not waiting:
            return reasons
        match notification.records:
            case DeliveryRecords.FAILURES:
                # Only counts are kept of its pending deliveries: their jobs know the rest,
                # but for what the pages held back, which they marked with its times.
                held = _held(await self.store.held_marks(notification.id), self.clock.now_ms())
                for reason, (count, due) in sorted(held.items()):
                    count = min(count, waiting)
                    if count:
                        reasons.append(
                            PendingReason(PendingKind.DEFERRED, count, None, reason, due)
                        )
                        waiting -= count
                if waiting:
                    reasons.append(PendingReason(PendingKind.QUEUED, waiting))
            case DeliveryRecords.ALL:
                rows = await self.store.pending_rows(
                    notification.id, tuple(paused), self.scan_limit
                )
                reasons.extend(_from_rows(rows, waiting))
            case _ as unreachable:
                assert_never(unreachable)
        return reasons


def _held(marks: list[tuple[str, int, int]], now: int) -> dict[str, tuple[int, int]]:
    """reason → (count, earliest due) of the held deliveries whose time is still ahead."""
    found: dict[str, tuple[int, int]] = {}
    for reason, due, count in marks:
        if due > now:
            before = found.get(reason, (0, due))
            found[reason] = (before[0] + count, min(before[1], due))
    return found


def _from_rows(rows: PendingRows, waiting: int) -> list[PendingReason]:
    retrying = sorted(rows.retrying, key=lambda group: (-group.count, group.provider))
    reasons = [
        PendingReason(
            PendingKind.RETRYING, group.count, group.provider, group.reason, group.next_attempt_at
        )
        for group in retrying[:MAX_RETRY_REASONS]
    ]
    rest = retrying[MAX_RETRY_REASONS:]
    if rest:
        reasons.append(
            PendingReason(
                PendingKind.RETRYING,
                sum(group.count for group in rest),
                reason="other",
                next_attempt_at=min(group.next_attempt_at for group in rest),
            )
        )
    reasons.extend(
        PendingReason(
            PendingKind.DEFERRED, group.count, group.provider, group.reason, group.next_attempt_at
        )
        for group in sorted(rows.deferred, key=lambda group: (group.next_attempt_at, group.reason))
    )
    if rows.queued:
        reasons.append(PendingReason(PendingKind.QUEUED, rows.queued))
    examined = rows.queued + sum(group.count for group in (*retrying, *rows.deferred))
    if waiting > examined:
        reasons.append(PendingReason(PendingKind.NOT_EXAMINED, waiting - examined))
    return reasons
