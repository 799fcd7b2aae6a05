"""Webhook handlers against a real receiver on loopback: success by status or by the
contract, retries with backoff up to the deadline, refusals, timeouts, the signature."""

from __future__ import annotations

import httpx
import orjson
import pytest
from standardwebhooks import Webhook

from pushgate.core.actions import ResponseState, WebhookContract, WebhookHandler
from pushgate.core.clock import ManualClock
from pushgate.core.ids import new_id
from pushgate.core.operational_events import EventKind
from pushgate.core.responses import HandlerFailed
from pushgate.delivery.sender import Postpone
from pushgate.delivery.webhook_handler import WebhookHandlerClient
from pushgate.providers.options import ProviderOptions
from pushgate.simulators.base import Fault
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services
from tests.actions.conftest import Actions, Scene, answer, responder, response_to, run_once


def _hook(sim: WebhookSimulator, **extra: object) -> WebhookHandler:
    return WebhookHandler(url=f"{sim.base_url}/approvals", **extra)  # type: ignore[arg-type]


async def test_a_2xx_succeeds_and_the_host_gets_the_signed_response(
    services: Services,
    scene: Scene,
    actions: Actions,
    handler_sim: WebhookSimulator,
    handler_secret: str,
) -> None:
    handler_sim.register_credentials({"secret": handler_secret})
    action = actions.add(scene.app_id, _hook(handler_sim), secret=handler_secret)
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    async with responder(services, actions, clock) as handle:
        done = await run_once(handle, stored)
    assert done is not None
    assert (done.state, done.attempts, done.result) == (ResponseState.SUCCEEDED, 1, done.result)
    assert done.result is not None
    assert done.result.status == 200
    [request] = handler_sim.attempts
    assert request.header("webhook-id") == stored.id
    # Verified by a library pushgate did not write, with the action's secret.
    headers = dict(request.headers)
    event = Webhook(handler_secret).verify(request.body, headers)
    assert event["type"] == "action.response"
    assert event["data"]["id"] == stored.id
    assert event["data"]["action"] == "approve"
    assert event["data"]["app"] == "crm"
    assert event["data"]["delivery_id"] == scene.delivery_id
    assert event["data"]["data"] == {"change": 42}
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 44).verify(request.body, headers)


async def test_the_contract_decides_success_and_keeps_code_and_message(
    services: Services, scene: Scene, actions: Actions, handler_sim: WebhookSimulator
) -> None:
    contract = WebhookContract.SUCCESS_CODE_MESSAGE
    action = actions.add(scene.app_id, _hook(handler_sim, contract=contract))
    clock = ManualClock()
    handler_sim.configure_reply(mode="contract", success=True, code="0", message="approved")
    approved = await answer(services, scene, action, clock)
    # Repeatable: the delivery keeps one answer to the actions taken once (approve's).
    other = actions.add(
        scene.app_id, _hook(handler_sim, contract=contract), key="reject", allow_repeats=True
    )
    refused = await answer(services, scene, other, clock)
    async with responder(services, actions, clock) as handle:
        ok = await run_once(handle, approved)
        handler_sim.configure_reply(mode="contract", success=False, code="17", message="locked")
        no = await run_once(handle, refused)
    assert ok is not None
    assert ok.result is not None
    assert (ok.state, ok.result.code, ok.result.message) == (
        ResponseState.SUCCEEDED,
        "0",
        "approved",
    )
    assert no is not None
    assert no.result is not None
    assert (no.state, no.attempts, no.result.code, no.result.message) == (
        ResponseState.FAILED,
        1,
        "17",
        "locked",
    )


async def test_a_500_is_retried_with_backoff_and_then_succeeds(
    services: Services, scene: Scene, actions: Actions, handler_sim: WebhookSimulator
) -> None:
    action = actions.add(scene.app_id, _hook(handler_sim))
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    handler_sim.inject(Fault(status=500, count=1))
    async with responder(services, actions, clock) as handle:
        with pytest.raises(Postpone) as planned:
            await run_once(handle, stored)
        assert 0.5 <= planned.value.delay <= 1.0  # the first wait: 1 s, half of it jittered
        waiting = await services.responses.response(stored.id)
        assert waiting is not None
        assert waiting.result is not None
        assert (waiting.state, waiting.attempts, waiting.result.status) == (
            ResponseState.PENDING,
            1,
            500,
        )
        assert waiting.next_attempt_at == clock.now_ms() + int(planned.value.delay * 1000)
        clock.advance(planned.value.delay)
        done = await run_once(handle, stored)
    assert done is not None
    assert (done.state, done.attempts) == (ResponseState.SUCCEEDED, 2)
    assert [r.header("webhook-id") for r in handler_sim.attempts] == [stored.id, stored.id]
    assert handler_sim.attempts[0].body == handler_sim.attempts[1].body


async def test_retry_after_is_followed(
    services: Services, scene: Scene, actions: Actions, handler_sim: WebhookSimulator
) -> None:
    action = actions.add(scene.app_id, _hook(handler_sim))
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    handler_sim.inject(Fault(status=429, retry_after=7, count=1))
    async with responder(services, actions, clock) as handle:
        with pytest.raises(Postpone) as planned:
            await run_once(handle, stored)
    assert planned.value.delay == 7


async def test_a_timeout_is_retried(
    services: Services, scene: Scene, actions: Actions, handler_sim: WebhookSimulator
) -> None:
    action = actions.add(scene.app_id, _hook(handler_sim, timeout_seconds=0.2))
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    handler_sim.inject(Fault(latency_ms=2000, count=1))
    async with responder(services, actions, clock) as handle:
        with pytest.raises(Postpone, match="timeout"):
            await run_once(handle, stored)
    waiting = await services.responses.response(stored.id)
    assert waiting is not None
    assert waiting.result is not None
    assert waiting.state is ResponseState.PENDING
    assert waiting.result.error is not None
    assert "timeout" in waiting.result.error


async def test_a_400_fails_at_once(
    services: Services, scene: Scene, actions: Actions, handler_sim: WebhookSimulator
) -> None:
    action = actions.add(scene.app_id, _hook(handler_sim))
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    handler_sim.inject(Fault(status=400, reason="unknown change", count=1))
    async with responder(services, actions, clock) as handle:
        done = await run_once(handle, stored)
    assert done is not None
    assert done.result is not None
    assert (done.state, done.attempts, done.result.status) == (ResponseState.FAILED, 1, 400)
    assert done.result.error == "handler answered 400: unknown change"


async def test_retries_end_at_the_deadline(
    services: Services, scene: Scene, actions: Actions, handler_sim: WebhookSimulator
) -> None:
    action = actions.add(scene.app_id, _hook(handler_sim), deadline_seconds=10)
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    handler_sim.inject(Fault(status=503, count=None))
    async with responder(services, actions, clock) as handle:
        for _ in range(20):
            try:
                done = await run_once(handle, stored)
            except Postpone as planned:
                clock.advance(planned.delay)
                continue
            break
    assert done is not None
    assert done.result is not None
    assert done.state is ResponseState.FAILED
    assert done.result.error is not None
    assert done.result.error.endswith("gave up after 10 s")
    assert clock.now_ms() < stored.response.received_at + 10_000
    # 1 s, 2 s, 4 s doubling (each jittered down to half): 3 to 5 runs fit in 10 s.
    assert 3 <= done.attempts == len(handler_sim.attempts) <= 5


async def test_a_private_target_is_refused_unless_allowed(
    scene: Scene, handler_sim: WebhookSimulator
) -> None:
    client = WebhookHandlerClient(ProviderOptions(allow_private_targets=False))
    try:
        plain = await client.call(_hook(handler_sim), None, _response(scene))
        https = WebhookHandler(url=f"https://127.0.0.1:{handler_sim.base_url.rsplit(':', 1)[1]}/")
        private = await client.call(https, None, _response(scene))
    finally:
        await client.close()
    assert isinstance(plain, HandlerFailed)
    assert plain.result.error == "handler URL must use https"
    assert isinstance(private, HandlerFailed)
    assert private.result.error is not None
    assert private.result.error.startswith("target refused")
    assert handler_sim.attempts == []


def _response(scene: Scene) -> object:
    from pushgate.core.actions import ActionDefinition, RecordHandler

    action = ActionDefinition(new_id(), scene.app_id, "approve", "Approve", {}, RecordHandler())
    return response_to(scene, action, 0).response


async def test_the_body_is_the_documented_json(
    services: Services, scene: Scene, actions: Actions, handler_sim: WebhookSimulator
) -> None:
    action = actions.add(scene.app_id, _hook(handler_sim))
    clock = ManualClock(start=1_767_261_600.0)  # 2026-01-01T10:00:00Z
    stored = await answer(services, scene, action, clock)
    async with responder(services, actions, clock) as handle:
        await run_once(handle, stored)
    [request] = handler_sim.attempts
    assert request.header("content-type") == "application/json"
    body = orjson.loads(request.body)
    assert body["timestamp"] == "2026-01-01T10:00:00.000Z"
    assert set(body["data"]) == {
        "id",
        "app",
        "notification_id",
        "delivery_id",
        "device_id",
        "user_id",
        "action_id",
        "action",
        "input",
        "data",
        "received_at",
    }
    assert httpx.Headers(request.headers).get("webhook-signature") is None  # no secret set


async def test_a_handler_failed_for_good_is_an_operational_event(
    services: Services, scene: Scene, actions: Actions, handler_sim: WebhookSimulator
) -> None:
    action = actions.add(scene.app_id, _hook(handler_sim))
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    handler_sim.inject(Fault(status=400, reason="unknown change", count=1))
    async with responder(services, actions, clock) as handle:
        await run_once(handle, stored)
        await run_once(handle, stored)  # a run again after it settled tells nothing new
    [event] = await services.event_store.list_events(scene.tenant_id, None, None, None, 10)
    assert (event.kind, event.subject_id, event.app_id) == (
        EventKind.ACTION_RESPONSE_FAILED,
        stored.id,
        scene.app_id,
    )
    assert event.details["error"] == "handler answered 400: unknown change"
    assert (event.details["action"], event.details["attempts"]) == (action.key, 1)
