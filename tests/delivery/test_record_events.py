"""Record events through triggers to devices (the webhook receiver simulator), on every
database and queue: each recipient rule, the event as template data, once per trigger and
event however often the job runs, throttles and delayed sends cancelled by a later event
on the injected clock, and a condition failing at run time (docs/events.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from pushgate.cli.runtime import OPERATOR
from pushgate.core.clock import ManualClock
from pushgate.core.event_inputs import EventInput
from pushgate.core.event_processing import EventProcessor
from pushgate.core.ports import InTransaction
from pushgate.delivery.jobs import RecordEventJobs
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services
from tests.api.expect import ok
from tests.delivery.conftest import register, work_through

TEMPLATE = {
    "title": "{{ data.event.record.id }} assigned",
    "body": "{{ data.event.record.fields.short_description }} (by {{ data.event.actor }})",
}


def incident(**extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "name": "incident.assigned",
        "operation": "update",
        "record": {
            "type": "incident",
            "id": "INC0042",
            "fields": {
                "priority": 1,
                "assigned_to": "alice",
                "watchers": ["bob", "carol"],
                "short_description": "Printer on fire",
            },
        },
        "changes": {"assigned_to": {"old": None, "new": "alice"}},
        "actor": "dave",
    }
    event.update(extra)
    return event


async def setup(client: httpx.AsyncClient, app: str, sim: WebhookSimulator) -> None:
    ok(
        await client.post(f"/v1/apps/{app}/types", json={"key": "assigned", "template": TEMPLATE}),
        201,
    )
    ok(await client.post("/v1/units", json={"key": "desk", "name": "Desk"}), 201)
    for user, extra in {
        "alice": {"tags": ["oncall"]},
        "bob": {"topics": ["incidents"]},
        "carol": {},
        "erin": {},
    }.items():
        await register(client, app, f"{sim.base_url}/hook/{user}", user=user, **extra)
    ok(await client.put("/v1/users/erin", json={"unit": "desk"}))


async def trigger(client: httpx.AsyncClient, app: str, **spec: Any) -> dict[str, Any]:
    body = {"key": "assigned", "events": ["incident.assigned"], "type": "assigned", **spec}
    answer = await client.post(f"/v1/apps/{app}/triggers", json=body)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def send_event(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    answer = await client.post("/v1/events", json=body)
    assert answer.status_code == 202, answer.text
    event_id: str = answer.json()["id"]
    return event_id


def hooks(sim: WebhookSimulator) -> list[str]:
    return sorted(r.token for r in sim.all_received())


@pytest.mark.parametrize(
    ("recipients", "reached"),
    [
        ({"kind": "field", "path": "record.fields.assigned_to"}, ["/hook/alice"]),
        ({"kind": "field", "path": "record.fields.watchers"}, ["/hook/bob", "/hook/carol"]),
        ({"kind": "users", "users": ["carol"]}, ["/hook/carol"]),
        ({"kind": "unit", "unit": "desk"}, ["/hook/erin"]),
        ({"kind": "topic", "topic": "incidents"}, ["/hook/bob"]),
        ({"kind": "tags", "tags": "oncall"}, ["/hook/alice"]),
    ],
)
async def test_an_event_reaches_the_recipients_of_each_rule_with_the_event_in_the_text(
    services: Services,
    client: httpx.AsyncClient,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    recipients: dict[str, Any],
    reached: list[str],
) -> None:
    await setup(client, webhook_app, webhook_sim)
    await trigger(
        client, webhook_app, recipients=recipients, condition="event.record.fields.priority <= 2"
    )
    event_id = await send_event(client, incident())
    await work_through(services)
    assert hooks(webhook_sim) == reached
    message = webhook_sim.all_received()[0].body["data"]
    assert message["title"] == "INC0042 assigned"
    assert message["body"] == "Printer on fire (by dave)"
    shown = ok(await client.get(f"/v1/events/{event_id}"))
    assert shown["state"] == "processed"
    [entry] = shown["triggers"]
    assert entry["trigger"] == "assigned"
    assert entry["matched"] is True
    notification = ok(await client.get(f"/v1/notifications/{entry['notification']}"))
    assert notification["type"] == "assigned"


async def test_a_false_condition_sends_nothing_and_says_why(
    services: Services, client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await setup(client, webhook_app, webhook_sim)
    await trigger(
        client,
        webhook_app,
        recipients={"kind": "field", "path": "record.fields.assigned_to"},
        condition="event.record.fields.priority > 3",
    )
    unmatched = await send_event(client, incident())
    other = await send_event(client, incident(name="incident.closed"))
    await work_through(services)
    assert hooks(webhook_sim) == []
    [entry] = ok(await client.get(f"/v1/events/{unmatched}"))["triggers"]
    assert (entry["matched"], entry["reason"]) == (False, "condition false")
    none = ok(await client.get(f"/v1/events/{other}"))
    assert (none["triggers"], none["reason"]) == ([], "no trigger takes this event")


async def test_a_condition_failing_at_run_time_fails_the_event_not_the_worker(
    services: Services, client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await setup(client, webhook_app, webhook_sim)
    await trigger(
        client,
        webhook_app,
        recipients={"kind": "users", "users": ["carol"]},
        condition="event.record.fields.state == 'new'",
    )
    failing = await send_event(client, incident())
    fine = incident()
    fine["record"]["fields"]["state"] = "new"
    passing = await send_event(client, fine)
    await work_through(services)
    failed = ok(await client.get(f"/v1/events/{failing}"))
    assert failed["state"] == "failed"
    assert "trigger 'assigned'" in failed["reason"]
    assert '"state"' in failed["reason"]
    assert ok(await client.get(f"/v1/events/{passing}"))["state"] == "processed"
    assert hooks(webhook_sim) == ["/hook/carol"]


async def test_each_trigger_fires_once_per_event_however_often_its_job_runs(
    services: Services, client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    """The job queued again (the reconciler, a lease run out) runs the triggers again; the
    notification's key (event and trigger) makes it find the one it made."""
    await setup(client, webhook_app, webhook_sim)
    await trigger(client, webhook_app, recipients={"kind": "users", "users": ["carol"]})
    event_id = await send_event(client, incident())
    await work_through(services)
    first = ok(await client.get(f"/v1/events/{event_id}"))["triggers"][0]["notification"]
    processor = services.event_processor_at(services.clock)
    await processor.run(event_id)
    await work_through(services)
    again = ok(await client.get(f"/v1/events/{event_id}"))["triggers"][0]["notification"]
    assert again == first
    assert hooks(webhook_sim) == ["/hook/carol"]


async def test_an_idempotency_key_records_an_event_once(
    services: Services, client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await setup(client, webhook_app, webhook_sim)
    await trigger(client, webhook_app, recipients={"kind": "users", "users": ["carol"]})
    headers = {"Idempotency-Key": "inc-42-assigned"}
    first = await client.post("/v1/events", json=incident(), headers=headers)
    repeat = await client.post("/v1/events", json=incident(), headers=headers)
    assert (first.status_code, repeat.status_code) == (202, 200)
    assert repeat.json() == {**first.json(), "created": False}
    other = await client.post("/v1/events", json=incident(actor="zed"), headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    await work_through(services)
    assert hooks(webhook_sim) == ["/hook/carol"]


async def test_a_batch_is_stored_whole_and_each_event_processed(
    services: Services, client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await setup(client, webhook_app, webhook_sim)
    await trigger(client, webhook_app, recipients={"kind": "field", "path": "actor"})
    batch = [incident(actor=user) for user in ("alice", "bob", "carol")]
    answer = await client.post("/v1/events:batch", json={"events": batch})
    assert answer.status_code == 202, answer.text
    assert [item["created"] for item in answer.json()["items"]] == [True] * 3
    await work_through(services)
    assert hooks(webhook_sim) == ["/hook/alice", "/hook/bob", "/hook/carol"]


async def test_a_throttle_lets_one_through_per_record_and_type_per_period(
    services: Services, client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await setup(client, webhook_app, webhook_sim)
    await trigger(
        client,
        webhook_app,
        recipients={"kind": "field", "path": "record.fields.watchers"},
        throttle_minutes=10,
    )
    clock = ManualClock()
    await send_event(client, incident())
    await work_through(services, clock=clock)
    assert hooks(webhook_sim) == ["/hook/bob", "/hook/carol"]
    clock.advance(5 * 60)
    held = await send_event(client, incident())
    other_record = incident()
    other_record["record"]["id"] = "INC0043"
    await send_event(client, other_record)
    await work_through(services, clock=clock)
    [entry] = ok(await client.get(f"/v1/events/{held}"))["triggers"]
    assert entry["reason"] == "throttled"
    assert len(webhook_sim.all_received()) == 4  # only the other record's two
    clock.advance(6 * 60)
    await send_event(client, incident())
    await work_through(services, clock=clock)
    assert len(webhook_sim.all_received()) == 6


async def test_a_delayed_send_is_cancelled_by_a_later_event_and_sent_without_one(
    services: Services, client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    """ "Still unassigned after 10 minutes": the event of INC0042 is followed by its
    assignment, INC0043's by nothing. The events are stamped 11 minutes ago (the queue
    keeps real time), so the delayed jobs are due when the worker runs."""
    await setup(client, webhook_app, webhook_sim)
    await trigger(
        client,
        webhook_app,
        events=["incident.created"],
        recipients={"kind": "users", "users": ["carol"]},
        delay_minutes=10,
        cancel_on='event.name == "incident.assigned"',
    )
    then = ManualClock(time.time() - 11 * 60)
    log = services.events_at(then)
    who = OPERATOR
    tenant = await services.access.tenant_for(who, None)
    created = incident(name="incident.created")
    cancelled = (await log.record(who, tenant, EventInput.model_validate(created))).event
    alone = dict(created, record={**created["record"], "id": "INC0043"})
    sent = (await log.record(who, tenant, EventInput.model_validate(alone))).event
    then.advance(60)
    await log.record(who, tenant, EventInput.model_validate(incident()))
    await work_through(services)
    await work_through(services)  # the delayed jobs queued by the first run, due already
    first = ok(await client.get(f"/v1/events/{cancelled.id}"))["triggers"][0]
    assert "cancelled_by" in first
    second = ok(await client.get(f"/v1/events/{sent.id}"))["triggers"][0]
    assert "notification" in second
    assert hooks(webhook_sim) == ["/hook/carol"]


class TakenAtOnce:
    """The delayed jobs' queue as a second worker sees it when an event is processed
    after its delay has passed: the job is due, so it runs the moment it is queued."""

    def __init__(self) -> None:
        self.processor: EventProcessor | None = None
        self.ran = 0

    def delayed_within(self, event_id: str, due: Sequence[tuple[str, int]]) -> InTransaction:
        async def nothing(connection: Any) -> None:
            return None

        return nothing

    async def delayed_committed(self, event_id: str, due: Sequence[tuple[str, int]]) -> None:
        assert self.processor is not None
        for trigger_id, _at in due:
            self.ran += 1
            await self.processor.run(event_id, trigger_id)


async def test_a_delayed_job_due_when_queued_finds_the_delay_in_the_outcome(
    services: Services, client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    """An event processed after its trigger's delay has passed queues a job due at
    once: whenever it runs, the event's outcome already says what it is for, so it
    sends (it used to find no delayed entry and end having done nothing)."""
    await setup(client, webhook_app, webhook_sim)
    await trigger(
        client,
        webhook_app,
        events=["incident.created"],
        recipients={"kind": "users", "users": ["carol"]},
        delay_minutes=10,
    )
    clock = ManualClock()
    who = OPERATOR
    tenant = await services.access.tenant_for(who, None)
    created = EventInput.model_validate(incident(name="incident.created"))
    event = (await services.events_at(clock).record(who, tenant, created)).event
    clock.advance(11 * 60)
    queue = TakenAtOnce()
    queue.processor = EventProcessor(
        services.record_event_store,
        services.record_event_store,
        services.triggers,
        services.sending,
        services.registry,
        services.access.tenant_by_id,
        queue,
        clock=clock,
    )
    await queue.processor.run(event.id)
    assert queue.ran == 1
    [entry] = ok(await client.get(f"/v1/events/{event.id}"))["triggers"]
    assert "delayed_until" in entry
    assert "notification" in entry, entry
    await work_through(services)
    assert hooks(webhook_sim) == ["/hook/carol"]


async def test_a_trigger_switched_off_for_a_unit_spares_its_users(
    services: Services, client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await setup(client, webhook_app, webhook_sim)
    await trigger(client, webhook_app, recipients={"kind": "users", "users": ["alice", "erin"]})
    off = {"name": "triggers.assigned.enabled", "value": False}
    ok(await client.patch("/v1/units/desk/settings", json=off))
    partly = await send_event(client, incident())
    await work_through(services)
    assert hooks(webhook_sim) == ["/hook/alice"]
    ok(await client.put("/v1/settings", json={"values": {"triggers.assigned.enabled": False}}))
    await work_through(services)
    none = await send_event(client, incident())
    await work_through(services)
    assert hooks(webhook_sim) == ["/hook/alice"]
    [entry] = ok(await client.get(f"/v1/events/{none}"))["triggers"]
    assert entry["reason"] == "switched off for every recipient (triggers setting)"
    [entry] = ok(await client.get(f"/v1/events/{partly}"))["triggers"]
    assert entry["targeted"] == 1


async def test_event_data_too_large_for_a_notification_is_a_reason_not_a_stuck_job(
    services: Services, client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    """An event may carry 64 KiB of data, a notification 4 KiB: the trigger says why it
    made none, and the event's job is done."""
    await setup(client, webhook_app, webhook_sim)
    await trigger(client, webhook_app, recipients={"kind": "users", "users": ["carol"]})
    event_id = await send_event(client, incident(data={"blob": "x" * 10_000}))
    await work_through(services)
    [entry] = ok(await client.get(f"/v1/events/{event_id}"))["triggers"]
    assert entry["reason"].startswith("the notification cannot be made: data")
    assert hooks(webhook_sim) == []
    depth = await services.queue.depth()
    assert all(d.ready + d.leased + d.dead == 0 for d in depth.values())


async def test_an_event_job_run_again_after_queueing_its_delayed_jobs_queues_none_twice(
    services: Services, client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    """A worker dies after the event's delayed jobs are queued and before it acks the
    event's job: the job runs again. It must not queue a delayed job of the same id a
    second time (the queue refuses a duplicate id, and the event job failed for good)."""
    await setup(client, webhook_app, webhook_sim)
    await trigger(
        client,
        webhook_app,
        events=["incident.created"],
        recipients={"kind": "users", "users": ["carol"]},
        delay_minutes=10,
    )
    then = ManualClock(time.time() - 11 * 60)
    who = OPERATOR
    tenant = await services.access.tenant_for(who, None)
    created = EventInput.model_validate(incident(name="incident.created"))
    event = (await services.events_at(then).record(who, tenant, created)).event
    processor = services.event_processor_at(services.clock)
    await processor.run(event.id)
    await processor.run(event.id)  # the same job, leased again after the crash
    await work_through(services)
    [entry] = ok(await client.get(f"/v1/events/{event.id}"))["triggers"]
    assert "notification" in entry, entry
    assert hooks(webhook_sim) == ["/hook/carol"]
    depth = await services.queue.depth()
    assert all(d.ready + d.leased + d.dead == 0 for d in depth.values())


class ReadTogether:
    """The event store as two delayed jobs of one event see it when they finish at
    once: each reads the event before either has written what it made."""

    def __init__(self, store: Any, readers: int) -> None:
        self.store = store
        self.barrier = asyncio.Barrier(readers)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def event(self, event_id: str) -> Any:
        found = await self.store.event(event_id)
        await self.barrier.wait()
        return found


async def test_two_delayed_triggers_finishing_at_once_keep_both_outcomes(
    services: Services, client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    """Each delayed job writes its own trigger's entry of the outcome: writing the whole
    list read before the other job wrote lost that job's notification."""
    await setup(client, webhook_app, webhook_sim)
    for key, user in (("to-carol", "carol"), ("to-alice", "alice")):
        await trigger(
            client,
            webhook_app,
            key=key,
            events=["incident.created"],
            recipients={"kind": "users", "users": [user]},
            delay_minutes=10,
        )
    then = ManualClock(time.time() - 11 * 60)
    who = OPERATOR
    tenant = await services.access.tenant_for(who, None)
    created = EventInput.model_validate(incident(name="incident.created"))
    event = (await services.events_at(then).record(who, tenant, created)).event
    await services.event_processor_at(services.clock).run(event.id)
    entries = ok(await client.get(f"/v1/events/{event.id}"))["triggers"]
    together = EventProcessor(
        ReadTogether(services.record_event_store, len(entries)),
        services.record_event_store,
        services.triggers,
        services.sending,
        services.registry,
        services.access.tenant_by_id,
        RecordEventJobs(services.queue),
        clock=services.clock,
    )
    await asyncio.gather(*(together.run(event.id, entry["id"]) for entry in entries))
    shown = ok(await client.get(f"/v1/events/{event.id}"))["triggers"]
    assert [("notification" in entry) for entry in shown] == [True, True], shown
