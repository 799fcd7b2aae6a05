"""Providers over https the way production runs them, through the API and a real worker:
FCM with both its token endpoint and its send endpoint on TLS, and the trust an operator
configures (``provider_ca_file``) added to the system store, not replacing it."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from pushgate.config import load_settings
from pushgate.simulators.fcm import FcmSimulator
from pushgate.simulators.fcm_oauth import make_service_account
from pushgate.simulators.tls import CertificateAuthority, load_or_create_authority
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import build_services, build_worker
from tests.conftest import api_client
from tests.delivery.conftest import served_over_tls, settled

FCM_TOKEN = "fcm-token:0001_abcdefghijklmnopqrstuvwxyz"


@pytest.mark.usefixtures("worker")
async def test_a_notification_reaches_an_fcm_device_over_https(
    client: httpx.AsyncClient, fcm_sim: FcmSimulator
) -> None:
    """Google's setup: the pool still negotiates h2 after the token came over https."""
    account = make_service_account("shop-project", fcm_sim.token_uri)
    assert account["token_uri"].startswith("https://")
    fcm_sim.register_credentials(account)
    assert (await client.post("/v1/apps", json={"name": "shop"})).status_code == 201
    answer = await client.put(
        "/v1/apps/shop/credentials/fcm",
        json={"service_account": account, "base_url": fcm_sim.base_url},
    )
    assert answer.status_code == 200, answer.text
    answer = await client.post(
        "/v1/apps/shop/devices", json={"provider": "fcm", "token": FCM_TOKEN, "user": "ada"}
    )
    assert answer.status_code in (200, 201), answer.text
    answer = await client.post(
        "/v1/notifications",
        json={"app": "shop", "audience": {"users": ["ada"]}, "title": "Hi", "body": "there"},
    )
    assert answer.status_code == 202, answer.text
    final = await settled(client, answer.json()["id"])
    assert (final["state"], final["deliveries"]["sent"]) == ("completed", 1), final
    [received] = fcm_sim.received[FCM_TOKEN]
    assert received.body["notification"] == {"title": "Hi", "body": "there"}


@asynccontextmanager
async def pipeline(tmp_path: Path, ca_files: list[Path]) -> AsyncIterator[httpx.AsyncClient]:
    """An instance configured from the environment, CA files joined the way an operator
    writes them there, with a worker running; an admin client of its API."""
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    settings = load_settings(
        env={
            "PUSHGATE_DATA_DIR": str(tmp_path / "data"),
            "PUSHGATE_SECRET_KEY": key,
            "PUSHGATE_ALLOW_PRIVATE_TARGETS": "true",
            "PUSHGATE_PROVIDER_CA_FILE": os.pathsep.join(str(path) for path in ca_files),
        }
    )
    services = await build_services(settings)
    handle = build_worker(services)
    stop = asyncio.Event()
    task = asyncio.create_task(handle.worker.run(stop))
    try:
        made = await services.access.bootstrap_admin_key()
        assert made is not None
        async with api_client(services, made.plaintext) as client:
            yield client
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await handle.close()
        await services.close()


@pytest.mark.parametrize("files", [1, 2])
async def test_configured_ca_files_add_to_the_system_store(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sim_authority: CertificateAuthority,
    files: int,
) -> None:
    """One receiver per trust anchor: the system store (OpenSSL's, which ``SSL_CERT_FILE``
    names: a CA of our own standing for a public one) and each configured CA file."""
    system = load_or_create_authority(tmp_path / "system")
    monkeypatch.setenv("SSL_CERT_FILE", str(system.ca_path))
    configured = [sim_authority, load_or_create_authority(tmp_path / "another")][:files]
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    async with AsyncExitStack() as stack:
        receivers = [
            await stack.enter_async_context(served_over_tls(WebhookSimulator(), authority))
            for authority in (system, *configured)
        ]
        for receiver in receivers:
            receiver.register_credentials({"secret": secret})
        client = await stack.enter_async_context(
            pipeline(tmp_path, [authority.ca_path for authority in configured])
        )
        assert (await client.post("/v1/apps", json={"name": "crm"})).status_code == 201
        answer = await client.put(
            "/v1/apps/crm/credentials/webhook",
            json={"url": f"{receivers[0].base_url}/hook", "signing_secret": secret},
        )
        assert answer.status_code == 200, answer.text
        for receiver in receivers:
            device = {"provider": "webhook", "token": f"{receiver.base_url}/hook/device"}
            assert (await client.post("/v1/apps/crm/devices", json=device)).status_code == 201
        answer = await client.post(
            "/v1/notifications", json={"app": "crm", "audience": {"everyone": True}, "body": "x"}
        )
        assert answer.status_code == 202, answer.text
        final = await settled(client, answer.json()["id"])
    assert final["state"] == "completed", final
    assert final["deliveries"]["sent"] == len(receivers), final
    assert [len(receiver.all_received()) for receiver in receivers] == [1] * len(receivers)
