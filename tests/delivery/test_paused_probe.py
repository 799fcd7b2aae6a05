"""Paused credentials probe on their own and resume when the provider takes them again.

APNs answering InvalidProviderToken while it restarts pauses the app's credentials; the
next batch then sends one delivery alone as a probe, waits longer after each refusal (up
to ``paused_recheck_seconds``), and once a probe is accepted the pause lifts without anyone
setting the credentials again (docs/architecture.md §5).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from pushgate.simulators.base import Fault
from pushgate.simulators.tls import CertificateAuthority
from pushgate.wiring import Services
from tests.delivery.conftest import settled
from tests.providers.harness import ApnsSetup, Clock, start_apns

pytestmark = pytest.mark.usefixtures("worker")
DEVICES = 3
# The first batch's three requests, then two refused probes; the third probe is taken.
REFUSALS = DEVICES + 2


@pytest.fixture
async def apns(sim_authority: CertificateAuthority) -> AsyncIterator[ApnsSetup]:
    setup = await start_apns(sim_authority, Clock())
    yield setup
    await setup.server.close()


async def test_a_passing_refusal_resumes_without_new_credentials(
    client: httpx.AsyncClient, apns: ApnsSetup, services: Services
) -> None:
    assert (await client.post("/v1/apps", json={"name": "live"})).status_code == 201
    public = apns.credentials().public
    fields = ("team_id", "key_id", "bundle_id", "environment", "base_url")
    body = {**{k: public[k] for k in fields}, "private_key": apns.key.private_pem}
    made = await client.put("/v1/apps/live/credentials/apns", json=body)
    assert made.status_code == 200, made.text
    tokens = [secrets.token_hex(32) for _ in range(DEVICES)]
    for token in tokens:
        answer = await client.post(
            "/v1/apps/live/devices", json={"provider": "apns", "token": token}
        )
        assert answer.status_code == 201, answer.text
    apns.simulator.inject(Fault(status=403, reason="InvalidProviderToken", count=REFUSALS))

    sent = await client.post(
        "/v1/notifications", json={"app": "live", "audience": {"everyone": True}, "title": "hi"}
    )
    paused_seen = False
    for _ in range(200):
        [listed] = (await client.get("/v1/apps/live/credentials")).json()
        paused_seen = paused_seen or listed["paused_reason"] == "InvalidProviderToken"
        if paused_seen:
            break
        await asyncio.sleep(0.02)
    assert paused_seen

    final = await settled(client, sent.json()["id"])
    assert final["deliveries"]["sent"] == DEVICES, final
    assert sorted(apns.simulator.received) == sorted(tokens)
    assert all(len(apns.simulator.received[t]) == 1 for t in tokens)
    assert apns.simulator.counters["faults"] == REFUSALS
    [listed] = (await client.get("/v1/apps/live/credentials")).json()
    assert listed["paused_reason"] is None
    # The credentials were never set again: resuming is the probe's doing.
    assert listed["updated_at"] == made.json()["updated_at"]
    resumed = services.metrics.registry.get_sample_value(
        "pushgate_credentials_resumed_total", {"provider": "apns"}
    )
    assert resumed == 1
    # The pause and the resume each told the operator once, in that order
    # (docs/operations.md, "Operational events"), though several batches were refused.
    answer = await client.get("/v1/operational-events")
    assert answer.status_code == 200, answer.text
    told = [(e["kind"], e["subject"], e["details"]) for e in reversed(answer.json()["items"])]
    app_id = told[0][1]["id"]
    assert told == [
        (
            "credentials.paused",
            {"type": "app", "id": app_id},
            {"provider": "apns", "reason": "InvalidProviderToken"},
        ),
        ("credentials.resumed", {"type": "app", "id": app_id}, {"provider": "apns"}),
    ]
