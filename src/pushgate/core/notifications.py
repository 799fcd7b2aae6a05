"""Notification and delivery values, and their states."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple


class NotificationState(StrEnum):
    SCHEDULED = "scheduled"  # send_at is in the future
    SENDING = "sending"  # fan-out or deliveries under way
    COMPLETED = "completed"  # every delivery reached a final state
    EXPIRED = "expired"  # its time ran out with deliveries undone
    CANCELED = "canceled"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # rejected by the provider (bad request, too large)
    INVALID = "invalid"  # the token is dead; the device was invalidated
    EXPIRED = "expired"  # TTL or retention ran out before it could be sent
    CANCELED = "canceled"
    # Not sent: the type is switched off for the recipient (its reason in ``reason``,
    # core/suppression.py). Counted as ``suppressed:<reason>``.
    SUPPRESSED = "suppressed"

    @property
    def is_final(self) -> bool:
        return self is not DeliveryState.PENDING


class DeliveryRecords(StrEnum):
    """What a notification keeps of its deliveries.

    ``all``: a row per delivery from the fan-out on, listable by outcome (pending
    included). ``failures``: the kept counts of every outcome, and a row only for a delivery
    that ended other than sent; pending deliveries live in their send jobs, so a broadcast
    writes nothing per delivery that goes out. For big sends where the totals and the
    failures are what anyone reads.
    """

    ALL = "all"
    FAILURES = "failures"


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    tenant_id: str
    app_id: str
    idempotency_key: str | None
    audience: dict[str, Any]
    content: dict[str, Any]
    state: NotificationState
    targeted: int
    fanout_done: bool
    send_at: int | None
    expires_at: int
    created_at: int
    updated_at: int
    records: DeliveryRecords = DeliveryRecords.ALL
    # SHA-256 of the request that carried ``idempotency_key`` (core.sending.request_hash);
    # None for notifications stored before it was kept, which any repeat matches.
    request_hash: str | None = None
    # The key of the notification type it was sent as (docs/types.md); None: ad hoc.
    type_key: str | None = None

    @property
    def now_or_never(self) -> bool:
        """A TTL of 0: one attempt, which providers must not store (docs/architecture.md §5)."""
        return self.content.get("ttl") == 0


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One stored delivery. Its device may have been deleted since: the delivery stays, as
    the notification's history."""

    id: str
    notification_id: str
    device_id: str
    provider: str
    state: DeliveryState
    attempts: int
    next_attempt_at: int | None
    reason: str | None
    status: int | None
    provider_message_id: str | None
    created_at: int
    updated_at: int


class DeviceAddress(NamedTuple):
    """What sending reads of a device: where to send, what to encrypt with, which
    language to render in. The send path builds one per delivery, so it is a tuple rather
    than a whole :class:`~pushgate.core.models.Device` (a fifth of the cost)."""

    id: str
    token: str
    keys: dict[str, str] | None
    locale: str | None
    user_id: str | None


class DueDelivery(NamedTuple):
    """A pending delivery whose time has come, as the sender reads it."""

    id: str
    provider: str
    attempts: int
    device: DeviceAddress
    user_locale: str | None


class AudienceMember(NamedTuple):
    """A device of a notification's audience as a fan-out page reads it: what its delivery
    row needs (id, provider) and what its first send needs (address, languages), in the
    one read, so the first send of a batch reads nothing back."""

    device_id: str
    provider: str
    token: str
    keys: dict[str, str] | None
    locale: str | None
    user_id: str | None
    user_locale: str | None


_NO_DUE: Mapping[str, int] = MappingProxyType({})


class AddedDeliveries(NamedTuple):
    """What a fan-out page made: (delivery id, provider, device id) of each delivery still
    pending, and whether the page made them all just now (``fresh``). A page run again
    (its worker died after writing it) finds deliveries made before: some may be in a
    send job already, or waiting for a retry, so they must be read back before sending."""

    pending: list[tuple[str, str, str]]
    fresh: bool
    #: delivery id → when it is due, for those of ``pending`` held till a time of their
    #: own (core/deferral.py).
    due: Mapping[str, int] = _NO_DUE


class HeldTarget(NamedTuple):
    """A recipient not sent now (core/deferral.py): pending until ``due_at``, or, with
    ``due_at`` None, expired at once because that time is past the notification's expiry;
    ``reason`` says why, either way."""

    device_id: str
    provider: str
    due_at: int | None
    reason: str


class DueDeliveries(NamedTuple):
    """A send batch as read back: what to send, and what not to, because its device was
    deleted or stopped being active after the fan-out ((delivery id, provider, attempts,
    reason))."""

    due: list[DueDelivery]
    gone: list[tuple[str, str, int, str]]


class DeliveryResult(NamedTuple):
    """What a send attempt decided for one delivery, to be written back."""

    delivery_id: str
    state: DeliveryState
    attempts: int
    next_attempt_at: int | None = None
    reason: str | None = None
    status: int | None = None
    provider_message_id: str | None = None


class Settlement(NamedTuple):
    """What one fan-out page or one send batch of a notification that records failures only
    changes, to be applied at most once, under its ``key``: the counts it moves
    ((provider, state) → change), and its deliveries that ended other than sent, kept as
    rows ((result, device id, provider)). A job run twice settles once, and finds what
    its first run kept."""

    key: str
    moved: Counter[tuple[str, str]]
    failed: Sequence[tuple[DeliveryResult, str, str]] = ()
    # What a run again needs (kept with the key): a page's devices, a batch's retry job.
    kept: str | None = None


class Settled(NamedTuple):
    """A settled key, with what its settlement kept (or None)."""

    kept: str | None
