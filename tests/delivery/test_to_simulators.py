"""From the API to the provider simulators, what each receives: a TTL of 0 ("deliver now or
never") as each provider's own TTL of 0, in one attempt never retried; a badge of 0 alone."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from pushgate.core.clock import ManualClock
from pushgate.simulators.base import Fault
from pushgate.simulators.hms import HmsSimulator
from pushgate.simulators.tls import CertificateAuthority
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.simulators.webpush import WebPushSimulator
from pushgate.simulators.wns import LOGIN_PATH as WNS_LOGIN_PATH
from pushgate.simulators.wns import WnsSimulator
from pushgate.wiring import Services, build_services
from tests.conftest import empty_postgres, make_settings
from tests.delivery.conftest import register, settled, work_through
from tests.providers.harness import ApnsSetup, Clock, FcmSetup, start_apns, start_fcm

WNS_PACKAGE = "ms-app://s-1-15-2-1234567890-1234567890-1234567890-1234567890"
NOW = {"audience": {"everyone": True}, "title": "Doors open", "ttl": 0}


@pytest.fixture
async def services(
    database_url: str, tmp_path: Path, sim_authority: CertificateAuthority
) -> AsyncIterator[Services]:
    """The pipeline on each database, trusting the simulators' CA (every one speaks TLS)."""
    if database_url.startswith("postgresql"):
        await empty_postgres(database_url)
    settings = make_settings(tmp_path, database_url, provider_ca_file=sim_authority.ca_path)
    built = await build_services(settings)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
async def apns(sim_authority: CertificateAuthority) -> AsyncIterator[ApnsSetup]:
    setup = await start_apns(sim_authority, Clock())
    yield setup
    await setup.server.close()


@pytest.fixture
async def fcm(sim_authority: CertificateAuthority) -> AsyncIterator[FcmSetup]:
    setup = await start_fcm(Clock(), sim_authority)
    yield setup
    await setup.server.close()


async def _put(client: httpx.AsyncClient, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.put(f"/v1/apps/live/credentials/{kind}", json=body)
    assert answer.status_code == 200, answer.text
    made: dict[str, Any] = answer.json()
    return made


async def _device(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    answer = await client.post("/v1/apps/live/devices", json=body)
    assert answer.status_code == 201, answer.text


async def _apns_app(client: httpx.AsyncClient, apns: ApnsSetup) -> str:
    """The app ``live`` with APNs credentials at the simulator and one iPhone; its token."""
    assert (await client.post("/v1/apps", json={"name": "live"})).status_code == 201
    public = apns.credentials().public
    keys = ("team_id", "key_id", "bundle_id", "environment", "base_url")
    await _put(
        client, "apns", {**{k: public[k] for k in keys}, "private_key": apns.key.private_pem}
    )
    token = secrets.token_hex(32)
    await _device(client, {"provider": "apns", "token": token})
    return token


async def _every_other_provider(
    client: httpx.AsyncClient,
    fcm: FcmSetup,
    webpush: WebPushSimulator,
    wns: WnsSimulator,
    hms: HmsSimulator,
) -> dict[str, str]:
    """FCM, Web Push, WNS and HMS credentials at their simulators, with a device each: the
    key each simulator files what it receives under, by provider."""
    await _put(client, "fcm", {"service_account": fcm.account, "base_url": fcm.server.base_url})
    fcm_token = f"now:{secrets.token_urlsafe(24)}"
    await _device(client, {"provider": "fcm", "token": fcm_token})
    made = await _put(client, "webpush", {"generate": True, "subject": "mailto:ops@example.com"})
    subscription = webpush.create_subscription(made["values"]["application_server_key"])
    await _device(client, {"provider": "webpush", "subscription": subscription})
    wns_secret = secrets.token_urlsafe(24)
    wns.register_credentials({"client_id": WNS_PACKAGE, "client_secret": wns_secret})
    login = f"{wns.base_url}{WNS_LOGIN_PATH}"
    await _put(
        client,
        "wns",
        {"package_sid": WNS_PACKAGE, "client_secret": wns_secret, "token_url": login},
    )
    channel = wns.create_channel(WNS_PACKAGE)
    await _device(client, {"provider": "wns", "token": channel})
    hms_secret = secrets.token_urlsafe(24)
    hms_login = hms.register_credentials({"client_id": "104000001", "client_secret": hms_secret})
    await _put(
        client,
        "hms",
        {
            "app_id": "104000001",
            "client_secret": hms_secret,
            "token_url": hms_login["token_url"],
            "base_url": hms.base_url,
        },
    )
    hms_token = f"IQAAAACy{secrets.token_urlsafe(32)}"
    await _device(client, {"provider": "hms", "token": hms_token})
    return {
        "fcm": fcm_token,
        "webpush": str(subscription["endpoint"]).rsplit("/", 1)[-1],
        "wns": channel.rsplit("/", 1)[-1],
        "hms": hms_token,
    }


@pytest.mark.usefixtures("worker")
async def test_ttl_0_is_each_providers_now_or_never(
    client: httpx.AsyncClient,
    apns: ApnsSetup,
    fcm: FcmSetup,
    webpush_sim: WebPushSimulator,
    wns_sim: WnsSimulator,
    hms_sim: HmsSimulator,
) -> None:
    apns_token = await _apns_app(client, apns)
    keys = await _every_other_provider(client, fcm, webpush_sim, wns_sim, hms_sim)
    answer = await client.post("/v1/notifications", json={"app": "live", **NOW})
    assert answer.status_code == 202, answer.text
    final = await settled(client, answer.json()["id"])
    assert (final["state"], final["deliveries"]["sent"]) == ("completed", 5), final
    # The one attempt may start until 30 s after acceptance (docs/delivery.md).
    window = datetime.fromisoformat(final["expires_at"]) - datetime.fromisoformat(
        final["created_at"]
    )
    assert window.total_seconds() == 30
    # docs/providers.md §1.2: apns-expiration 0 is one attempt, not stored.
    [to_iphone] = apns.simulator.received[apns_token]
    assert to_iphone.headers["apns-expiration"] == "0"
    # §2.3: FCM's ttl "0s", and the same for the iOS and web devices it reaches.
    [to_android] = fcm.simulator.received[keys["fcm"]]
    assert to_android.body["android"]["ttl"] == "0s"
    assert to_android.body["apns"]["headers"]["apns-expiration"] == "0"
    assert to_android.body["webpush"]["headers"]["TTL"] == "0"
    # §3.1: TTL 0 reaches only a user agent that is there now.
    [to_browser] = webpush_sim.received[keys["webpush"]]
    assert to_browser.headers["ttl"] == "0"
    # §4.3: WNS has no TTL for "now or never"; no-cache keeps it from an offline device.
    [to_windows] = wns_sim.received[keys["wns"]]
    assert to_windows.headers["x-wns-cache-policy"] == "no-cache"
    assert "x-wns-ttl" not in to_windows.headers
    # §5.2: HMS takes 1 s at least, the closest it has.
    [to_huawei] = hms_sim.received[keys["hms"]]
    assert to_huawei.body["android"]["ttl"] == "1s"


@pytest.mark.usefixtures("worker")
async def test_ttl_0_is_not_retried_after_a_transient_failure(
    client: httpx.AsyncClient, apns: ApnsSetup
) -> None:
    apns_token = await _apns_app(client, apns)
    apns.simulator.inject(Fault(status=503, reason="ServiceUnavailable", count=1))
    answer = await client.post("/v1/notifications", json={"app": "live", **NOW})
    final = await settled(client, answer.json()["id"])
    assert final["state"] == "completed"
    assert final["deliveries"]["expired"] == 1, final
    listed = (await client.get(f"/v1/notifications/{answer.json()['id']}/deliveries")).json()
    [delivery] = listed["items"]
    assert (delivery["state"], delivery["attempts"], delivery["status"]) == ("expired", 1, 503)
    assert apns.simulator.received[apns_token] == []
    assert apns.simulator.counters["faults"] == 1


@pytest.mark.usefixtures("worker")
async def test_a_webhook_with_ttl_0_gets_one_attempt(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    """A webhook has no TTL on the wire: "now or never" is its one attempt."""
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/once")
    webhook_sim.inject(Fault(status=503, retry_after=1, count=1))
    answer = await client.post("/v1/notifications", json={"app": webhook_app, **NOW})
    final = await settled(client, answer.json()["id"])
    assert final["deliveries"]["expired"] == 1, final
    assert len(webhook_sim.attempts) == 1


async def test_ttl_0_waiting_in_the_queue_still_gets_its_attempt(
    client: httpx.AsyncClient, services: Services, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/late")
    answer = await client.post("/v1/notifications", json={"app": webhook_app, **NOW})
    assert answer.status_code == 202, answer.text
    # No worker yet: the notification waits in the queue, for 29 of the 30 seconds a
    # TTL of 0 allows its attempt to start in (src/pushgate/core/sending.py).
    clock = ManualClock()
    clock.advance(29)
    await work_through(services, clock=clock)
    final = (await client.get(f"/v1/notifications/{answer.json()['id']}")).json()
    assert (final["state"], final["deliveries"]["sent"]) == ("completed", 1), final
    assert len(webhook_sim.received["/hook/late"]) == 1


@pytest.mark.usefixtures("worker")
async def test_a_badge_of_0_alone_reaches_apns(client: httpx.AsyncClient, apns: ApnsSetup) -> None:
    """0 clears the badge: a push of its own, not "nothing to send"."""
    apns_token = await _apns_app(client, apns)
    body = {"app": "live", "audience": {"everyone": True}, "badge": 0}
    answer = await client.post("/v1/notifications", json=body)
    assert answer.status_code == 202, answer.text
    final = await settled(client, answer.json()["id"])
    assert final["deliveries"]["sent"] == 1, final
    [to_iphone] = apns.simulator.received[apns_token]
    # The badge and nothing else for iOS; beside it only the push's identity (docs/actions.md).
    assert to_iphone.body == {"aps": {"badge": 0}, "pushgate": to_iphone.body["pushgate"]}
    assert to_iphone.body["pushgate"]["notification"] == answer.json()["id"]
    # docs/providers.md §1.3: a badge change is an alert push (background pushes carry no badge).
    assert to_iphone.headers["apns-push-type"] == "alert"
