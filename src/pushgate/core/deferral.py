"""When each recipient of a notification is sent: now, later (deferred), or never because
that time is past the notification's expiry (docs/delivery.md, "Quiet hours and local
time").

A deferred delivery stays ``pending`` with a due time and its reason; its send job is
queued for that time (the queue's own due time is the timer). One whose time would come at
or after the notification's expiry is ``expired`` at once, with the reason, and counted as
expired: nothing could send it, and saying so now beats holding it until then. A
notification of TTL 0 (now or never) reaching a recipient in quiet hours is such a case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, assert_never
from zoneinfo import ZoneInfo

from pushgate.core.messages import Priority
from pushgate.core.notifications import AudienceMember, HeldTarget, Notification
from pushgate.core.quiet_hours import LocalTime, QuietHours, next_local, quiet_until
from pushgate.core.recipient_times import TenantTimes

# Where a notification keeps its ``deliver_at_local`` (in its content, not sent).
LOCAL_TIME_KEY = "deliver_at_local"


class DeferReason(StrEnum):
    """Why a delivery waits (its ``reason`` while pending, and if it expires)."""

    #: The recipient's quiet hours: sent when the window ends.
    QUIET_HOURS = "quiet_hours"
    #: ``deliver_at_local``: sent at that wall-clock time in the recipient's zone.
    LOCAL_TIME = "local_time"


@dataclass(frozen=True, slots=True)
class Deferred:
    """Sent at ``at`` (UTC ms), not before."""

    at: int
    reason: DeferReason


@dataclass(frozen=True, slots=True)
class TooLate:
    """Its time comes at or after the notification's expiry: expired at once."""

    reason: DeferReason


Hold = Deferred | TooLate


@dataclass(frozen=True, slots=True)
class Timing:
    """What decides a notification's send times: when it was accepted, when it expires, its
    priority and its local time (if any)."""

    created_at: int
    expires_at: int
    priority: Priority
    local: LocalTime | None


def hold_of(timing: Timing, now: int, zone: ZoneInfo, quiet: QuietHours | None) -> Hold | None:
    """When one recipient in ``zone`` with ``quiet`` hours is sent: None for now.

    The local time comes first (its next occurrence after acceptance, so a page run late
    or again finds the same time); quiet hours then apply at that instant, so a local time
    inside the recipient's quiet window waits for the window's end."""
    at, reason = now, DeferReason.QUIET_HOURS
    if timing.local is not None:
        at = max(now, next_local(timing.created_at, zone, timing.local))
        reason = DeferReason.LOCAL_TIME
    if quiet is not None and not (quiet.urgent_passes and timing.priority is Priority.HIGH):
        ends = quiet_until(at, zone, quiet)
        if ends is not None:
            at, reason = ends, DeferReason.QUIET_HOURS
    if at <= now:
        return None
    if at >= timing.expires_at:
        return TooLate(reason)
    return Deferred(at, reason)


class TimesPort(Protocol):
    """A tenant's default quiet hours and zone (core/recipient_times.py)."""

    async def of_tenant(self, tenant_id: str) -> TenantTimes: ...


class ZonesPort(Protocol):
    async def zones_of(self, device_ids: Sequence[str]) -> dict[str, str]:
        """device id → the zone its device names, else its user; others left out."""
        ...


def timing_of(notification: Notification) -> Timing:
    local = notification.content.get(LOCAL_TIME_KEY)
    return Timing(
        notification.created_at,
        notification.expires_at,
        Priority(notification.content.get("priority") or Priority.HIGH),
        LocalTime.parse(local) if isinstance(local, str) else None,
    )


def held_target(member: AudienceMember, hold: Hold) -> HeldTarget:
    match hold:
        case Deferred(at=at, reason=reason):
            return HeldTarget(member.device_id, member.provider, at, reason.value)
        case TooLate(reason=reason):
            return HeldTarget(member.device_id, member.provider, None, reason.value)
        case _ as unreachable:
            assert_never(unreachable)


def kept_hold(hold: Hold) -> list[Any]:
    """A hold as a counted page keeps it with its devices: [due time or null, reason]."""
    match hold:
        case Deferred(at=at, reason=reason):
            return [at, reason.value]
        case TooLate(reason=reason):
            return [None, reason.value]
        case _ as unreachable:
            assert_never(unreachable)


def read_hold(kept: list[Any]) -> Hold:
    at, reason = kept
    return TooLate(DeferReason(reason)) if at is None else Deferred(int(at), DeferReason(reason))
