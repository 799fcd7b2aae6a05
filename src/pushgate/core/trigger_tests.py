"""A trigger run against a sample event: whether it matches, who would receive, and the
text its type's template makes; nothing is stored or sent (docs/events.md, "Testing")."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from pushgate.core.access import Caller
from pushgate.core.conditions import ConditionFailed
from pushgate.core.event_inputs import TriggerTestInput, UnitRecipients
from pushgate.core.event_processing import MAX_RECIPIENTS, ThrottlePort, resolve
from pushgate.core.ids import new_id
from pushgate.core.models import Tenant
from pushgate.core.notification_types import TypeCatalog, refusal
from pushgate.core.record_events import EventState, RecordedEvent, event_view
from pushgate.core.templates import TemplateFailure, render, sample_context
from pushgate.core.triggers import TriggerCatalog, matching


class TriggerTester:
    def __init__(self, triggers: TriggerCatalog, types: TypeCatalog, people: ThrottlePort) -> None:
        self.triggers = triggers
        self.types = types
        self.people = people

    async def test(
        self, caller: Caller, tenant: Tenant, app_name: str, key: str, data: TriggerTestInput
    ) -> dict[str, Any]:
        app, trigger = await self.triggers.app_trigger(caller, tenant, app_name, key)
        body = data.event
        created = body.occurred_at.astimezone(UTC) if body.occurred_at else None
        at = 0 if created is None else int(created.timestamp() * 1000)
        sample = RecordedEvent("sample", tenant.id, None, None, body, EventState.PENDING, at)
        view = event_view(sample) | {"id": f"sample-{new_id()}"}
        operation = None if body.operation is None else body.operation.value
        spec = trigger.trigger.spec
        if not matching([trigger], body.name, body.record.type, operation, None):
            why = "disabled" if not spec.enabled else "its events, record type or operations"
            return {"matched": False, "reason": f"the trigger does not take this event ({why})"}
        try:
            if trigger.condition is not None and not trigger.condition.holds(view):
                return {"matched": False, "reason": "condition false"}
        except ConditionFailed as exc:
            return {"matched": False, "reason": f"condition failed: {exc.message}"}
        members: list[str] = []
        if isinstance(spec.recipients, UnitRecipients):
            members = await self.people.unit_members(
                tenant.id, spec.recipients.unit, MAX_RECIPIENTS
            )
        resolved = resolve(trigger, view, members)
        out: dict[str, Any] = {"matched": True, "delayed_minutes": spec.delay_minutes}
        if resolved.audience is None:
            out["reason"] = resolved.why_none
        else:
            out["recipients"] = resolved.audience.model_dump(mode="json", exclude={"kind"})
        ntype = await self.types.for_send(app, spec.type)
        template = self.types.compiled(ntype)
        if template is not None:
            context_data = {**body.data, "event": view}
            context = (
                sample_context(context_data) if template.uses_recipient else {"data": context_data}
            )
            try:
                out["rendered"] = render(template, context)
            except TemplateFailure as exc:
                raise refusal(exc) from exc
        return out
