"""A scheduling system's notifier posts to a real ``pushgate serve``, which answers
``{"Success": true}`` and is killed with SIGKILL at once: the event was stored with its job
before the answer, so a worker started afterwards runs the trigger it matches and the
recipient's device is reached (docs/events.md, "Inbound sources")."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import httpx

from pushgate.config import Settings
from pushgate.simulators.server import start
from pushgate.simulators.tls import CertificateAuthority
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import build_services
from tests.api.inbound_scene import BODY, HS_SECRET, datanotifier, dumps, notifier_headers, token
from tests.delivery.conftest import work_through
from tests.e2e.serving import start_server
from tests.e2e.test_send_cli import admin_key

TYPE = {
    "key": "booked",
    "template": {
        "title": "Booked: {{ data.event.record.id }}",
        "body": "{{ data.With }} at {{ data.Start }}",
    },
}
TRIGGER = {
    "key": "booked",
    "events": ["appointment.booked"],
    "recipients": {"kind": "field", "path": "record.fields.recipients"},
    "type": "booked",
}


async def test_an_answered_notification_survives_kill_9_and_reaches_the_device(
    tmp_path: Path, sim_authority: CertificateAuthority
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    receiver = WebhookSimulator()
    running = await start(receiver, ssl_context=sim_authority.server_context())
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    receiver.register_credentials({"secret": secret})
    env = {
        "PUSHGATE_ALLOW_PRIVATE_TARGETS": "true",
        "PUSHGATE_PROVIDER_CA_FILE": str(sim_authority.ca_path),
    }
    key = await admin_key(data_dir)
    # Without a worker: nothing processes the event before the kill.
    base, process = start_server(data_dir, "--no-worker", **env)
    try:
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10
        ) as admin:
            for method, path, body in (
                ("POST", "/v1/apps", {"name": "clinic"}),
                (
                    "PUT",
                    "/v1/apps/clinic/credentials/webhook",
                    {"url": f"{receiver.base_url}/hook", "signing_secret": secret},
                ),
                ("POST", "/v1/apps/clinic/types", TYPE),
                ("POST", "/v1/apps/clinic/triggers", TRIGGER),
                (
                    "POST",
                    "/v1/apps/clinic/devices",
                    {
                        "provider": "webhook",
                        "token": f"{receiver.base_url}/hook/alice",
                        "user": "alice",
                    },
                ),
            ):
                answer = await admin.request(method, path, json=body)
                assert answer.is_success, answer.text
            source = datanotifier({"alg": "HS256", "secret": HS_SECRET}, app="clinic")
            made = await admin.post("/v1/sources", json=source)
            assert made.status_code == 201, made.text
            inbound = made.json()["path"]
        # As the notifier sends: its own client, no API key, the JWT in Authorization.
        async with httpx.AsyncClient(base_url=base, timeout=10) as notifier:
            answer = await notifier.post(
                inbound, content=dumps(BODY), headers=notifier_headers(token())
            )
        assert answer.json() == {"Success": True, "Code": 0, "Message": "OK"}
        process.kill()  # SIGKILL, right after the answer
        process.wait(timeout=15)
        assert receiver.all_received() == []
        settings = Settings.model_validate(
            {
                "data_dir": data_dir,
                "allow_private_targets": True,
                "provider_ca_file": str(sim_authority.ca_path),
            }
        )
        services = await build_services(settings)
        try:
            await work_through(services)
        finally:
            await services.close()
        [delivered] = receiver.all_received()
        assert delivered.token == "/hook/alice"
        assert "Booked: APT-1" in str(delivered.body)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)
        await running.close()
