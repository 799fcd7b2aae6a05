"""Devices report what became of their pushes: received, opened, dismissed, an action
tapped (docs/reports.md, "Reporting interactions").

A device holds no API key. Each reported event names its notification and delivery, as
the push's identity gave them, with the push's interaction token
(``core/interaction_tokens.py``), checked without a lookup. The batch names the app, as the
identity did, and every event must be of that app's pushes. In order, each refusing the
whole batch with its own error (statuses in ``api/errors.py``):

1. every token (401 ``interaction_token_invalid`` naming the event); an expired one is not
   refused but dropped and counted ``expired``: a device that was offline for long sends
   a backlog it cannot tell apart;
2. the devices' buckets, by events (429);
3. the notifications, read once per batch and kept a while (what is read never changes):
   one that no longer exists makes its events ``late``, answered 200 like any other;
4. the app: each notification's must be the one the batch names (403 ``app_mismatch``;
   404 when the notification's tenant has no app of that name); then the app's bucket,
   by events (429);
5. an ``action`` must name an action the notification offered (422).

An event may instead name its notification and ``device``, under the app's user token
(``Pushgate-User-Token``, as the device routes take it; core/registry.py): once the app
is known (step 4), the token must prove a user of the app (401), every device named must
be that user's device of the app (403), and the notification must have had a delivery to
it (404); that delivery is the one recorded, and the device's bucket is spent as a push
token's would be.

Then the events are recorded, each once per (delivery, event, action): a repeat is
counted ``duplicate``, not again. The counts on the notification and the app's hourly
series move in the same transaction (``core/engagement.py``).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, assert_never

from pushgate.core import interaction_tokens
from pushgate.core.clock import Clock
from pushgate.core.engagement import InteractionEvent, RecordedInteraction
from pushgate.core.interaction_forwarding import (
    ForwardBatch,
    ForwardingSwitch,
    ForwardQueuePort,
    forwarder,
)
from pushgate.core.interaction_tokens import InteractionClaims, InteractionRefused
from pushgate.core.models import Tenant
from pushgate.core.notifications import Notification
from pushgate.core.rate_limits import RateLimits
from pushgate.core.registry import Registry
from pushgate.core.secretbox import SecretBox
from pushgate.core.ttlcache import TtlCache
from pushgate.errors import (
    AppMismatch,
    Forbidden,
    InteractionTokenInvalid,
    InvalidInput,
    NotFound,
    Unauthenticated,
)

MAX_EVENTS = 100
# What a report reads of a notification never changes once it is sent; a notification
# deleted meanwhile is still found out, in the transaction that records (``late``).
FACTS_CACHE_SECONDS = 10.0


# A tuple, not a frozen dataclass: one is built per reported event, in a third of the time.
class Report(NamedTuple):
    """One event as a device reports it, with its push's interaction token."""

    notification: str
    delivery: str
    token: str
    event: InteractionEvent
    action_key: str | None
    at: int  # epoch ms, the device's clock


# A tuple, not a frozen dataclass: one is built per reported event, in a third of the time.
class UserReport(NamedTuple):
    """One event reported under the app's user token (``Pushgate-User-Token``): the
    notification and the device name the delivery, and the device must be the user's."""

    notification: str
    device: str
    event: InteractionEvent
    action_key: str | None
    at: int  # epoch ms, the device's clock


AnyReport = Report | UserReport


@dataclass(frozen=True, slots=True)
class NotificationFacts:
    """What reports read of a notification."""

    id: str
    tenant_id: str
    app_id: str
    type_key: str  # "" without a type
    created_at: int
    starts_at: int  # when it was due: created, or its send_at
    action_keys: frozenset[str]

    @classmethod
    def of(cls, notification: Notification) -> NotificationFacts:
        actions = notification.content.get("actions") or []
        return cls(
            notification.id,
            notification.tenant_id,
            notification.app_id,
            notification.type_key or "",
            notification.created_at,
            max(notification.created_at, notification.send_at or 0),
            frozenset(str(item.get("key")) for item in actions),
        )


# A tuple, not a frozen dataclass: one is built per reported event, in a third of the time.
class InteractionRow(NamedTuple):
    """One event to record: its key, who reported it, and what it moves."""

    delivery_id: str
    device_id: str
    recorded: RecordedInteraction

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.delivery_id, self.recorded.event.value, self.recorded.action_key)


@dataclass(frozen=True, slots=True)
class Stored:
    """What the store made of a batch: the rows new to it, and how many were of
    notifications gone by then."""

    new: list[InteractionRow]
    gone: int


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    """The answer to a batch: every event is one of these."""

    recorded: int
    duplicates: int
    late: int
    expired: int


class InteractionStorePort(Protocol):
    async def deliveries_of(
        self, notification_id: str, device_ids: Sequence[str]
    ) -> dict[str, str]:
        """The notification's delivery to each device that has one: device id → delivery id."""
        ...

    async def record(
        self, rows: Sequence[InteractionRow], now: int, on_new: OnNew | None = None
    ) -> Stored:
        """Insert the rows not yet recorded, and move the counts by those, in one
        transaction; rows of notifications that no longer exist are left out (``gone``).
        ``on_new`` is called with the new rows within that transaction, if any are."""
        ...


# Writes to make with a batch's new rows, in the transaction that records them.
OnNew = Callable[[Any, list[InteractionRow]], Awaitable[None]]


class InteractionMetricsPort(Protocol):
    def interactions(self, tenant_id: str, app_id: str, event: str, n: int) -> None: ...

    def late_interactions(self, n: int) -> None: ...


class Interactions:
    """Checks and records batches of reported interactions."""

    def __init__(
        self,
        box: SecretBox,
        store: InteractionStorePort,
        notification: Callable[[str], Awaitable[Notification | None]],
        registry: Registry,
        tenants: Callable[[str], Awaitable[Tenant | None]],
        limits: RateLimits,
        metrics: InteractionMetricsPort,
        *,
        clock: Clock,
        forwards: ForwardQueuePort | None = None,
        forwarding: ForwardingSwitch | None = None,
    ) -> None:
        """``forwards`` and ``forwarding`` (whether a tenant forwards its interactions):
        where forwarded batches go (core/interaction_forwarding.py); none without them."""
        self.box = box
        self.store = store
        self.notification = notification
        self.registry = registry
        self.tenants = tenants
        self.limits = limits
        self.metrics = metrics
        self.clock = clock
        self.forwards = forwards
        self.forwarding = forwarding
        self._tokens = interaction_tokens.Reader(box)
        self._facts: TtlCache[str, NotificationFacts] = TtlCache(
            FACTS_CACHE_SECONDS, clock=clock.now
        )

    async def report(
        self, app_name: str, events: Sequence[AnyReport], user_token: str | None = None
    ) -> ReportOutcome:
        now = int(self.clock.now() * 1000)
        claims = self._verified(events, now // 1000)
        expired = sum(
            1 for i, event in enumerate(events) if isinstance(event, Report) and i not in claims
        )
        by_device = Counter(claim.device_id for claim in claims.values())
        for device_id, n in sorted(by_device.items()):
            await self.limits.admit_interactions(device_id, n)
        named = {
            e.notification for i, e in enumerate(events) if i in claims or isinstance(e, UserReport)
        }
        facts: dict[str, NotificationFacts] = {}
        for nid in sorted(named):
            found = await self._facts.get(nid, functools.partial(self._read_facts, nid))
            if found is not None:
                facts[nid] = found
        apps = await self._check_apps(app_name, facts)
        if any(isinstance(event, UserReport) for event in events):
            await self._users_claims(events, facts, apps, user_token, claims)
        rows = [
            self._row(i, event, claims[i], facts[event.notification], now)
            for i, event in enumerate(events)
            if i in claims and event.notification in facts
        ]
        late = len(events) - expired - len(rows)
        for app_id, n in sorted(Counter(row.recorded.app_id for row in rows).items()):
            await self.limits.admit_app_interactions(app_id, n)
        forwarded: list[ForwardBatch] = []
        on_new = None
        if self.forwards is not None and self.forwarding is not None:
            tenant_of = {nid: found.tenant_id for nid, found in facts.items()}
            on_new = await forwarder(self.forwards, self.forwarding, tenant_of, now, forwarded)
        stored = await self.store.record(_unique(rows), now, on_new)
        if forwarded and self.forwards is not None:
            await self.forwards.committed(forwarded)
        late += stored.gone
        for (tenant_id, app_id, event), n in Counter(
            (facts[row.recorded.notification_id].tenant_id, row.recorded.app_id, row.recorded.event)
            for row in stored.new
        ).items():
            self.metrics.interactions(tenant_id, app_id, event.value, n)
        if late:
            self.metrics.late_interactions(late)
        duplicates = len(events) - expired - late - len(stored.new)
        return ReportOutcome(len(stored.new), duplicates, late, expired)

    async def _users_claims(
        self,
        events: Sequence[AnyReport],
        facts: dict[str, NotificationFacts],
        apps: dict[str, str],
        user_token: str | None,
        claims: dict[int, InteractionClaims],
    ) -> None:
        """Claims for the events reported under the user token, added to ``claims``: the
        token must prove a user of the app, every device named must be that user's, and
        each must have had a delivery of its notification. Events of notifications gone
        are left out (``late``)."""
        if not user_token:
            raise Unauthenticated(
                "events naming a device need the app's user token (Pushgate-User-Token header)",
                details={"header": "Pushgate-User-Token"},
            )
        wanted = [
            (i, event)
            for i, event in enumerate(events)
            if isinstance(event, UserReport)
            and event.notification in facts
            and facts[event.notification].tenant_id in apps
        ]
        users: dict[str, str] = {}  # app id → the user the token proves
        owned: set[str] = set()
        for index, event in wanted:
            found = facts[event.notification]
            app_id = apps[found.tenant_id]
            if app_id not in users:
                subject = await self.registry.user_of_token(app_id, user_token)
                if subject is None:
                    raise Unauthenticated(
                        "this app takes no user tokens: report with the pushes' tokens",
                        details={"header": "Pushgate-User-Token"},
                    )
                users[app_id] = subject
            if event.device not in owned:
                if not await self.registry.is_users_device(
                    found.tenant_id, app_id, event.device, users[app_id]
                ):
                    raise Forbidden(
                        "the device is not the user token's user's",
                        details={"field": f"events[{index}].device", "device": event.device},
                    )
                owned.add(event.device)
        by_notification: dict[str, set[str]] = {}
        for _, event in wanted:
            by_notification.setdefault(event.notification, set()).add(event.device)
        deliveries = {
            nid: await self.store.deliveries_of(nid, sorted(devices))
            for nid, devices in sorted(by_notification.items())
        }
        for index, event in wanted:
            delivery = deliveries[event.notification].get(event.device)
            if delivery is None:
                raise NotFound(
                    "the notification has no delivery to this device",
                    details={"field": f"events[{index}].device", "device": event.device},
                )
            claims[index] = InteractionClaims(delivery, event.notification, event.device, 0)
        for device_id, n in sorted(Counter(event.device for _, event in wanted).items()):
            await self.limits.admit_interactions(device_id, n)

    async def _read_facts(self, notification_id: str) -> NotificationFacts | None:
        found = await self.notification(notification_id)
        return None if found is None else NotificationFacts.of(found)

    def _verified(
        self, events: Sequence[AnyReport], now_seconds: int
    ) -> dict[int, InteractionClaims]:
        """The claims of each event reported with a valid token, by its index (an expired
        one has none); the batch is refused at the first token malformed or forged."""
        claims: dict[int, InteractionClaims] = {}
        for index, event in enumerate(events):
            match event:
                case Report():
                    read = self._tokens.read(
                        event.token, event.delivery, event.notification, now_seconds
                    )
                case UserReport():
                    continue  # its device and user are checked once its app is known
                case _:
                    assert_never(event)
            if isinstance(read, InteractionRefused):
                if read.reason != "expired":
                    raise InteractionTokenInvalid(
                        "the interaction token is not valid for this delivery",
                        details={"field": f"events[{index}].token", "reason": "invalid"},
                    )
                continue
            claims[index] = read
        return claims

    async def _check_apps(
        self, app_name: str, facts: dict[str, NotificationFacts]
    ) -> dict[str, str]:
        """The app's id in each tenant of the notifications, all of which must be its."""
        apps: dict[str, str] = {}
        for tenant_id in sorted({found.tenant_id for found in facts.values()}):
            tenant = await self.tenants(tenant_id)
            if tenant is None:
                continue
            app = await self.registry.app(tenant, app_name)  # 404 when it has none such
            apps[tenant_id] = app.id
            for found in facts.values():
                if found.tenant_id == tenant_id and found.app_id != app.id:
                    raise AppMismatch(
                        f"a reported push is not of the app {app_name!r}",
                        details={"app": app_name, "notification": found.id},
                    )
        return apps

    def _row(
        self,
        index: int,
        event: AnyReport,
        claim: InteractionClaims,
        facts: NotificationFacts,
        now: int,
    ) -> InteractionRow:
        action_key = ""
        if event.event is InteractionEvent.ACTION:
            if event.action_key not in facts.action_keys:
                raise InvalidInput(
                    f"the notification offers no action {event.action_key!r}",
                    details={"field": f"events[{index}].action_key"},
                )
            action_key = event.action_key
        # A device's clock may be off: what it says is held within the notification's life.
        at = min(max(event.at, facts.created_at), now)
        recorded = RecordedInteraction(
            facts.id,
            facts.app_id,
            facts.type_key,
            event.event,
            action_key,
            at,
            at - facts.starts_at,
        )
        return InteractionRow(claim.delivery_id, claim.device_id, recorded)


def _unique(rows: list[InteractionRow]) -> list[InteractionRow]:
    """The first of each (delivery, event, action) a batch names twice."""
    seen: dict[tuple[str, str, str], InteractionRow] = {}
    for row in rows:
        seen.setdefault(row.key, row)
    return list(seen.values())
