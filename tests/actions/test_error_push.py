"""The push back to the device: after a failure (the built-in or the app's localized
text, marked in its data), sent once whatever runs twice; a confirmation when asked."""

from __future__ import annotations

import httpx

from pushgate.core.actions import PythonHandler, RecordHandler, ResponseState
from pushgate.core.clock import ManualClock
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services
from tests.actions.conftest import Actions, answer, make_scene, responder, run_once
from tests.delivery.conftest import work_through


async def test_a_failure_reaches_the_device_once_with_the_marker(
    client: httpx.AsyncClient,
    services: Services,
    actions: Actions,
    device_sim: WebhookSimulator,
) -> None:
    scene = await make_scene(client, services, device_sim)
    action = actions.add(scene.app_id, PythonHandler("test-raise"))
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    async with responder(services, actions, clock) as handle:
        done = await run_once(handle, stored)
        assert done is not None
        assert done.state is ResponseState.FAILED
        await work_through(services)
        # The job again (its worker died after settling): no second push.
        await run_once(handle, stored)
        await work_through(services)
    [push] = device_sim.all_received()
    assert push.token == "/hook/device"
    assert push.body["data"]["body"] == (
        "Your answer to “Change 42” could not be processed: "
        "handler raised: PermissionError: change for 'approve' is locked"
    )
    assert push.body["data"]["data"] == {
        "pushgate_kind": "action_error",
        "response_id": stored.id,
        "notification_id": scene.notification_id,
        "action": "approve",
    }


async def test_the_apps_text_in_the_devices_locale_and_a_confirmation(
    client: httpx.AsyncClient,
    services: Services,
    actions: Actions,
    device_sim: WebhookSimulator,
) -> None:
    scene = await make_scene(client, services, device_sim, locale="de")
    texts = {
        "action_error_text": {
            "text": "“{title}” failed: {reason}",
            "locales": {"de": "„{title}“ ging nicht durch ({action}): {reason}"},
        },
        "action_confirm_text": {"text": "Done: {title}", "locales": {"de": "Erledigt: {title}"}},
    }
    changed = await client.patch("/v1/apps/crm", json=texts)
    assert changed.status_code == 200, changed.text
    shown = (await client.get("/v1/apps/crm")).json()
    assert shown["action_error_text"] == texts["action_error_text"]
    assert shown["action_confirm_text"] == texts["action_confirm_text"]
    failing = actions.add(scene.app_id, PythonHandler("test-raise"), key="reject")
    # Repeatable: the delivery keeps one answer to the actions taken once (reject's).
    passing = actions.add(scene.app_id, RecordHandler(), allow_repeats=True)
    clock = ManualClock()
    refused = await answer(services, scene, failing, clock)
    taken = await answer(services, scene, passing, clock)
    async with responder(services, actions, clock) as handle:
        await run_once(handle, refused)
        await run_once(handle, taken)
    await work_through(services)
    bodies = {
        p.body["data"]["data"]["pushgate_kind"]: p.body["data"] for p in device_sim.all_received()
    }
    assert bodies["action_error"]["body"] == (
        "„Änderung 42“ ging nicht durch (reject): "
        "handler raised: PermissionError: change for 'reject' is locked"
    )
    assert bodies["action_confirmed"]["body"] == "Erledigt: Änderung 42"
    assert bodies["action_confirmed"]["data"]["response_id"] == taken.id

    cleared = await client.patch(
        "/v1/apps/crm", json={"clear_action_error_text": True, "clear_action_confirm_text": True}
    )
    assert cleared.json()["action_error_text"] is None
    assert cleared.json()["action_confirm_text"] is None


async def test_a_success_sends_nothing_by_default(
    client: httpx.AsyncClient,
    services: Services,
    actions: Actions,
    device_sim: WebhookSimulator,
) -> None:
    scene = await make_scene(client, services, device_sim)
    action = actions.add(scene.app_id, RecordHandler())
    clock = ManualClock()
    stored = await answer(services, scene, action, clock)
    async with responder(services, actions, clock) as handle:
        await run_once(handle, stored)
    await work_through(services)
    assert device_sim.all_received() == []


async def test_texts_are_checked(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/apps", json={"name": "crm"})).status_code == 201
    empty = await client.patch("/v1/apps/crm", json={"action_error_text": {"text": ""}})
    assert empty.status_code == 422
    long = await client.patch("/v1/apps/crm", json={"action_confirm_text": {"text": "x" * 513}})
    assert long.status_code == 422
