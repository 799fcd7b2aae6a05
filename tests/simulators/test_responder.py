"""``POST /_sim/<provider>/respond``: a simulated device answers a push it received. Here the
answer goes to a stand-in receiver (a webhook simulator over TLS, recording every request as
it arrived); the loop through pushgate itself is tests/e2e/test_action_loop.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from pushgate.simulators.responder import ANSWER_URL_HEADER
from pushgate.simulators.server import start
from pushgate.simulators.tls import CertificateAuthority
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.simulators.wns import WnsSimulator

APPROVE, REJECT = str(uuid.uuid4()), str(uuid.uuid4())
TOKEN = "rt_" + "x" * 40


@pytest.fixture
async def receiver(sim_authority: CertificateAuthority) -> AsyncIterator[WebhookSimulator]:
    """Where answers go: https with a certificate of the simulators' CA, contract replies."""
    simulator = WebhookSimulator()
    simulator.configure_reply(mode="contract", message="taken")
    running = await start(simulator, ssl_context=sim_authority.server_context())
    yield simulator
    await running.close()


@pytest.fixture
async def device(sim_authority: CertificateAuthority) -> AsyncIterator[WebhookSimulator]:
    """The device's simulator (plain http: its control route is what the test calls)."""
    simulator = WebhookSimulator()
    simulator.responder.trust(sim_authority.ca_path)
    running = await start(simulator)
    yield simulator
    await running.close()


def webhook_push(base_url: str, title: str, *, token: str = TOKEN) -> dict[str, Any]:
    """A webhook event as pushgate renders one with actions (docs/actions.md)."""
    identity = {"delivery": str(uuid.uuid4()), "token": token, "url": f"{base_url}/a/"}
    actions = [{"action": "approve", "id": APPROVE}, {"action": "reject", "id": REJECT}]
    return {
        "type": "notification",
        "data": {"title": title, "pushgate": identity, "actions": actions},
    }


async def respond(http: httpx.AsyncClient, device: WebhookSimulator, **body: Any) -> httpx.Response:
    return await http.post(f"{device.base_url}/_sim/webhook/respond", json=body)


async def test_answers_the_latest_push_over_tls_with_its_token(
    http: httpx.AsyncClient, device: WebhookSimulator, receiver: WebhookSimulator
) -> None:
    device.record("/hook/1", {}, webhook_push(receiver.base_url, "old", token="old"), "m1")
    device.record("/hook/1", {}, webhook_push(receiver.base_url, "new"), "m2")
    answer = await respond(http, device, token="/hook/1", action="approve", input="ok by me")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"Success": True, "Code": "0", "Message": "taken"}
    assert answer.headers[ANSWER_URL_HEADER] == f"{receiver.base_url}/a/{APPROVE}"
    [sent] = receiver.attempts
    assert sent.path == f"/a/{APPROVE}"
    assert sent.header("authorization") == f"Bearer {TOKEN}"
    assert sent.header("content-type") == "application/json"
    assert orjson.loads(sent.body) == {"input": "ok by me"}


async def test_index_picks_an_earlier_push_and_an_action_by_id(
    http: httpx.AsyncClient, device: WebhookSimulator, receiver: WebhookSimulator
) -> None:
    device.record("/hook/1", {}, webhook_push(receiver.base_url, "first", token="first"), "m1")
    device.record("/hook/1", {}, webhook_push(receiver.base_url, "second"), "m2")
    answer = await respond(http, device, token="/hook/1", action=REJECT, index=0, data={"k": 1})
    assert answer.status_code == 200, answer.text
    [sent] = receiver.attempts
    assert (sent.path, sent.header("authorization")) == (f"/a/{REJECT}", "Bearer first")
    assert orjson.loads(sent.body) == {"data": {"k": 1}}


async def test_raw_body_goes_as_given(
    http: httpx.AsyncClient, device: WebhookSimulator, receiver: WebhookSimulator
) -> None:
    device.record("/hook/1", {}, webhook_push(receiver.base_url, "t"), "m1")
    answer = await respond(http, device, token="/hook/1", action="approve", raw_body='{"input":')
    # The receiver's own refusal comes back unchanged, as pushgate's would.
    assert answer.status_code == 400
    assert answer.json() == {"error": "body is not JSON"}
    assert receiver.attempts[0].body == b'{"input":'


async def test_a_wns_toast_is_answered_from_its_action_arguments(
    http: httpx.AsyncClient, sim_authority: CertificateAuthority, receiver: WebhookSimulator
) -> None:
    wns = WnsSimulator()
    wns.responder.trust(sim_authority.ca_path)
    running = await start(wns)
    try:
        url = f"{receiver.base_url}/a/"
        launch = orjson.dumps({"pushgate": {"token": TOKEN, "url": url}}).decode()
        arguments = f"action=approve;id={APPROVE};url={url};token={TOKEN}"
        toast = (
            f"<toast launch='{launch}'><visual/><actions>"
            f'<action content="Approve" arguments="{arguments}"/></actions></toast>'
        )
        wns.record("channel-1", {}, toast, "m1")
        answer = await http.post(
            f"{wns.base_url}/_sim/wns/respond", json={"token": "channel-1", "action": "approve"}
        )
    finally:
        await running.close()
    assert answer.status_code == 200, answer.text
    assert receiver.attempts[0].path == f"/a/{APPROVE}"


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"token": "/hook/none", "action": "approve"}, 404, "received nothing"),
        ({"token": "/hook/1", "action": "approve", "index": 5}, 404, "received 2 pushes"),
        ({"token": "/hook/1", "action": "approve", "index": 0}, 409, "no actions to answer"),
        ({"token": "/hook/1", "action": "maybe"}, 404, "among ['approve', 'reject']"),
        ({"token": "/hook/1"}, 400, "action:"),
        ({"token": "/hook/1", "action": "approve", "index": "1"}, 400, "index:"),
        ({"token": "/hook/1", "action": "approve", "input": 3}, 400, "input:"),
    ],
)
async def test_what_the_simulator_refuses_itself(
    http: httpx.AsyncClient,
    device: WebhookSimulator,
    receiver: WebhookSimulator,
    body: dict[str, Any],
    status: int,
    says: str,
) -> None:
    device.record("/hook/1", {}, {"type": "notification", "data": {"title": "no actions"}}, "m1")
    device.record("/hook/1", {}, webhook_push(receiver.base_url, "t"), "m2")
    answer = await respond(http, device, **body)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]
    assert ANSWER_URL_HEADER not in answer.headers
    assert receiver.attempts == []


async def test_an_untrusted_certificate_or_no_listener_is_a_502(
    http: httpx.AsyncClient, receiver: WebhookSimulator
) -> None:
    untrusting = WebhookSimulator()  # trusts the system store only
    running = await start(untrusting)
    try:
        untrusting.record("/hook/1", {}, webhook_push(receiver.base_url, "t"), "m1")
        untrusted = await respond(http, untrusting, token="/hook/1", action="approve")
        untrusting.record("/hook/2", {}, webhook_push("http://127.0.0.1:9", "t"), "m2")
        refused = await respond(http, untrusting, token="/hook/2", action="approve")
    finally:
        await running.close()
    assert untrusted.status_code == 502
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.json()["error"]
    assert refused.status_code == 502
    assert receiver.attempts == []
