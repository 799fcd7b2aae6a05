"""Relaying between two real ``pushgate serve`` processes (docs/relay.md): an origin with
``relay`` credentials and no provider credentials, and a relay that holds the provider
credentials (the TLS simulators). What reaches the devices carries the origin's identity;
the answers come back as outcomes at the origin."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from pushgate.simulators.identity import identity_of
from pushgate.simulators.server import RunningServer, start
from pushgate.simulators.tls import CertificateAuthority
from pushgate.simulators.webhook import WebhookSimulator
from tests.e2e.serving import free_port, pushgate_env, wait_until
from tests.e2e.test_send_cli import PRIVATE_TARGETS, admin_key
from tests.providers.harness import ApnsSetup, Clock, start_apns

T = TypeVar("T")
VENDOR = "vendor"  # the relay's app
CRM = "crm"  # the origin's app


async def eventually(check: Callable[[], Awaitable[T | None]], seconds: float, what: str) -> T:
    """Poll ``check`` (the processes work on their own clocks) until it gives a value."""
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class Server:
    base: str
    client: httpx.AsyncClient
    process: Any
    data_dir: Path
    env: dict[str, str]


@dataclass
class Pair:
    relay: Server
    origin: Server
    receiver: WebhookSimulator
    apns: ApnsSetup
    origin_key: str  # the relay key the origin holds
    instance_id: str
    instance_name: str


async def _server(data_dir: Path, port: int | None = None, **env: str) -> Server:
    key = await admin_key(data_dir)
    if port is not None:
        env = {**env, "PUSHGATE_BIND": f"127.0.0.1:{port}"}
    base, process = await asyncio.to_thread(_start, data_dir, env)
    client = httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    return Server(base, client, process, data_dir, env)


def _start(data_dir: Path, env: dict[str, str]) -> tuple[str, subprocess.Popen[str]]:
    """``pushgate serve`` as ``start_server`` starts it, waiting longer for it to answer:
    two servers start per test, on a machine the parallel tests share."""
    port = int(env["PUSHGATE_BIND"].rsplit(":", 1)[1]) if "PUSHGATE_BIND" in env else free_port()
    bind = {**env, "PUSHGATE_BIND": f"127.0.0.1:{port}"}
    log = (data_dir.parent / f"{data_dir.name}-serve-{port}.log").open("a")
    process = subprocess.Popen(
        [sys.executable, "-m", "pushgate", "serve", "--init"],
        env=pushgate_env(data_dir, **bind),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log.close()
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"pushgate serve on {data_dir} exited")
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answers, 120, f"pushgate serve on {data_dir} to answer")
    return base, process


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


def ok(answer: httpx.Response, *statuses: int) -> Any:
    assert answer.status_code in (statuses or (200, 201)), answer.text
    return answer.json() if answer.content else None


async def add_origin(relay: Server, origin_id: str, name: str, **quota: Any) -> str:
    """An origin at the relay allowed the vendor app; its relay key."""
    body = {"instance_id": origin_id, "instance_name": name, "apps": [VENDOR], **quota}
    ok(await relay.client.post("/v1/relay/origins", json=body), 201)
    made = ok(await relay.client.post(f"/v1/relay/origins/{origin_id}/keys", json={}), 201)
    key: str = made["key"]
    return key


@pytest.fixture
async def pair(tmp_path: Path, sim_authority: CertificateAuthority) -> AsyncIterator[Pair]:
    receiver = WebhookSimulator()
    running: RunningServer = await start(receiver, ssl_context=sim_authority.server_context())
    apns = await start_apns(sim_authority, Clock())
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    receiver.register_credentials({"secret": secret})
    trust = {"PUSHGATE_PROVIDER_CA_FILE": str(sim_authority.ca_path)}
    relay = await _server(tmp_path / "relay", **PRIVATE_TARGETS, **trust)
    origin = await _server(tmp_path / "origin", **PRIVATE_TARGETS)
    try:
        ok(await relay.client.post("/v1/apps", json={"name": VENDOR}), 201)
        ok(await relay.client.patch(f"/v1/apps/{VENDOR}", json={"relay": True}))
        hook = {"url": f"{receiver.base_url}/hook", "signing_secret": secret}
        ok(await relay.client.put(f"/v1/apps/{VENDOR}/credentials/webhook", json=hook))
        public = apns.credentials().public
        names = ("team_id", "key_id", "bundle_id", "environment", "base_url")
        apns_body = {**{k: public[k] for k in names}, "private_key": apns.key.private_pem}
        ok(await relay.client.put(f"/v1/apps/{VENDOR}/credentials/apns", json=apns_body))
        instance = ok(await origin.client.get("/v1/instance"))
        instance_id, instance_name = instance["instance_id"], instance["instance_name"]
        key = await add_origin(
            relay,
            instance_id,
            instance_name,
            rate_limit={"per_second": 1000, "burst": 1000},
        )
        ok(await origin.client.post("/v1/apps", json={"name": CRM}), 201)
        credentials = {"url": relay.base, "key": key, "app": VENDOR}
        ok(await origin.client.put(f"/v1/apps/{CRM}/credentials/relay", json=credentials))
        yield Pair(relay, origin, receiver, apns, key, instance_id, instance_name)
    finally:
        for server in (origin, relay):
            await server.client.aclose()
            await asyncio.to_thread(_stop, server.process)
        await apns.server.close()
        await running.close()


async def register(pair: Pair, name: str) -> str:
    token = f"{pair.receiver.base_url}/hook/{name}"
    body = {"provider": "webhook", "token": token, "user": name}
    device_id: str = ok(await pair.origin.client.post(f"/v1/apps/{CRM}/devices", json=body))["id"]
    return device_id


async def send(pair: Pair, users: list[str], **extra: Any) -> str:
    body = {"app": CRM, "audience": {"users": users}, "title": "Change 7", **extra}
    notification_id: str = ok(await pair.origin.client.post("/v1/notifications", json=body), 202)[
        "id"
    ]
    return notification_id


async def received(pair: Pair, name: str, count: int = 1) -> list[Any]:
    async def bodies() -> list[Any] | None:
        found = [i.body for i in pair.receiver.all_received() if i.token == f"/hook/{name}"]
        return found if len(found) >= count else None

    return await eventually(bodies, 30, f"{count} pushes to {name}")


async def settled(pair: Pair, notification_id: str) -> dict[str, Any]:
    """The origin's status of the notification once nothing is pending."""

    async def done() -> dict[str, Any] | None:
        status: dict[str, Any] = ok(
            await pair.origin.client.get(f"/v1/notifications/{notification_id}")
        )
        return status if status["state"] not in ("scheduled", "sending") else None

    return await eventually(done, 45, f"notification {notification_id} to settle")


async def test_a_relayed_push_carries_the_origins_identity(pair: Pair) -> None:
    await register(pair, "alice")
    notification_id = await send(pair, ["alice"])
    [body] = await received(pair, "alice")
    identity = identity_of("webhook", body)
    assert identity is not None
    assert identity.fields["instance"] == pair.instance_id
    assert identity.fields["server"] == pair.instance_name
    assert identity.fields["app"] == CRM
    assert identity.fields["notification"] == notification_id
    status = await settled(pair, notification_id)
    assert status["state"] == "completed", status
    # The interaction token passed through the relay unread: the device reports the open
    # to the origin, which alone can verify it.
    event = {
        "notification": notification_id,
        "delivery": identity.fields["delivery"],
        "token": identity.fields["itoken"],
        "event": "opened",
        "at": datetime.now(UTC).isoformat(),
    }
    report = {"app": CRM, "events": [event]}
    assert ok(await pair.origin.client.post("/v1/interactions", json=report))["recorded"] == 1
    # The relay counted it for the origin.
    origin = ok(await pair.relay.client.get(f"/v1/relay/origins/{pair.instance_id}"))
    assert origin["today"]["sent"] == 1


async def test_an_apns_410_at_the_relay_invalidates_the_device_at_the_origin(pair: Pair) -> None:
    token = "ab" * 32
    body = {"provider": "apns", "token": token, "user": "dora"}
    device = ok(await pair.origin.client.post(f"/v1/apps/{CRM}/devices", json=body))
    pair.apns.simulator.mark_dead(token)
    notification_id = await send(pair, ["dora"])
    await settled(pair, notification_id)
    found = ok(await pair.origin.client.get(f"/v1/devices/{device['id']}"))
    assert found["state"] == "invalid", found


async def test_an_action_answer_from_a_relayed_push_reaches_the_origin(pair: Pair) -> None:
    action = {"key": "approve", "title": "Approve", "handler": {"kind": "record"}}
    ok(await pair.origin.client.post(f"/v1/apps/{CRM}/actions", json=action), 201)
    await register(pair, "erin")
    notification_id = await send(pair, ["erin"], actions=["approve"])
    await received(pair, "erin")
    answer = await pair.receiver.respond({"token": "/hook/erin", "action": "approve"})
    assert answer.status in (200, 202), answer.body
    assert dict(answer.headers)["sim-answer-url"].startswith(pair.instance_name)
    responses = ok(await pair.origin.client.get(f"/v1/notifications/{notification_id}/responses"))
    assert [r["action"] for r in responses["items"]] == ["approve"]


async def test_another_origins_key_cannot_claim_the_identity(pair: Pair) -> None:
    other = await add_origin(pair.relay, "other-instance", "https://other.example")
    message = _message("m-1", f"{pair.receiver.base_url}/hook/mallory")
    message["identity"]["instance"] = pair.instance_id
    message["identity"]["server"] = pair.instance_name
    headers = {"Authorization": f"Bearer {other}"}
    async with httpx.AsyncClient(base_url=pair.relay.base, headers=headers) as client:
        answers = ok(await client.post(f"/v1/relay/{VENDOR}/messages", json=_batch(message)))
        assert answers == {"answers": [{"id": "m-1", "outcome": "sent"}]}
        refused = await client.post("/v1/relay/nosuch/messages", json=_batch(message))
        assert refused.status_code == 404, refused.text
    [body] = await received(pair, "mallory")
    identity = identity_of("webhook", body)
    assert identity is not None
    assert identity.fields["instance"] == "other-instance"
    assert identity.fields["server"] == "https://other.example"


async def test_a_retried_batch_id_is_not_sent_twice(pair: Pair) -> None:
    batch = _batch(_message("again-1", f"{pair.receiver.base_url}/hook/frank"))
    headers = {"Authorization": f"Bearer {pair.origin_key}"}
    async with httpx.AsyncClient(base_url=pair.relay.base, headers=headers) as client:
        first = ok(await client.post(f"/v1/relay/{VENDOR}/messages", json=batch))
        second = ok(await client.post(f"/v1/relay/{VENDOR}/messages", json=batch))
    assert first == second == {"answers": [{"id": "again-1", "outcome": "sent"}]}
    assert len(await received(pair, "frank")) == 1
    assert pair.receiver.counters["requests"] == 1


async def test_a_quota_overrun_is_retried_later_without_loss(pair: Pair) -> None:
    patch = {"rate_limit": {"per_second": 2, "burst": 2}}
    ok(await pair.relay.client.patch(f"/v1/relay/origins/{pair.instance_id}", json=patch))
    names = [f"user{i}" for i in range(6)]
    for name in names:
        await register(pair, name)
    notification_id = await send(pair, names)
    status = await settled(pair, notification_id)
    assert status["state"] == "completed", status
    for name in names:
        assert len(await received(pair, name)) == 1
    origin = ok(await pair.relay.client.get(f"/v1/relay/origins/{pair.instance_id}"))
    assert origin["today"]["sent"] == 6
    assert origin["today"]["quota"] >= 1


async def test_a_relay_down_for_a_while_delivers_once_it_is_back(pair: Pair) -> None:
    await register(pair, "gina")
    relay = pair.relay
    port = int(relay.base.rsplit(":", 1)[1])
    await asyncio.to_thread(_stop, relay.process)
    notification_id = await send(pair, ["gina"])

    async def tried() -> bool:
        found = ok(await pair.origin.client.get(f"/v1/notifications/{notification_id}/deliveries"))
        return any(item["attempts"] >= 1 for item in found["items"])

    await eventually(tried, 30, "the origin to try the relay")
    restarted = await _server(relay.data_dir, port=port, **relay.env)
    await restarted.client.aclose()
    relay.process = restarted.process
    await received(pair, "gina")
    status = await settled(pair, notification_id)
    assert status["state"] == "completed", status


async def test_a_revoked_relay_key_pauses_the_origins_credentials(pair: Pair) -> None:
    keys = ok(await pair.relay.client.get("/v1/keys"))
    [relay_key] = [k for k in keys if "relay" in k["scopes"]]
    ok(await pair.relay.client.delete(f"/v1/keys/{relay_key['id']}"), 200, 204)
    await register(pair, "hank")
    await send(pair, ["hank"])

    async def paused() -> bool:
        listed = ok(await pair.origin.client.get(f"/v1/apps/{CRM}/credentials"))
        return any(c["kind"] == "relay" and c.get("paused_at") for c in listed)

    await eventually(paused, 30, "the relay credentials to pause")
    assert not [i for i in pair.receiver.all_received() if i.token == "/hook/hank"]


async def test_twenty_origins_at_once_each_stay_within_their_quota(pair: Pair) -> None:
    """Each origin's bucket holds 5 and refills once in 100 s: of 20 messages each sent at
    once, exactly 5 go out per origin and the rest are answered retry."""
    keys = [
        await add_origin(
            pair.relay,
            f"origin-{n}",
            f"https://origin-{n}.example",
            rate_limit={"per_second": 0.01, "burst": 5},
        )
        for n in range(20)
    ]

    async def burst(n: int, key: str) -> list[str]:
        messages = [
            _message(f"o{n}-m{i}", f"{pair.receiver.base_url}/hook/o{n}") for i in range(20)
        ]
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(
            base_url=pair.relay.base, headers=headers, timeout=30
        ) as client:
            answer = ok(await client.post(f"/v1/relay/{VENDOR}/messages", json=_batch(*messages)))
        return [item["outcome"] for item in answer["answers"]]

    outcomes = await asyncio.gather(*(burst(n, key) for n, key in enumerate(keys)))
    for n, got in enumerate(outcomes):
        assert got.count("sent") == 5, (n, got)
        assert got.count("retry") == 15, (n, got)
        delivered = [i for i in pair.receiver.all_received() if i.token == f"/hook/o{n}"]
        assert len(delivered) == 5


def _message(message_id: str, token: str) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "id": message_id,
        "provider": "webhook",
        "token": token,
        "message": {"title": "Hello"},
        "identity": {
            "app": CRM,
            "notification": "n-1",
            "delivery": message_id,
            "itoken": "the-origins-token",
        },
        "expires_at": now + 3_600_000,
        "created_at": now,
    }


def _batch(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"messages": list(messages)}
