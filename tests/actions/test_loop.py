"""The whole loop, per provider, over real sockets: pushgate sends a notification with an
action set through every provider's TLS simulator; each simulated device answers through
``/_sim/<provider>/respond``, which POSTs to pushgate's response URL; pushgate runs the
handler (a webhook to a local receiver, or ``record``) and answers the device; a broken
answer or a failed handler pushes an error back to that device (docs/actions.md).

One stack per test: pushgate's API served by uvicorn on a loopback socket, a worker in the
same process (embedded mode, so the answer's wait is woken at once), and the simulators.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from pushgate.api.app import create_app
from pushgate.simulators.base import Simulator
from pushgate.simulators.hms import HmsSimulator
from pushgate.simulators.identity import app_data, identity_of
from pushgate.simulators.server import start
from pushgate.simulators.tls import CertificateAuthority
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.simulators.webpush import WebPushSimulator
from pushgate.simulators.wns import WnsSimulator
from pushgate.wiring import Services, build_services, build_worker
from tests.conftest import api_client, empty_postgres, make_settings
from tests.delivery.conftest import served_over_tls, settled
from tests.delivery.test_payload_identity import _all_providers
from tests.providers.harness import Clock, start_apns, start_fcm

TITLE = "Change CHG0042 needs your approval"
# The device key _all_providers files each device under; fcm-de is a second FCM device.
DEVICES = ("apns", "fcm", "fcm-de", "webpush", "wns", "hms", "webhook")
SECONDS = 20.0


@dataclass
class Loop:
    """The running stack: the API (in-process client for setup), the devices' simulators
    and where each files what it receives, the host system's receivers."""

    services: Services
    api: httpx.AsyncClient
    sims: dict[str, Simulator]
    keys: dict[str, str]
    desk: WebhookSimulator  # approve's webhook handler: the host system taking approvals
    frozen: WebhookSimulator  # escalate's: answers {"Success": false}
    http: httpx.AsyncClient  # the test's own client to the simulators (trusts their CA)

    async def send(self) -> str:
        answer = await self.api.post(
            "/v1/notifications",
            json={
                "app": "live",
                "audience": {"everyone": True},
                "title": TITLE,
                "action_set": "approval",
            },
        )
        assert answer.status_code == 202, answer.text
        notification_id: str = answer.json()["id"]
        final = await settled(self.api, notification_id, SECONDS)
        assert final["deliveries"]["sent"] == len(DEVICES), final
        return notification_id

    async def respond(self, device: str, **body: Any) -> httpx.Response:
        provider = device.split("-")[0]
        simulator = self.sims[provider]
        return await self.http.post(
            f"{simulator.base_url}/_sim/{provider}/respond",
            json={"token": self.keys[device], **body},
        )

    def pushes(self, device: str) -> list[Any]:
        return [item.body for item in self.sims[device.split("-")[0]].received[self.keys[device]]]

    async def error_push(self, device: str) -> dict[str, Any]:
        """The data of the push back to ``device`` after its first, once it arrived."""
        deadline = time.monotonic() + SECONDS
        while len(self.pushes(device)) < 2:
            assert time.monotonic() < deadline, f"{device}: no push back within {SECONDS} s"
            await asyncio.sleep(0.05)
        [_, second] = self.pushes(device)
        assert identity_of(device.split("-")[0], second) is not None
        return app_data(device.split("-")[0], second)


def _listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
async def loop(
    database_url: str, tmp_path: Path, sim_authority: CertificateAuthority
) -> AsyncIterator[Loop]:
    if database_url.startswith("postgresql"):
        await empty_postgres(database_url)
    sock = _listening_socket()
    port = sock.getsockname()[1]
    settings = make_settings(
        tmp_path,
        database_url,
        provider_ca_file=sim_authority.ca_path,
        instance_name=f"http://127.0.0.1:{port}",  # the response URL in every push
    )
    async with AsyncExitStack() as stack:
        services = await build_services(settings)
        stack.push_async_callback(services.close)
        made = await services.access.bootstrap_admin_key()
        assert made is not None
        api = await stack.enter_async_context(api_client(services, made.plaintext))
        await _serve(stack, services, sock)
        sims = await _simulators(stack, sim_authority)
        desk, frozen = await _receivers(stack)
        http = await stack.enter_async_context(
            httpx.AsyncClient(verify=sim_authority.client_context(), timeout=SECONDS)
        )
        keys = await _all_providers(api, *_setups(sims))
        await _actions(api, desk, frozen)
        yield Loop(services, api, _by_provider(sims), keys, desk, frozen, http)


async def _serve(stack: AsyncExitStack, services: Services, sock: socket.socket) -> None:
    """The API on ``sock`` and a worker, both in this event loop, stopped on exit."""
    config = uvicorn.Config(
        create_app(services), log_level="warning", access_log=False, lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    handle = build_worker(services)
    stop = asyncio.Event()
    working = asyncio.create_task(handle.worker.run(stop))

    async def close() -> None:
        server.should_exit = True
        stop.set()
        await asyncio.wait_for(asyncio.gather(serving, working), SECONDS)
        await handle.close()
        sock.close()

    stack.push_async_callback(close)
    while not server.started:
        assert not serving.done(), serving
        await asyncio.sleep(0.01)


async def _simulators(stack: AsyncExitStack, authority: CertificateAuthority) -> dict[str, Any]:
    apns = await start_apns(authority, Clock())
    stack.push_async_callback(apns.server.close)
    fcm = await start_fcm(Clock(), authority)
    stack.push_async_callback(fcm.server.close)
    found: dict[str, Any] = {"apns": apns, "fcm": fcm}
    for name, simulator in (
        ("webpush", WebPushSimulator()),
        ("wns", WnsSimulator()),
        ("hms", HmsSimulator()),
        ("webhook", WebhookSimulator()),
    ):
        found[name] = await stack.enter_async_context(served_over_tls(simulator, authority))
    return found


def _setups(sims: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sims[name] for name in ("apns", "fcm", "webpush", "wns", "hms", "webhook"))


def _by_provider(sims: dict[str, Any]) -> dict[str, Simulator]:
    return {
        name: value.simulator if name in ("apns", "fcm") else value for name, value in sims.items()
    }


async def _receivers(stack: AsyncExitStack) -> tuple[WebhookSimulator, WebhookSimulator]:
    """The host system's endpoints (plain http on loopback: private targets are allowed)."""
    desk, frozen = WebhookSimulator(), WebhookSimulator()
    frozen.configure_reply(mode="contract", success=False, code="FROZEN", message="change freeze")
    for receiver in (desk, frozen):
        running = await start(receiver)
        stack.push_async_callback(running.close)
    return desk, frozen


async def _actions(
    api: httpx.AsyncClient, desk: WebhookSimulator, frozen: WebhookSimulator
) -> None:
    """approve → a webhook to the desk (signed: the desk checks it), reject → record,
    escalate → a webhook whose receiver refuses; the set ``approval`` of the three."""
    handlers = {
        "approve": {"kind": "webhook", "url": f"{desk.base_url}/approvals"},
        "reject": {"kind": "record"},
        "escalate": {
            "kind": "webhook",
            "url": f"{frozen.base_url}/escalations",
            "contract": "success_code_message",
        },
    }
    for key, handler in handlers.items():
        made = await api.post(
            "/v1/apps/live/actions", json={"key": key, "title": key.title(), "handler": handler}
        )
        assert made.status_code == 201, made.text
        if key == "approve":
            desk.register_credentials({"secret": made.json()["secret"]})
    made = await api.post(
        "/v1/apps/live/action-sets", json={"key": "approval", "actions": list(handlers)}
    )
    assert made.status_code == 201, made.text


async def _deliveries(api: httpx.AsyncClient, notification_id: str) -> dict[str, str]:
    """Device id → delivery id."""
    listed = await api.get(f"/v1/notifications/{notification_id}/deliveries?limit=100")
    return {row["device_id"]: row["id"] for row in listed.json()["items"]}


async def test_each_device_approves_and_the_webhook_handler_runs_once(loop: Loop) -> None:
    notification_id = await loop.send()
    for device in DEVICES:
        answer = await loop.respond(device, action="approve", input=f"ok from {device}")
        assert answer.status_code == 200, (device, answer.text)
        body = answer.json()
        assert body["state"] == "succeeded", (device, body)
        assert body["result"]["status"] == 200, (device, body)
        [approval] = [
            a for a in loop.desk.all_received() if a.body["data"]["id"] == body["response"]
        ]
        assert approval.headers["webhook-id"] == body["response"]
        data = approval.body["data"]
        assert (data["action"], data["input"]) == ("approve", f"ok from {device}"), device
        assert data["notification_id"] == notification_id
    events = [item.body["data"] for item in loop.desk.all_received()]
    assert len(events) == len(DEVICES)  # once per device, no repeat
    deliveries = await _deliveries(loop.api, notification_id)
    assert {(e["device_id"], e["delivery_id"]) for e in events} == set(deliveries.items())
    # A device that answered another action of the same push is refused: it answered.
    again = await loop.respond("apns", action="reject")
    assert again.status_code == 409, again.text
    assert len(loop.desk.all_received()) == len(DEVICES)


async def test_a_broken_answer_is_refused_and_pushed_back_and_the_device_can_answer(
    loop: Loop,
) -> None:
    notification_id = await loop.send()
    for device in DEVICES:
        broken = await loop.respond(device, action="reject", raw_body='{"input": "no')
        assert broken.status_code == 400, (device, broken.text)
        assert broken.json()["error"]["code"] == "malformed_json", device
    for device in DEVICES:
        data = await loop.error_push(device)
        assert data["pushgate_kind"] == "action_error", (device, data)
        assert data["notification_id"] == notification_id, device
        answer = await loop.respond(device, action="reject", index=0, input="not now")
        assert answer.status_code == 200, (device, answer.text)
        assert answer.json()["state"] == "succeeded"  # record: nothing to run
    assert loop.desk.all_received() == []


async def test_a_failed_handler_answers_an_error_and_pushes_it_back(loop: Loop) -> None:
    notification_id = await loop.send()
    for device in DEVICES:
        answer = await loop.respond(device, action="escalate")
        assert answer.status_code == 502, (device, answer.text)
        error = answer.json()["error"]
        assert "change freeze" in orjson.dumps(error).decode(), (device, error)
    assert len(loop.frozen.all_received()) == len(DEVICES)
    for device in DEVICES:
        data = await loop.error_push(device)
        assert data["pushgate_kind"] == "action_error", (device, data)
        assert (data["notification_id"], data["action"]) == (notification_id, "escalate")
