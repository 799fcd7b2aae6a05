"""Long relayed sends (docs/relay.md, "Long sends"): a batch that prefers ``respond-async``
or outlasts the relay's bound is answered 202 with its ``Location``; its answers are read
there by the origin that sent it alone; the origin's relay client polls a 202 until the
answers come. The relay runs in this process (one per test, in-process API or one real
socket), its webhook client posting to the webhook simulator."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from pushgate.api.app import create_app
from pushgate.core.identity import PayloadIdentity
from pushgate.core.messages import Message
from pushgate.core.notifications import DeviceAddress
from pushgate.core.outcomes import OutcomeKind
from pushgate.providers.base import Delivery, ProviderCredentials
from pushgate.providers.options import ProviderOptions
from pushgate.providers.relay import RelayPool, RelayProvider
from pushgate.simulators.base import Fault
from pushgate.simulators.identity import identity_of
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import Services, build_services
from tests.conftest import api_client, empty_postgres, make_settings

VENDOR = "vendor"
ASYNC = {"Prefer": "respond-async"}


@dataclass
class Relay:
    services: Services
    admin: httpx.AsyncClient
    origin: httpx.AsyncClient  # with the origin's relay key
    origin_key: str
    sim: WebhookSimulator

    def to(self, name: str) -> list[Any]:
        return [i.body for i in self.sim.all_received() if i.token == f"/hook/{name}"]


@asynccontextmanager
async def relay_at(
    database_url: str, tmp_path: Path, sim: WebhookSimulator, **settings: Any
) -> AsyncIterator[Relay]:
    """A relay with the vendor app (webhook credentials at ``sim``) and one origin."""
    if database_url.startswith("postgresql"):
        await empty_postgres(database_url)
    services = await build_services(make_settings(tmp_path, database_url, **settings))
    try:
        made = await services.access.bootstrap_admin_key()
        assert made is not None
        async with api_client(services, made.plaintext) as admin:
            for method, path, body in (
                ("POST", "/v1/apps", {"name": VENDOR}),
                ("PATCH", f"/v1/apps/{VENDOR}", {"relay": True}),
                ("PUT", f"/v1/apps/{VENDOR}/credentials/webhook", {"url": f"{sim.base_url}/hook"}),
            ):
                answer = await admin.request(method, path, json=body)
                assert answer.status_code in (200, 201), answer.text
            key = await add_origin(admin, "origin-1")
            async with api_client(services, key) as origin:
                yield Relay(services, admin, origin, key, sim)
    finally:
        await services.close()


async def add_origin(admin: httpx.AsyncClient, instance_id: str) -> str:
    body = {
        "instance_id": instance_id,
        "instance_name": f"https://{instance_id}.example",
        "apps": [VENDOR],
    }
    assert (await admin.post("/v1/relay/origins", json=body)).status_code == 201
    made = await admin.post(f"/v1/relay/origins/{instance_id}/keys", json={})
    assert made.status_code == 201, made.text
    key: str = made.json()["key"]
    return key


@pytest.fixture
async def relay(
    database_url: str, tmp_path: Path, webhook_sim: WebhookSimulator
) -> AsyncIterator[Relay]:
    async with relay_at(database_url, tmp_path, webhook_sim) as made:
        yield made


def message(relay: Relay, message_id: str, name: str) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "id": message_id,
        "provider": "webhook",
        "token": f"{relay.sim.base_url}/hook/{name}",
        "message": {"title": "Hello"},
        "identity": {"app": "crm", "notification": "n-1", "delivery": message_id, "itoken": "t"},
        "expires_at": now + 3_600_000,
        "created_at": now,
    }


def batch(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"messages": list(messages)}


MESSAGES = f"/v1/relay/{VENDOR}/messages"


async def test_a_batch_preferring_respond_async_is_answered_202_and_read_at_its_location(
    relay: Relay,
) -> None:
    # The send takes a while: the batch is still being sent when first read.
    relay.sim.inject(Fault(latency_ms=400))
    body = batch(message(relay, "a-1", "ann"))
    accepted = await relay.origin.post(MESSAGES, json=body, headers=ASYNC)
    assert accepted.status_code == 202, accepted.text
    batch_id = accepted.json()["batch"]
    assert accepted.json() == {"batch": batch_id, "state": "sending"}
    location = accepted.headers["location"]
    assert location == f"/v1/relay/{VENDOR}/batches/{batch_id}"
    assert accepted.headers["retry-after"] == "1"
    pending = await relay.origin.get(location)
    assert pending.status_code == 202, pending.text
    assert pending.headers["retry-after"] == "1"
    await relay.services.relay.drain()
    done = await relay.origin.get(location)
    assert done.status_code == 200, done.text
    assert done.json() == {"answers": [{"id": "a-1", "outcome": "sent"}]}
    assert len(relay.to("ann")) == 1
    # The same id sent again gets its first answer, without a second push.
    again = await relay.origin.post(MESSAGES, json=body)
    assert again.json() == {"answers": [{"id": "a-1", "outcome": "sent"}]}
    assert len(relay.to("ann")) == 1


async def test_a_batch_is_read_by_the_origin_that_sent_it_only(relay: Relay) -> None:
    accepted = await relay.origin.post(
        MESSAGES, json=batch(message(relay, "b-1", "bob")), headers=ASYNC
    )
    location = accepted.headers["location"]
    other_key = await add_origin(relay.admin, "origin-2")
    async with api_client(relay.services, other_key) as other:
        refused = await other.get(location)
    assert refused.status_code == 404, refused.text
    assert refused.json()["error"]["code"] == "not_found"
    unknown = await relay.origin.get(f"/v1/relay/{VENDOR}/batches/no-such-batch")
    assert unknown.status_code == 404, unknown.text
    # An admin key is no origin.
    assert (await relay.admin.get(location)).status_code == 403
    await relay.services.relay.drain()


async def test_sync_is_the_default_and_a_send_past_the_bound_is_answered_202(
    relay: Relay,
) -> None:
    answered = await relay.origin.post(MESSAGES, json=batch(message(relay, "c-1", "cy")))
    assert answered.status_code == 200, answered.text
    assert answered.json() == {"answers": [{"id": "c-1", "outcome": "sent"}]}
    # Prefer: wait=0 (RFC 7240 §4.3) makes the bound nothing: not answered by then, 202.
    late = await relay.origin.post(
        MESSAGES, json=batch(message(relay, "c-2", "cy")), headers={"Prefer": "wait=0"}
    )
    assert late.status_code == 202, late.text
    await relay.services.relay.drain()
    done = await relay.origin.get(late.headers["location"])
    assert done.json() == {"answers": [{"id": "c-2", "outcome": "sent"}]}
    assert len(relay.to("cy")) == 2


async def test_a_copy_sent_while_the_first_is_in_flight_is_answered_retry(relay: Relay) -> None:
    relay.sim.inject(Fault(latency_ms=300))
    body = batch(message(relay, "d-1", "dee"))
    first, second = await asyncio.gather(
        relay.origin.post(MESSAGES, json=body), relay.origin.post(MESSAGES, json=body)
    )
    outcomes = sorted(answer.json()["answers"][0]["outcome"] for answer in (first, second))
    assert outcomes == ["retry", "sent"]
    await relay.services.relay.drain()
    assert len(relay.to("dee")) == 1
    # Once the first is written, a copy gets its answer.
    third = await relay.origin.post(MESSAGES, json=body)
    assert third.json() == {"answers": [{"id": "d-1", "outcome": "sent"}]}
    assert len(relay.to("dee")) == 1
    await relay.services.relay.drain()
    today = (await relay.admin.get("/v1/relay/origins/origin-1")).json()["today"]
    assert today == {"sent": 2, "retry": 1}  # answers given, the repeat's included


@asynccontextmanager
async def serving(services: Services) -> AsyncIterator[str]:
    """The relay's API on a real loopback socket, in this event loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(services), log_level="warning", access_log=False, lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), "the relay did not start"
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def delivery(delivery_id: str, token: str) -> Delivery:
    now = int(time.time() * 1000)
    identity = PayloadIdentity("claimed", "https://claimed.example", "crm", "n", delivery_id, "t")
    device = DeviceAddress("d", token, None, None, None)
    message = Message(title="Hello")
    return Delivery(delivery_id, device, message, now + 3_600_000, now, False, identity)


async def test_the_origin_polls_a_202_until_the_answers_come(
    database_url: str, tmp_path: Path, webhook_sim: WebhookSimulator
) -> None:
    # A relay whose bound is nothing answers every batch 202.
    async with relay_at(database_url, tmp_path, webhook_sim, relay_sync_seconds=0) as relay:
        dead = f"{webhook_sim.base_url}/hook/gone"
        webhook_sim.mark_dead("/hook/gone")
        async with serving(relay.services) as base:
            credentials = ProviderCredentials(
                "crm-app", "relay", {"url": base, "app": VENDOR}, {"key": relay.origin_key}
            )
            pool = RelayPool(credentials, ProviderOptions(allow_private_targets=True))
            provider = RelayProvider(pool, "webhook", owns_pool=True)
            try:
                started = time.monotonic()
                outcomes = await provider.send(
                    [delivery("e-1", f"{webhook_sim.base_url}/hook/eve"), delivery("e-2", dead)]
                )
                took = time.monotonic() - started
            finally:
                await provider.close()
            await relay.services.relay.drain()
    assert [o.kind for o in outcomes] == [OutcomeKind.SENT, OutcomeKind.INVALID_TOKEN]
    assert took >= 1.0  # the relay's Retry-After was honoured before the first poll
    [body] = relay.to("eve")
    identity = identity_of("webhook", body)
    assert identity is not None
    assert identity.fields["instance"] == "origin-1"  # the relay's stamp, not the claim


async def test_a_batch_and_its_ids_are_forgotten_after_their_window(relay: Relay) -> None:
    body = batch(message(relay, "f-1", "fay"))
    accepted = await relay.origin.post(MESSAGES, json=body, headers=ASYNC)
    await relay.services.relay.drain()
    location = accepted.headers["location"]
    assert (await relay.origin.get(location)).status_code == 200
    # Past the window (an hour after the message's expiry, an hour from now).
    later = int(time.time() * 1000) + 3 * 3_600_000
    assert await relay.services.relay_store.purge_accepted(later) == 1
    assert (await relay.origin.get(location)).status_code == 404
    # The id is forgotten too: sent again, it goes out again.
    again = await relay.origin.post(MESSAGES, json=body)
    assert again.json() == {"answers": [{"id": "f-1", "outcome": "sent"}]}
    assert len(relay.to("fay")) == 2
