"""Accepting notifications: validate, store durably, hand the fan-out to the queue.

The API answers 202 only after the notification and its fan-out job are stored, in one
transaction (docs/architecture.md §9): neither exists without the other, whether the
queue is reachable or not. Workers do the rest (``pushgate.delivery``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, assert_never

import orjson

from pushgate.core import notification_actions
from pushgate.core.access import Caller
from pushgate.core.audience import stored_audience
from pushgate.core.audit import AuditAction, AuditLog
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.ids import new_id
from pushgate.core.messages import Message
from pushgate.core.models import App, Scope, Tenant
from pushgate.core.notification_input import NotificationInput
from pushgate.core.notification_types import TypeCatalog
from pushgate.core.notifications import (
    DeliveryRecord,
    DeliveryRecords,
    DeliveryState,
    Notification,
    NotificationState,
)
from pushgate.core.payload_problems import FieldRefused, PayloadProblem, TooLarge
from pushgate.core.ports import ActionStorePort, InTransaction, NotificationStorePort
from pushgate.core.quiet_hours import LocalTime, earliest_and_latest
from pushgate.core.rate_limits import RateLimits, Verdict
from pushgate.core.registry import MAX_PAGE, Registry
from pushgate.core.rendering import every_variant
from pushgate.core.suppression import reason_of
from pushgate.core.type_inputs import NotificationType
from pushgate.core.typed_sends import PROVIDERS_KEY, action_set_of, ttl_of, typed_content
from pushgate.errors import (
    Conflict,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    PayloadRefused,
    PayloadTooLarge,
)

IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000
# A TTL of 0 means "deliver now or never": its one attempt must start within this long of
# the notification's start, else the delivery expires unsent. It bounds the time in the
# queue and a fan-out's pages, not what the provider is told (a TTL of 0).
NOW_OR_NEVER_WINDOW_MS = 30_000
# Left out of the content as given: the actions are stored resolved (core/notification_actions.py).
_NOT_CONTENT = {
    "app",
    "audience",
    "idempotency_key",
    "records",
    "send_at",
    "type",
    "ttl",
    "action_set",
    "actions",
}


class StartFanout(Protocol):
    """Queues a notification's fan-out from a time (epoch ms); the delivery part's."""

    def within(self, notification_id: str, at: int) -> InTransaction:
        """The job's writes, made in the transaction that stores the notification."""
        ...

    async def committed(self, notification_id: str, at: int) -> None:
        """Once that transaction committed; never fails for a queue outage."""
        ...

    async def requeue(self, notification_id: str) -> None:
        """Make sure the notification's stored jobs are queued."""
        ...


# Why a provider kind would refuse a message (size, a field), or None; provided by providers.
PayloadCheck = Callable[[str, Message], PayloadProblem | None]


def request_hash(data: NotificationInput) -> str:
    """Hex SHA-256 of the request's canonical form: its parsed fields (defaults included)
    as JSON with sorted keys, so whitespace, key order and a default spelled out do not
    make two requests differ. The idempotency key itself is left out: it may come in the
    body or in the header."""
    fields = data.model_dump(mode="json", exclude={"idempotency_key"})
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class Accepted:
    notification: Notification
    created: bool
    # Users, aliases or topics the audience named that reach nobody.
    unknown: tuple[str, ...] = ()
    # The tenant's send limits this send met (for the RateLimit headers).
    limits: tuple[Verdict, ...] = ()


@dataclass(frozen=True, slots=True)
class Status:
    notification: Notification
    by_state: dict[str, int]
    by_provider: dict[str, dict[str, int]]
    #: Deliveries not sent, by reason (core/suppression.py); also in ``by_state``.
    suppressed: dict[str, int] = field(default_factory=dict)


class NotificationService:
    """Send, read, list deliveries of, and cancel notifications."""

    def __init__(
        self,
        store: NotificationStorePort,
        registry: Registry,
        start_fanout: StartFanout,
        payload_check: PayloadCheck,
        *,
        actions: ActionStorePort,
        audit: AuditLog,
        default_ttl: int,
        max_ttl: int,
        max_schedule_ms: int = 365 * 86_400_000,
        default_records: DeliveryRecords = DeliveryRecords.ALL,
        limits: RateLimits | None = None,
        types: TypeCatalog | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        # Acceptance times (and so expiries and local-time deliveries) are read on it.
        self.clock = clock
        self.registry = registry
        self.start_fanout = start_fanout
        self.payload_check = payload_check
        self.actions = actions
        self.audit = audit
        self.default_ttl = default_ttl
        self.max_ttl = max_ttl
        self.max_schedule_ms = max_schedule_ms
        self.default_records = default_records
        self.limits = limits
        self.types = types

    async def accept(
        self,
        caller: Caller,
        tenant: Tenant,
        data: NotificationInput,
        *,
        own: bool = False,
        template_data: dict[str, Any] | None = None,
    ) -> Accepted:
        """Accept ``data``; ``own`` for pushgate's own pushes (the notices that follow an
        answer to an action), which an app's rule that every send names a type spares;
        ``template_data`` what the type's template reads as ``data`` (a trigger's event)."""
        caller.require(Scope.SEND)
        app = await self.registry.app(tenant, data.app)
        ntype = await self._type(app, data, own)
        fingerprint = request_hash(data) if data.idempotency_key else None
        if data.idempotency_key:
            earlier = await self._earlier(tenant, data.idempotency_key, fingerprint)
            if earlier is not None:
                await self._still_queued(earlier)
                return Accepted(earlier, False)
        # After the idempotency check: a repeat of an accepted send costs nothing.
        met = await self.limits.admit_send(tenant) if self.limits else ()
        now = self.clock.now_ms()
        send_at = self._send_at(data, now)
        start = max(now, send_at or now)
        given_ttl = ttl_of(ntype, data)
        ttl = min(self.default_ttl if given_ttl is None else given_ttl, self.max_ttl)
        content = data.model_dump(mode="json", exclude=_NOT_CONTENT, exclude_none=True)
        content["ttl"] = ttl  # the TTL in force, which the send path reads (0: now or never)
        content["actions"] = []
        chosen = await notification_actions.resolve(
            self.actions, app.id, action_set_of(ntype, data), data.actions
        )
        if chosen is not None:
            chosen.into(content)
        self._check_local_time(data, now, start + ttl * 1000)
        checked = content
        if ntype is not None and self.types is not None:
            typed = typed_content(ntype, self.types.compiled(ntype), data, content, template_data)
            content, checked = typed.content, typed.checked
        await self._check_payload(app.id, checked)
        providers = content.get(PROVIDERS_KEY)
        targeted = await self.store.count_audience(data.audience, tenant.id, app.id, providers)
        unknown = await self.store.unknown_people(data.audience, tenant.id, app.id)
        if self.limits:
            met += await self.limits.admit_deliveries(tenant, targeted)
        notification = Notification(
            id=new_id(),
            tenant_id=tenant.id,
            app_id=app.id,
            idempotency_key=data.idempotency_key,
            audience=stored_audience(data.audience),
            content=content,
            state=NotificationState.SCHEDULED if start > now else NotificationState.SENDING,
            targeted=targeted,
            fanout_done=False,
            send_at=send_at,
            expires_at=start + (ttl * 1000 if ttl > 0 else NOW_OR_NEVER_WINDOW_MS),
            created_at=now,
            updated_at=now,
            records=data.records or self.default_records,
            request_hash=fingerprint,
            type_key=data.type,
        )
        try:
            within = self.start_fanout.within(notification.id, start)
            await self.store.insert_notification(notification, within)
        except Conflict:
            # The same key raced in from another request: answer with the one stored.
            earlier = await self._earlier(tenant, data.idempotency_key or "", fingerprint)
            if earlier is None:
                raise
            return Accepted(earlier, False)
        await self.start_fanout.committed(notification.id, start)
        await self.audit.record(
            caller,
            AuditAction.NOTIFICATION_SEND,
            notification.id,
            tenant.id,
            app=app.name,
            audience=sorted(notification.audience),
            targeted=targeted,
        )
        return Accepted(notification, True, tuple(unknown), met)

    async def _type(self, app: App, data: NotificationInput, own: bool) -> NotificationType | None:
        """The type the send names; a send without one is refused when the app requires
        one. A disabled type is still accepted: whether it is on is decided per recipient
        at fan-out (docs/types.md)."""
        if data.type is None:
            if app.requires_type and not own:
                raise InvalidInput(
                    "type: the app requires every notification to name a notification type",
                    details={"field": "type", "reason": "required by the app"},
                )
            return None
        if self.types is None:
            raise InvalidInput(
                "type: notification types are not available here",
                details={"field": "type", "reason": "unknown notification type"},
            )
        return await self.types.for_send(app, data.type)

    def _send_at(self, data: NotificationInput, now: int) -> int | None:
        """``send_at`` in epoch ms, within :attr:`max_schedule_ms` of ``now`` either way:
        it and every time derived from it (the expiry, a retry's time) then stay years away
        from the ends of the datetime range every listing formats them in."""
        if data.send_at is None:
            return None
        send_at = int(data.send_at.timestamp() * 1000)
        if abs(send_at - now) > self.max_schedule_ms:
            days = self.max_schedule_ms // 86_400_000
            raise InvalidInput(
                f"send_at: must be within {days} days of now",
                details={"field": "send_at", "reason": f"more than {days} days from now"},
            )
        return send_at

    @staticmethod
    def _check_local_time(data: NotificationInput, now: int, expires_at: int) -> None:
        """A dated ``deliver_at_local`` must come somewhere before the notification expires
        and must not have passed everywhere already."""
        if data.deliver_at_local is None:
            return
        window = earliest_and_latest(LocalTime.parse(data.deliver_at_local))
        if window is None:
            return
        earliest, latest = window
        if latest < now:
            reason = "that date and time has passed in every time zone"
        elif earliest >= expires_at:
            reason = "that date and time comes after the notification expires (its ttl)"
        else:
            return
        raise InvalidInput(
            f"deliver_at_local: {reason}", details={"field": "deliver_at_local", "reason": reason}
        )

    async def _still_queued(self, earlier: Notification) -> None:
        """A repeat of a request whose answer the client may not have seen (the server
        died after the commit, the queue was down): make sure what its notification
        still has to do is queued, so the repeat's ``created: false`` is true to its word.
        Queueing again is harmless: the queue skips a job it holds."""
        if earlier.state in (NotificationState.SCHEDULED, NotificationState.SENDING):
            await self.start_fanout.requeue(earlier.id)

    async def _check_payload(self, app_id: str, content: dict[str, Any]) -> None:
        """Refuse what a provider the app sends with could never take, naming it."""
        kinds = [c.kind for c in await self.registry.accounts.list_credentials(app_id)]
        if not kinds:
            return  # no provider to ask: nothing to render
        for message in every_variant(content):
            for kind in kinds:
                problem = self.payload_check(kind, message)
                if problem is not None:
                    raise _refusal(kind, problem)

    async def _earlier(
        self, tenant: Tenant, key: str, fingerprint: str | None
    ) -> Notification | None:
        """The notification the key was first sent with in the window, if the request is
        the same; a different request is refused, as Stripe and the IETF Idempotency-Key
        header draft do (a key names one request, not a slot to fill)."""
        found = await self.store.by_idempotency_key(tenant.id, key)
        if found is None:
            return None
        if self.clock.now_ms() - found.created_at >= IDEMPOTENCY_WINDOW_MS:
            await self.store.release_idempotency_key(found.id)  # the key may be used again
            return None
        if found.request_hash is not None and found.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                f"idempotency key {key!r} was sent with a different request within 24 hours;"
                " use a new key for a new notification",
                details={"idempotency_key": key, "notification": found.id},
            )
        return found

    async def notification(
        self, caller: Caller, tenant: Tenant, notification_id: str
    ) -> Notification:
        caller.require(Scope.SEND)
        found = await self.store.notification(notification_id, tenant.id)
        if found is None:
            raise NotFound(
                f"notification {notification_id!r} not found",
                details={"notification": notification_id},
            )
        return found

    async def status(self, caller: Caller, tenant: Tenant, notification_id: str) -> Status:
        notification = await self.notification(caller, tenant, notification_id)
        return _status(notification, await self.store.counts(notification.id))

    async def list_notifications(
        self,
        caller: Caller,
        tenant: Tenant,
        app: str | None,
        state: NotificationState | None,
        after: str | None,
        limit: int,
    ) -> list[Status]:
        """A page of the tenant's notifications (of one app, in one state), newest first,
        each with its delivery counts."""
        caller.require(Scope.SEND)
        app_id = (await self.registry.app(tenant, app)).id if app is not None else None
        found = await self.store.list_notifications(
            tenant.id, app_id, state, after, min(limit, MAX_PAGE)
        )
        counts = await self.store.counts_of([n.id for n in found])
        return [_status(n, counts.get(n.id, [])) for n in found]

    async def deliveries(
        self,
        caller: Caller,
        tenant: Tenant,
        notification_id: str,
        state: DeliveryState | None,
        after: str | None,
        limit: int,
    ) -> list[DeliveryRecord]:
        notification = await self.notification(caller, tenant, notification_id)
        return await self.store.list_deliveries(
            notification.id, state.value if state else None, after, min(limit, MAX_PAGE)
        )

    async def cancel(self, caller: Caller, tenant: Tenant, notification_id: str) -> Status:
        """Cancel what is not yet sent; deliveries already handed to a provider stand."""
        notification = await self.notification(caller, tenant, notification_id)
        if notification.state in (NotificationState.COMPLETED, NotificationState.EXPIRED):
            raise InvalidInput(
                f"notification is already {notification.state.value}",
                details={"state": notification.state.value},
            )
        at = self.clock.now_ms()
        await self.store.finish_pending(
            notification.id, DeliveryState.CANCELED, "canceled", at, NotificationState.CANCELED
        )
        await self.audit.record(caller, AuditAction.NOTIFICATION_CANCEL, notification.id, tenant.id)
        return await self.status(caller, tenant, notification_id)


def _refusal(kind: str, problem: PayloadProblem) -> PayloadTooLarge | PayloadRefused:
    """The error that tells the sender which provider refuses what."""
    match problem:
        case TooLarge(reason=reason):
            details = {"provider": kind, "reason": reason}
            return PayloadTooLarge(f"{kind}: {reason}", details=details)
        case FieldRefused(field=field, reason=reason):
            details = {"provider": kind, "field": field, "reason": reason}
            return PayloadRefused(f"{kind}: {field}: {reason}", details=details)
        case _:
            assert_never(problem)


def _status(notification: Notification, counts: list[tuple[str, str, int]]) -> Status:
    by_state: dict[str, int] = {state.value: 0 for state in DeliveryState}
    by_provider: dict[str, dict[str, int]] = {}
    suppressed: dict[str, int] = {}
    for provider, kept_state, count in counts:
        reason = reason_of(kept_state)
        state = kept_state if reason is None else DeliveryState.SUPPRESSED.value
        if reason is not None:
            suppressed[reason] = suppressed.get(reason, 0) + count
        by_state[state] = by_state.get(state, 0) + count
        of_provider = by_provider.setdefault(provider, {})
        of_provider[state] = of_provider.get(state, 0) + count
    return Status(notification, by_state, by_provider, suppressed)
