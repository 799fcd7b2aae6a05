"""The answer endpoint through the real app: a notification with actions delivered to a
webhook device through its simulator, then answered with the token it carried. Handlers
run in a worker beside the API (embedded mode); error pushes reach the device's
simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pushgate.api.answer_schemas import AnswerOut
from pushgate.core import response_tokens
from pushgate.core.response_tokens import ResponseToken
from pushgate.simulators.server import start
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services, build_services, build_worker
from tests.api.answer_scene import Pushed, crm_app, define, device_client, push, running_worker
from tests.api.conftest import MakeKey
from tests.api.expect import error_of, ok
from tests.api.test_rate_limits import ManualClock
from tests.conftest import empty_postgres, make_settings
from tests.delivery.conftest import work_through


@pytest.fixture
def wait_seconds() -> float:
    """No wait, where no worker runs: the answer is 202 at once (the tests that run
    handlers set one)."""
    return 0.0


@pytest.fixture
def limits_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def services(
    database_url: str, tmp_path: Path, wait_seconds: float, limits_clock: ManualClock
) -> AsyncIterator[Services]:
    """The app's services with the answer's wait as the test sets it and rate limits on a
    clock that moves only when told."""
    if database_url.startswith("postgresql"):
        await empty_postgres(database_url)
    settings = make_settings(tmp_path, database_url, action_answer_wait_seconds=wait_seconds)
    built = await build_services(settings, limits_clock=limits_clock)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
async def device_sim() -> AsyncIterator[WebhookSimulator]:
    simulator = WebhookSimulator()
    running = await start(simulator)
    yield simulator
    await running.close()


@pytest.fixture
async def handler_sim() -> AsyncIterator[WebhookSimulator]:
    """The host system's endpoint a webhook handler posts to."""
    simulator = WebhookSimulator()
    running = await start(simulator)
    yield simulator
    await running.close()


@pytest.fixture
async def device(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with device_client(services) as http:
        yield http


@pytest.fixture
async def pushed(
    client: httpx.AsyncClient, services: Services, device_sim: WebhookSimulator
) -> Pushed:
    await crm_app(client, device_sim)
    return await push(client, services, device_sim)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("wait_seconds", [10.0])
async def test_a_webhook_handler_runs_once_and_its_result_comes_back(
    client: httpx.AsyncClient,
    services: Services,
    device: httpx.AsyncClient,
    device_sim: WebhookSimulator,
    handler_sim: WebhookSimulator,
) -> None:
    await crm_app(client, device_sim)
    await define(client, "ack", {"kind": "webhook", "url": f"{handler_sim.base_url}/answers"})
    pushed = await push(client, services, device_sim, actions=["ack", "approve"], action_set=None)
    async with running_worker(services):
        answer = await device.post(
            pushed.path("ack"),
            json={"input": "fine", "data": {"change": 42}},
            headers=bearer(pushed.token),
        )
        body = ok(answer)
        again = ok(await device.post(pushed.path("ack"), json={"token": pushed.token}))
    assert body["state"] == "succeeded"
    assert body["action"] == "ack"
    assert body["result"]["status"] in (200, 204)
    assert again["response"] == body["response"]  # the first response, its result
    [call] = handler_sim.all_received()  # one handler run for both requests
    assert call.body["data"]["id"] == body["response"]
    assert call.body["data"]["action"] == "ack"
    assert call.body["data"]["input"] == "fine"
    assert call.body["data"]["data"] == {"change": 42}
    assert call.body["data"]["delivery_id"] == pushed.delivery_id


@pytest.mark.parametrize("wait_seconds", [10.0])
async def test_a_record_handler_answers_on_both_paths_without_an_api_key(
    services: Services, device: httpx.AsyncClient, pushed: Pushed, admin_key: str
) -> None:
    async with running_worker(services):
        # An API key in Authorization is ignored when the body carries the token.
        first = ok(
            await device.post(
                pushed.path("approve"), json={"token": pushed.token}, headers=bearer(admin_key)
            )
        )
        same = ok(
            await device.post(
                pushed.path("approve", "/api/now"), headers=bearer(pushed.token), json={}
            )
        )
        by_key = ok(
            await device.post("/api/now/v1/push/crm/action/approve", json={"token": pushed.token})
        )
    assert first["state"] == "succeeded"
    assert same["response"] == first["response"] == by_key["response"]
    stored = await services.responses.response(first["response"])
    assert stored is not None
    assert stored.response.delivery_id == pushed.delivery_id
    assert stored.response.device_id == pushed.device_id
    assert stored.response.user_id is not None  # the device's user, alice


@pytest.mark.parametrize("wait_seconds", [0.2])
async def test_a_slow_handler_is_answered_202_and_read_back_pending(
    client: httpx.AsyncClient,
    services: Services,
    device: httpx.AsyncClient,
    device_sim: WebhookSimulator,
) -> None:
    await crm_app(client, device_sim)
    await define(client, "slow", {"kind": "python", "name": "test-slow", "timeout_seconds": 1})
    pushed = await push(client, services, device_sim, actions=["slow"], action_set=None)
    async with running_worker(services):
        answer = await device.post(pushed.path("slow"), headers=bearer(pushed.token))
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert body["state"] == "pending"
        assert body["poll"] == f"/v1/push/responses/{body['response']}"
        read = ok(await device.get(body["poll"], headers=bearer(pushed.token)))
    assert read["response"] == body["response"]
    assert read["state"] == "pending"


@pytest.mark.parametrize("wait_seconds", [10.0])
async def test_a_failed_handler_is_502_with_its_error_and_pushes_an_error(
    client: httpx.AsyncClient,
    services: Services,
    device: httpx.AsyncClient,
    device_sim: WebhookSimulator,
) -> None:
    await crm_app(client, device_sim)
    await define(client, "lock", {"kind": "python", "name": "test-raise"})
    pushed = await push(client, services, device_sim, actions=["lock"], action_set=None)
    async with running_worker(services):
        answer = await device.post(pushed.path("lock"), headers=bearer(pushed.token))
        error = error_of(answer, 502, "handler_failed")
    assert "PermissionError" in error["details"]["result"]["error"]
    assert error["details"]["action"] == "lock"
    await work_through(services)
    [notice] = device_sim.all_received()
    assert notice.body["data"]["data"]["pushgate_kind"] == "action_error"
    assert notice.body["data"]["data"]["response_id"] == error["details"]["response"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"input": 5}', "input: must be a string"),
        (b'{"data": "x"}', "data: must be an object"),
    ],
)
async def test_an_unreadable_answer_is_400_and_the_device_is_told(
    services: Services,
    device: httpx.AsyncClient,
    device_sim: WebhookSimulator,
    pushed: Pushed,
    raw: bytes,
    reason: str,
) -> None:
    headers = {**bearer(pushed.token), "Content-Type": "application/json"}
    answer = await device.post(pushed.path("approve"), content=raw, headers=headers)
    error = error_of(answer, 400, "malformed_json")
    assert reason in error["message"]
    await work_through(services)
    [notice] = device_sim.all_received()
    assert notice.token == "/hook/1"
    assert notice.body["data"]["data"]["pushgate_kind"] == "action_error"
    assert notice.body["data"]["data"]["action"] == "approve"
    assert reason in notice.body["data"]["body"]
    assert await services.responses.list_for(pushed.notification_id, None, 10) == []


async def test_an_unreadable_answer_without_a_valid_token_pushes_nothing(
    services: Services, device: httpx.AsyncClient, device_sim: WebhookSimulator, pushed: Pushed
) -> None:
    answer = await device.post(
        pushed.path("approve"), content=b"{oops", headers={"Content-Type": "application/json"}
    )
    error_of(answer, 401, "response_token_invalid")
    await work_through(services)
    assert device_sim.all_received() == []


async def test_input_and_data_beyond_their_bounds_are_422(
    device: httpx.AsyncClient, pushed: Pushed
) -> None:
    long = await device.post(
        pushed.path("approve"), json={"token": pushed.token, "input": "x" * 2001}
    )
    assert error_of(long, 422, "validation_failed")["details"]["field"] == "input"
    big = await device.post(
        pushed.path("approve"), json={"token": pushed.token, "data": {"x": "y" * 5000}}
    )
    assert error_of(big, 422, "validation_failed")["details"]["field"] == "data"
    huge = await device.post(
        pushed.path("approve"), json={"token": pushed.token, "input": "x" * 20_000}
    )
    error_of(huge, 413, "payload_too_large")


async def test_tokens_missing_forged_or_expired_are_401(
    services: Services, device: httpx.AsyncClient, pushed: Pushed
) -> None:
    error_of(await device.post(pushed.path("approve"), json={}), 401, "response_token_invalid")
    forged = pushed.token[:-2] + ("AA" if not pushed.token.endswith("AA") else "BB")
    error_of(
        await device.post(pushed.path("approve"), headers=bearer(forged)),
        401,
        "response_token_invalid",
    )
    claims = ResponseToken(pushed.delivery_id, pushed.notification_id, pushed.device_id, 1_000_000)
    expired = response_tokens.mint(services.box, claims)
    error_of(
        await device.post(pushed.path("approve"), headers=bearer(expired)),
        401,
        "response_token_expired",
    )


async def test_the_app_device_and_action_must_be_the_pushs(
    client: httpx.AsyncClient, device: httpx.AsyncClient, pushed: Pushed
) -> None:
    ok(await client.post("/v1/apps", json={"name": "desk"}), 201)
    headers = bearer(pushed.token)
    approve = pushed.actions["approve"]
    other_app = await device.post(f"/v1/push/desk/action/{approve}", headers=headers)
    error_of(other_app, 403, "app_mismatch")
    unknown_app = await device.post(f"/v1/push/nope/action/{approve}", headers=headers)
    error_of(unknown_app, 404, "not_found")
    other_device = await device.post(
        pushed.path("approve"),
        headers=headers,
        json={"device": "0190a6f0-0000-7000-8000-000000000000"},
    )
    error_of(other_device, 403, "device_mismatch")
    same_device = {"device": pushed.device_id}
    taken = await device.post(pushed.path("approve"), headers=headers, json=same_device)
    # A record handler's answer is settled as it is stored: 200 with no worker running.
    assert ok(taken)["state"] == "succeeded"
    error_of(await device.post("/v1/push/crm/action/nope", headers=headers), 404, "not_found")
    not_offered = await device.post("/v1/push/crm/action/later", headers=headers)
    assert error_of(not_offered, 409, "action_not_offered")["details"]["action"] == "later"


async def test_another_action_after_an_answer_is_409_and_does_not_run(
    services: Services, device: httpx.AsyncClient, pushed: Pushed
) -> None:
    first = await device.post(pushed.path("approve"), headers=bearer(pushed.token))
    assert first.status_code in (200, 202), first.text
    second = await device.post(pushed.path("reject"), headers=bearer(pushed.token))
    error = error_of(second, 409, "already_answered")
    assert error["details"]["action"] == "approve"
    listed = await services.responses.list_for(pushed.notification_id, None, 10)
    assert [r.response.action_key for r in listed] == ["approve"]


SECRET = "host-system-signing-secret-0123456789abcdef"


def user_token(sub: str) -> str:
    import time

    import jwt

    return jwt.encode({"sub": sub, "exp": int(time.time()) + 300}, SECRET, algorithm="HS256")


@pytest.mark.parametrize("wait_seconds", [10.0])
async def test_an_action_that_requires_authentication_needs_the_users_token(
    client: httpx.AsyncClient,
    services: Services,
    device: httpx.AsyncClient,
    device_sim: WebhookSimulator,
) -> None:
    await crm_app(client, device_sim)
    await define(client, "sign", {"kind": "record"}, authentication_required=True)
    pushed = await push(client, services, device_sim, actions=["sign"], action_set=None)
    headers = bearer(pushed.token)
    # No user-auth secret: no user can be proven, so the action cannot be answered.
    error_of(await device.post(pushed.path("sign"), headers=headers), 403, "forbidden")
    ok(await client.patch("/v1/apps/crm", json={"user_auth_secret": SECRET}))
    error_of(await device.post(pushed.path("sign"), headers=headers), 401, "unauthenticated")
    bob = {**headers, "Pushgate-User-Token": user_token("bob")}
    error_of(await device.post(pushed.path("sign"), headers=bob), 403, "forbidden")
    alice = {**headers, "Pushgate-User-Token": user_token("alice")}
    async with running_worker(services):
        assert ok(await device.post(pushed.path("sign"), headers=alice))["state"] == "succeeded"


async def test_a_devices_answers_are_rate_limited(
    device: httpx.AsyncClient, pushed: Pushed, limits_clock: ManualClock
) -> None:
    headers = bearer(pushed.token)
    for _ in range(20):  # the device's burst
        answer = await device.post("/v1/push/crm/action/later", headers=headers)
        assert answer.status_code == 409, answer.text
    refused = await device.post(pushed.path("approve"), headers=headers)
    error = error_of(refused, 429, "rate_limited")
    assert error["details"]["limit"] == "answer_device"
    assert int(refused.headers["Retry-After"]) >= 1
    limits_clock.advance(1.0)
    again = await device.post(pushed.path("approve"), headers=headers)
    assert again.status_code in (200, 202), again.text


async def test_a_response_is_read_only_with_its_deliverys_token(
    client: httpx.AsyncClient,
    services: Services,
    device: httpx.AsyncClient,
    device_sim: WebhookSimulator,
    pushed: Pushed,
) -> None:
    answer = await device.post(pushed.path("approve"), headers=bearer(pushed.token))
    response_id = answer.json()["response"]
    ok(await device.get(f"/api/now/v1/push/responses/{response_id}", headers=bearer(pushed.token)))
    other = await push(client, services, device_sim, hook="/hook/2")
    stranger = await device.get(f"/v1/push/responses/{response_id}", headers=bearer(other.token))
    error_of(stranger, 404, "not_found")
    error_of(await device.get(f"/v1/push/responses/{response_id}"), 401, "response_token_invalid")


@pytest.mark.parametrize("wait_seconds", [10.0])
async def test_responses_are_listed_and_counted_for_the_tenant_only(
    client: httpx.AsyncClient,
    services: Services,
    device: httpx.AsyncClient,
    device_sim: WebhookSimulator,
    pushed: Pushed,
    make_key: MakeKey,
    other_tenant: str,
) -> None:
    second = await push(client, services, device_sim, hook="/hook/2")
    second_id = second.notification_id
    async with running_worker(services):
        ok(await device.post(second.path("approve"), headers=bearer(second.token)))
        ok(await device.post(pushed.path("reject"), headers=bearer(pushed.token)))
    listed = ok(await client.get(f"/v1/notifications/{second_id}/responses"))
    [item] = listed["items"]
    assert item["action"] == "approve"
    assert item["state"] == "succeeded"
    assert item["device_id"] == second.device_id
    assert item["delivery_id"] == second.delivery_id
    assert listed["next"] is None
    status = ok(await client.get(f"/v1/notifications/{second_id}"))
    assert status["responses"] == {"approve": {"succeeded": 1}}
    first = ok(await client.get(f"/v1/notifications/{pushed.notification_id}"))
    assert first["responses"] == {"reject": {"succeeded": 1}}
    # Another tenant's key does not see them; a key without a read scope may not read.
    stranger = await make_key("admin", tenant=other_tenant)
    seen = await device.get(f"/v1/notifications/{second_id}/responses", headers=bearer(stranger))
    error_of(seen, 404, "not_found")
    devices_only = await make_key("devices:register")
    refused = await device.get(
        f"/v1/notifications/{second_id}/responses", headers=bearer(devices_only)
    )
    error_of(refused, 403, "forbidden")


async def test_a_record_answer_that_confirms_waits_for_the_worker(
    client: httpx.AsyncClient, services: Services, device: httpx.AsyncClient, pushed: Pushed
) -> None:
    """With a confirmation push to send, a record answer keeps its job (at least once):
    no worker, no result yet; the worker settles it and the confirmation goes out."""
    ok(await client.patch("/v1/apps/crm", json={"action_confirm_text": {"text": "Done"}}))
    taken = await device.post(pushed.path("approve"), headers=bearer(pushed.token))
    assert taken.status_code == 202, taken.text
    handle = build_worker(services)
    try:
        await asyncio.wait_for(handle.worker.run(asyncio.Event(), burst=True), 30)
    finally:
        await handle.close()
    again = await device.post(pushed.path("approve"), headers=bearer(pushed.token))
    assert ok(again)["state"] == "succeeded"
    assert ok(again)["response"] == taken.json()["response"]


async def test_the_answer_route_keeps_its_declared_bounds_methods_and_shape(
    device: httpx.AsyncClient, pushed: Pushed
) -> None:
    """Answers are served ahead of FastAPI (api/answer_endpoint.py); what that path does
    not take (another method, a path or header beyond the route's bounds) is FastAPI's,
    answered as before."""
    headers = bearer(pushed.token)
    approve = pushed.actions["approve"]
    long_ref = await device.post(f"/v1/push/crm/action/{'a' * 65}", headers=headers)
    error_of(long_ref, 422, "validation_failed")
    long_app = await device.post(f"/v1/push/{'c' * 129}/action/{approve}", headers=headers)
    error_of(long_app, 422, "validation_failed")
    long_user = {**headers, "Pushgate-User-Token": "u" * 4097}
    error_of(await device.post(pushed.path("approve"), headers=long_user), 422, "validation_failed")
    wrong_method = await device.get(pushed.path("approve"), headers=headers)
    error_of(wrong_method, 405, "method_not_allowed")
    assert wrong_method.headers["allow"] == "POST"
    answered = await device.post(pushed.path("approve", "/api/now"), headers=headers, json={})
    body = ok(answered)
    assert answered.headers["content-type"] == "application/json"
    assert AnswerOut.model_validate(body).model_dump() == body
    assert body["poll"] is None
    assert body["state"] == "succeeded"
