"""What a worker makes of a stored event: the triggers it matches, their notifications
(docs/events.md, "Processing").

Each trigger fires at most once per event: its notification's ``Idempotency-Key`` is the
event's id and the trigger's, so a job run again (a worker died, a lease ran out) finds the
notification it made and makes no second one. A condition that fails on the event fails the
event, with the reason, and the other triggers still run; nothing about an event stops the
worker. A delayed trigger queues a job of its own for the time it is due; then any later
event on the same record for which ``cancel_on`` holds (any later event, without one)
cancels the send.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, assert_never

from pydantic import ValidationError

from pushgate.core.access import Caller
from pushgate.core.action_notices import system_caller
from pushgate.core.audience import TagsAudience, TopicsAudience, UsersAudience
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.conditions import ConditionFailed
from pushgate.core.event_inputs import (
    FieldRecipients,
    TagsRecipients,
    TopicRecipients,
    UnitRecipients,
    UsersRecipients,
)
from pushgate.core.models import Tenant
from pushgate.core.notification_input import NotificationInput
from pushgate.core.ports import InTransaction
from pushgate.core.record_events import EventState, EventStorePort, RecordedEvent, event_view
from pushgate.core.registry import Registry
from pushgate.core.sending import NotificationService
from pushgate.core.settings_catalog import trigger_flag_name
from pushgate.core.triggers import CompiledTrigger, TriggerCatalog, matching
from pushgate.core.type_switches import SwitchBoard
from pushgate.errors import IdempotencyKeyReused, PushgateError

log = logging.getLogger(__name__)
MINUTE_MS = 60_000
# Users one trigger may name for one event (a unit's members, a list field).
MAX_RECIPIENTS = 1000
# Throttle keys hold no recipient for audiences that are not users (a topic, tags).
EVERYONE = "*"

Audience = UsersAudience | TopicsAudience | TagsAudience


class ThrottlePort(Protocol):
    async def throttled(self, keys: Sequence[str], now: int) -> set[str]: ...
    async def hold(self, keys: Sequence[str], until: int) -> None: ...
    async def unit_members(self, tenant_id: str, unit: str, limit: int) -> list[str]: ...
    async def switches(self, tenant_id: str, name: str) -> dict[str, bool]: ...
    async def unit_parents(self, tenant_id: str) -> dict[str, str | None]: ...
    async def units_of(self, tenant_id: str, external_ids: Sequence[str]) -> dict[str, str]: ...


class DelayPort(Protocol):
    """Queues the jobs that look at an event's delayed triggers again when they are due:
    written in the transaction that stores the event's outcome, then sent on their way."""

    def delayed_within(self, event_id: str, due: Sequence[tuple[str, int]]) -> InTransaction: ...
    async def delayed_committed(self, event_id: str, due: Sequence[tuple[str, int]]) -> None: ...


@dataclass(frozen=True, slots=True)
class Resolved:
    """A trigger's recipients for one event; ``users`` is None for a topic or tags."""

    audience: Audience | None
    users: tuple[str, ...] | None
    why_none: str | None = None


def value_at(view: dict[str, Any], path: str) -> Any:
    found: Any = view
    for part in path.split("."):
        if not isinstance(found, dict) or part not in found:
            return None
        found = found[part]
    return found


def resolve(
    trigger: CompiledTrigger, view: dict[str, Any], unit_members: Sequence[str] = ()
) -> Resolved:
    """Who the trigger's recipients are for the event (a unit's members read already)."""
    rule = trigger.trigger.spec.recipients
    match rule:
        case FieldRecipients():
            found = value_at(view, rule.path)
            items = found if isinstance(found, list) else [found]
            ids = tuple(
                dict.fromkeys(str(i) for i in items if isinstance(i, str | int) and i != "")
            )
            if not ids:
                return Resolved(None, None, f"no user at {rule.path}")
            return Resolved(UsersAudience(users=list(ids[:MAX_RECIPIENTS])), ids[:MAX_RECIPIENTS])
        case UsersRecipients():
            return Resolved(UsersAudience(users=list(rule.users)), tuple(rule.users))
        case UnitRecipients():
            if not unit_members:
                return Resolved(None, None, f"unit {rule.unit!r} has no users")
            return Resolved(UsersAudience(users=list(unit_members)), tuple(unit_members))
        case TopicRecipients():
            return Resolved(TopicsAudience(topics=[rule.topic]), None)
        case TagsRecipients():
            return Resolved(TagsAudience(tags=rule.tags), None)
        case _:
            assert_never(rule)


def throttle_key(item: RecordedEvent, type_key: str, user: str) -> str:
    record = item.body.record
    return "\x1f".join((item.tenant_id, record.type, record.id, type_key, user))[:512]


class EventProcessor:
    """Runs an event's triggers (the ``event`` job), and a delayed trigger when due."""

    def __init__(
        self,
        store: EventStorePort,
        throttles: ThrottlePort,
        triggers: TriggerCatalog,
        sending: NotificationService,
        registry: Registry,
        tenant_by_id: Callable[[str], Awaitable[Tenant | None]],
        delays: DelayPort,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.throttles = throttles
        self.triggers = triggers
        self.sending = sending
        self.registry = registry
        self.tenant_by_id = tenant_by_id
        self.delays = delays
        self.clock = clock

    async def run(self, event_id: str, trigger_id: str | None = None) -> None:
        item = await self.store.event(event_id)
        tenant = None if item is None else await self.tenant_by_id(item.tenant_id)
        if item is None or tenant is None:
            return  # purged, or its tenant deleted: nothing to do
        if trigger_id is None:
            if item.state is EventState.PENDING:  # else a run before this one finished it
                await self._process(tenant, item)
        else:
            await self._due(tenant, item, trigger_id)

    async def _process(self, tenant: Tenant, item: RecordedEvent) -> None:
        view = event_view(item)
        body = item.body
        app_id = None
        if body.app is not None:
            try:
                app_id = (await self.registry.app(tenant, body.app)).id
            except PushgateError as exc:  # deleted since the event was stored
                await self.store.set_outcome(
                    item.id, EventState.FAILED, [], str(exc), self.clock.now_ms()
                )
                return
        found = matching(
            await self.triggers.of_tenant(tenant.id),
            body.name,
            body.record.type,
            None if body.operation is None else body.operation.value,
            app_id,
        )
        outcome: list[dict[str, Any]] = []
        failures: list[str] = []
        delayed: list[tuple[str, int]] = []
        for trigger in found:
            entry: dict[str, Any] = {"trigger": trigger.trigger.key, "id": trigger.trigger.id}
            outcome.append(entry)
            try:
                holds = trigger.condition is None or trigger.condition.holds(view)
            except ConditionFailed as exc:
                entry.update(matched=False, error=exc.message)
                failures.append(f"trigger {trigger.trigger.key!r}: {exc.message}")
                continue
            entry["matched"] = holds
            if not holds:
                entry["reason"] = "condition false"
                continue
            delay = trigger.trigger.spec.delay_minutes
            if delay is not None:
                due = item.created_at + delay * MINUTE_MS
                entry["delayed_until"] = due
                delayed.append((trigger.trigger.id, due))
                continue
            entry.update(await self._fire(tenant, item, trigger, view))
        reason = "; ".join(failures) or (None if found else "no trigger takes this event")
        state = EventState.FAILED if failures else EventState.PROCESSED
        # The delayed jobs commit with the outcome that says ``delayed_until``: one due
        # already (the event processed late) may be taken by another worker the moment
        # it is queued and must find that entry. Stored once: a run of this job after a
        # crash past the commit, or beside another run, writes nothing and queues no job
        # a second time (the queue refuses a job id it holds).
        within = self.delays.delayed_within(item.id, delayed) if delayed else None
        now = self.clock.now_ms()
        if await self.store.set_outcome(item.id, state, outcome, reason, now, within) and delayed:
            await self.delays.delayed_committed(item.id, delayed)

    async def _due(self, tenant: Tenant, item: RecordedEvent, trigger_id: str) -> None:
        trigger = await self.triggers.by_id(trigger_id)
        index, entry = next(
            ((i, dict(o)) for i, o in enumerate(item.outcome) if o.get("id") == trigger_id),
            (-1, None),
        )
        if trigger is None or entry is None or "delayed_until" not in entry:
            return
        if "notification" in entry or "cancelled_by" in entry:
            return  # done by an earlier run of this job
        later = await self.store.later_events(item, self.clock.now_ms())
        for other in later:
            try:
                cancels = trigger.cancel_on is None or trigger.cancel_on.holds(event_view(other))
            except ConditionFailed:
                cancels = False  # a later event cancel_on cannot judge does not cancel
            if cancels:
                entry["cancelled_by"] = other.id
                break
        else:
            entry.update(await self._fire(tenant, item, trigger, event_view(item)))
        # This trigger's entry alone: another delayed trigger of the event may finish now.
        await self.store.set_trigger_outcome(item.id, index, trigger_id, entry)

    async def _switched(
        self, tenant: Tenant, trigger: CompiledTrigger, resolved: Resolved
    ) -> Resolved:
        """``resolved`` without the recipients ``triggers.<key>.enabled`` switches off: the
        nearest value up a user's unit chain, then the global value (docs/events.md). A
        topic or tags audience is judged by the global value alone."""
        flags = await self.throttles.switches(tenant.id, trigger_flag_name(trigger.trigger.key))
        if not flags or resolved.audience is None:
            return resolved
        board = SwitchBoard(await self.throttles.unit_parents(tenant.id), flags, True)
        if resolved.users is None:
            if board.at(None).enabled:
                return resolved
            return Resolved(None, None, "switched off (triggers setting)")
        units = await self.throttles.units_of(tenant.id, resolved.users)
        kept = tuple(u for u in resolved.users if board.at(units.get(u)).enabled)
        if not kept:
            return Resolved(None, None, "switched off for every recipient (triggers setting)")
        return Resolved(UsersAudience(users=list(kept)), kept)

    async def _fire(
        self, tenant: Tenant, item: RecordedEvent, trigger: CompiledTrigger, view: dict[str, Any]
    ) -> dict[str, Any]:
        """Send the trigger's type to its recipients; what happened, for the outcome."""
        spec = trigger.trigger.spec
        members: list[str] = []
        if isinstance(spec.recipients, UnitRecipients):
            members = await self.throttles.unit_members(
                tenant.id, spec.recipients.unit, MAX_RECIPIENTS
            )
        resolved = await self._switched(tenant, trigger, resolve(trigger, view, members))
        if resolved.audience is None:
            return {"reason": resolved.why_none}
        audience = resolved.audience
        held: list[str] = []
        if spec.throttle_minutes is not None:
            people = resolved.users or (EVERYONE,)
            keys = {throttle_key(item, spec.type, p): p for p in people}
            now = self.clock.now_ms()
            quiet = await self.throttles.throttled(list(keys), now)
            left = [p for k, p in keys.items() if k not in quiet]
            if not left:
                return {"reason": "throttled", "throttled": len(keys)}
            if resolved.users is not None:
                audience = UsersAudience(users=left)
            held = [k for k, p in keys.items() if p in left]
        app_name = await self.registry.accounts.app_name(trigger.trigger.app_id)
        if app_name is None:
            return {"reason": "the trigger's app is gone"}
        try:
            data = NotificationInput(
                app=app_name,
                type=spec.type,
                audience=audience,
                data=item.body.data,
                idempotency_key=f"event-{item.id}-{trigger.trigger.id}",
            )
        except ValidationError as exc:  # the event's data beyond a notification's 4 KiB
            problem = exc.errors()[0]
            field = ".".join(str(p) for p in problem["loc"])
            return {"reason": f"the notification cannot be made: {field}: {problem['msg']}"}
        caller: Caller = system_caller(tenant.id)
        try:
            accepted = await self.sending.accept(
                caller, tenant, data, template_data={**item.body.data, "event": view}
            )
        except IdempotencyKeyReused as exc:
            # Sent by an earlier run of this job before a throttle changed the audience.
            return {"notification": exc.details.get("notification")}
        except PushgateError as exc:  # the type gone, a template failing on this event
            return {"reason": str(exc)}
        if held:
            until = self.clock.now_ms() + (spec.throttle_minutes or 0) * MINUTE_MS
            await self.throttles.hold(held, until)
        return {
            "notification": accepted.notification.id,
            "targeted": accepted.notification.targeted,
        }
