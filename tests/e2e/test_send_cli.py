"""``pushgate send`` as a person uses it: the command line (in a thread of this process)
against a real ``pushgate serve``, delivering through the webhook simulator over https
(the server trusts its CA)."""

from __future__ import annotations

import asyncio
import base64
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from pushgate.cli import app as cli
from pushgate.cli.runtime import OPERATOR
from pushgate.config import Settings
from pushgate.core.inputs import KeyInput
from pushgate.core.models import Scope
from pushgate.simulators.base import Fault
from pushgate.simulators.server import start
from pushgate.simulators.tls import CertificateAuthority
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.wiring import build_services
from tests.clock import in_200_days
from tests.e2e.cli import Cli, cli_on_live_server
from tests.e2e.serving import start_server, stop_server

ID_PATTERN = re.compile(r"accepted notification ([0-9a-f-]{36})")
PRIVATE_TARGETS = {"PUSHGATE_ALLOW_PRIVATE_TARGETS": "true"}


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Instance:
    """A running server on ``data_dir``, an admin client, the command line pointed at the
    server, and the webhook receiver."""

    data_dir: Path
    cli: Cli
    client: httpx.AsyncClient
    receiver: WebhookSimulator
    secret: str

    async def register(self, name: str, **extra: object) -> str:
        token = f"{self.receiver.base_url}/hook/{name}"
        answer = await self.client.post(
            "/v1/apps/crm/devices", json={"provider": "webhook", "token": token, **extra}
        )
        assert answer.status_code in (200, 201), answer.text
        device_id: str = answer.json()["id"]
        return device_id

    async def send(self, *args: str) -> Finished:
        # Following ends within 60 s whatever happens, so the test does too.
        return await pushgate(self, "send", "--app", "crm", "--timeout", "60", *args)


async def pushgate(instance: Instance, *args: str) -> Finished:
    """Run the CLI in a thread, so this loop (where the simulator answers the server) runs
    on."""
    done = await asyncio.to_thread(instance.cli, *args)
    return Finished(int(done.exit_code), done.stdout, done.stderr)


async def admin_key(data_dir: Path) -> str:
    """An instance-wide admin key, made on the data directory before the server starts."""
    services = await build_services(Settings(data_dir=data_dir))
    try:
        body = KeyInput(name="test", scopes=[Scope.ADMIN], instance_wide=True)
        return (await services.access.create_key(OPERATOR, body)).plaintext
    finally:
        await services.close()


@pytest.fixture
async def instance(tmp_path: Path, sim_authority: CertificateAuthority) -> AsyncIterator[Instance]:
    receiver = WebhookSimulator()
    running = await start(receiver, ssl_context=sim_authority.server_context())
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    receiver.register_credentials({"secret": secret})
    key = await admin_key(tmp_path)
    trust = {"PUSHGATE_PROVIDER_CA_FILE": str(sim_authority.ca_path)}
    base, process = start_server(tmp_path, **PRIVATE_TARGETS, **trust)
    headers = {"Authorization": f"Bearer {key}"}
    client = httpx.AsyncClient(base_url=base, headers=headers, timeout=10)
    cli = Cli(base, key, tmp_path / "user-config", tmp_path)
    try:
        assert (await client.post("/v1/apps", json={"name": "crm"})).status_code == 201
        answer = await client.put(
            "/v1/apps/crm/credentials/webhook",
            json={"url": f"{receiver.base_url}/hook", "signing_secret": secret},
        )
        assert answer.status_code == 200, answer.text
        yield Instance(tmp_path, cli, client, receiver, secret)
    finally:
        await client.aclose()
        await asyncio.to_thread(stop_server, process)
        await running.close()


async def test_send_follows_to_the_end_and_fails_for_a_dead_device(instance: Instance) -> None:
    for user in ("alice", "bob", "carol"):
        await instance.register(user, user=user, topics=["news"])
    done = await instance.send(
        "--user", "alice", "--user", "bob", "--title", "Booked", "--data", '{"ticket": 42}'
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "completed: 2 of 2 sent" in done.stdout
    assert re.search(r"webhook\s+│\s+0\s+│\s+2\s+│", done.stdout), done.stdout
    received = {item.token: item.body for item in instance.receiver.all_received()}
    assert set(received) == {"/hook/alice", "/hook/bob"}
    assert all(body["data"]["data"] == {"ticket": 42} for body in received.values())

    instance.receiver.reset()
    instance.receiver.register_credentials({"secret": instance.secret})
    instance.receiver.inject(Fault(status=410, token="/hook/carol", count=1))
    failed = await instance.send("--topic", "news", "--body", "Extra")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "completed: 2 of 3 sent" in failed.stdout
    assert "webhook invalid:" in failed.stdout
    assert "1 deliveries were not delivered" in failed.stderr
    tokens = sorted(item.token for item in instance.receiver.all_received())
    assert tokens == ["/hook/alice", "/hook/bob"]


async def test_no_wait_a_repeated_key_and_a_scheduled_send(instance: Instance) -> None:
    await instance.register("dora", user="dora")
    args = ("--everyone", "--title", "Once", "--idempotency-key", "k-1", "--no-wait")
    first = await instance.send(*args)
    assert first.returncode == 0, first.stderr
    found = ID_PATTERN.search(first.stdout)
    assert found is not None, first.stdout
    again = await instance.send(*args)
    assert again.returncode == 0, again.stderr
    repeated = f"already accepted with this idempotency key: notification {found.group(1)}"
    assert repeated in again.stdout
    other = await instance.send(
        "--everyone", "--title", "Twice", "--idempotency-key", "k-1", "--no-wait"
    )
    assert other.returncode == 1, other.stdout + other.stderr
    assert "error (idempotency_key_reused): idempotency key 'k-1'" in other.stderr
    # Months ahead, within the year a send_at may lie ahead; given at +01:00, shown in UTC.
    ahead = (datetime.now(UTC) + timedelta(days=200)).replace(hour=9, minute=0, second=0)
    local = ahead.replace(tzinfo=timezone(timedelta(hours=1)))
    later = await instance.send(
        "--user", "dora", "--title", "Later", "--send-at", local.isoformat(timespec="seconds")
    )
    assert later.returncode == 0, later.stderr
    assert "state: scheduled, targeted devices: 1" in later.stdout
    assert f"{ahead.date().isoformat()}T08:00:00" in later.stdout
    for _ in range(100):  # the server's worker delivers the first one (bounded wait)
        if instance.receiver.all_received():
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    assert [item.token for item in instance.receiver.all_received()] == ["/hook/dora"]


async def test_a_send_that_keeps_only_its_failures(instance: Instance) -> None:
    for user in ("hal", "ida", "jon"):
        await instance.register(user, user=user, topics=["big"])
    instance.receiver.inject(Fault(status=410, token="/hook/jon", count=1))
    sent = await instance.send("--topic", "big", "--title", "Sale", "--records", "failures")
    assert sent.returncode == 1, sent.stdout + sent.stderr
    assert "completed: 2 of 3 sent" in sent.stdout
    found = ID_PATTERN.search(sent.stdout)
    assert found is not None, sent.stdout
    shown = await pushgate(instance, "notifications", "show", found.group(1))
    assert "keeps rows only for deliveries that did not go out" in shown.stdout
    kept = await pushgate(instance, "notifications", "deliveries", found.group(1))
    assert kept.returncode == 0, kept.stderr
    assert "│ invalid" in kept.stdout
    assert "│ sent" not in kept.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--title", "x"), "audience"),
        (("--user", "a", "--everyone", "--title", "x"), "audience"),
        (("--everyone",), "nothing to send"),
        (("--everyone", "--title", "x", "--ttl", "-1"), "ttl"),
        (("--everyone", "--title", "x", "--priority", "urgent"), "priority"),
        (("--everyone", "--title", "x", "--data", "{nope"), "data: not valid JSON"),
        (("--everyone", "--title", "x", "--data", "[1]"), "data: must be a JSON object"),
        (("--everyone", "--title", "x", "--send-at", "2099-01-01T09:00"), "send_at"),
        (("--everyone", "--title", "x", "--deliver-at-local", "9am"), "deliver_at_local"),
        (
            (
                "--everyone",
                "--title",
                "x",
                "--deliver-at-local",
                "09:00",
                "--send-at",
                "2099-01-01T09:00Z",
            ),
            "deliver_at_local: give send_at or deliver_at_local, not both",
        ),
        (("--tags", "a && (b", "--title", "x"), "audience.tags: tag expression"),
        (("--everyone", "--title", "x", "--records", "some"), "--records"),
    ],
)
def test_bad_input_is_refused_naming_the_field(args: tuple[str, ...], named: str) -> None:
    # Refused before any storage is opened, so the command runs in this process.
    done = CliRunner().invoke(cli, ["send", "--app", "crm", *args])
    assert done.exit_code == 2, done.output
    assert named in done.stderr


def test_an_unknown_app_is_an_error(tmp_path: Path) -> None:
    with cli_on_live_server(tmp_path) as pushgate:
        done = pushgate("send", "--app", "nope", "--everyone", "--title", "x")
    assert done.exit_code == 1
    assert "nope" in done.stderr


async def test_notifications_commands_list_show_page_and_cancel(instance: Instance) -> None:
    for user in ("erin", "finn", "gus"):
        await instance.register(user, user=user, topics=["ops"])
    instance.receiver.inject(Fault(status=410, token="/hook/gus", count=1))
    sent = await instance.send("--topic", "ops", "--title", "Outage over")
    assert sent.returncode == 1, sent.stdout + sent.stderr
    found = ID_PATTERN.search(sent.stdout)
    assert found is not None, sent.stdout
    done_id = found.group(1)
    later = await instance.send("--user", "erin", "--title", "Later", "--send-at", "2099-01-01")
    assert later.returncode == 2  # a send_at without a time zone is refused
    later = await instance.send("--user", "erin", "--title", "Later", "--send-at", in_200_days())
    found = ID_PATTERN.search(later.stdout)
    assert found is not None, later.stdout
    later_id = found.group(1)

    listed = await pushgate(instance, "notifications", "list", "--app", "crm")
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if done_id in line or later_id in line]
    assert len(rows) == 2
    assert later_id in rows[0]  # newest first
    assert re.search(r"completed\s+│\s+3\s+│\s+2\s+│\s+1\s+│\s+0", rows[1]), rows[1]
    only = await pushgate(instance, "notifications", "list", "--state", "scheduled")
    assert later_id in only.stdout
    assert done_id not in only.stdout

    shown = await pushgate(instance, "notifications", "show", done_id)
    assert shown.returncode == 0, shown.stderr
    assert f"notification {done_id}: completed, 3 targeted" in shown.stdout
    assert re.search(r"webhook\s+│\s+0\s+│\s+2\s+│\s+0\s+│\s+1\s+│", shown.stdout), shown.stdout

    invalid = await pushgate(
        instance, "notifications", "deliveries", done_id, "--outcome", "invalid"
    )
    assert invalid.returncode == 0, invalid.stderr
    assert invalid.stdout.count("invalid") == 1
    assert "410" in invalid.stdout
    paged = await pushgate(instance, "notifications", "deliveries", done_id, "--limit", "2")
    assert "more: --after " in paged.stdout
    cursor = paged.stdout.split("more: --after ")[1].split()[0]
    rest = await pushgate(instance, "notifications", "deliveries", done_id, "--after", cursor)
    assert rest.returncode == 0, rest.stderr
    assert "more:" not in rest.stdout
    assert sum(state in rest.stdout for state in ("│ sent", "│ invalid")) == 1

    canceled = await pushgate(instance, "notifications", "cancel", later_id)
    assert canceled.returncode == 0, canceled.stderr
    assert f"notification {later_id}: canceled" in canceled.stdout
    again = await pushgate(instance, "notifications", "cancel", done_id)
    assert again.returncode == 1
    assert "already completed" in again.stderr
    missing = await pushgate(instance, "notifications", "show", "no-such-id")
    assert missing.returncode == 1
    assert "not found" in missing.stderr
