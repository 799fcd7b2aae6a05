"""The command line as a person uses it: ``serve`` and ``worker`` as real processes; the
administration commands in this process against a live server (tests/e2e/cli.py), and
``devices import`` on that server's SQLite file."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pushgate.config import Settings
from pushgate.core.operational_events import EventKind
from pushgate.queue.base import NewJob
from pushgate.wiring import build_services
from tests.conftest import make_settings
from tests.e2e.cli import Cli, cli_on_live_server
from tests.e2e.serving import free_port, pushgate_env, start_server, stop_server

KEY_PATTERN = re.compile(r"pgk_[0-9a-f]{12}_[A-Za-z0-9_-]+")


def pushgate(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pushgate", *args],
        env=pushgate_env(data_dir, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    with cli_on_live_server(tmp_path) as running:
        yield running


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    base, process = start_server(tmp_path)
    yield base, tmp_path, process
    if process.poll() is None:
        stop_server(process)


def test_first_start_prints_an_admin_key_once(
    server: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    base, data_dir, process = server
    assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
    output = stop_server(process)
    key = KEY_PATTERN.search(output)
    assert key is not None, output
    assert f"{base}/docs" in output
    # The key works against a second start on the same data, which prints no new key.
    second_base, second = start_server(data_dir)
    try:
        answer = httpx.get(
            f"{second_base}/v1/instance", headers={"Authorization": f"Bearer {key.group(0)}"}
        )
        assert answer.status_code == 200
    finally:
        again = stop_server(second)
    assert KEY_PATTERN.search(again) is None


def test_first_start_saves_a_profile_the_cli_uses(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    base, process = start_server(data_dir)
    try:
        config_home = Path(pushgate_env(data_dir)["XDG_CONFIG_HOME"])
        saved = config_home / "pushgate" / "profiles.toml"
        assert saved.stat().st_mode & 0o777 == 0o600
        assert base in saved.read_text()
        cli = Cli("", "", config_home, tmp_path / "elsewhere")
        listed = cli("keys", "list", PUSHGATE_URL=None, PUSHGATE_API_KEY=None)
        assert listed.exit_code == 0, listed.stderr
        assert "bootstrap admin" in listed.stdout
        assert not (tmp_path / "elsewhere").exists()  # no instance made where it ran
    finally:
        output = stop_server(process)
    assert "saved as the CLI profile 'local'" in output


def test_bad_setting_stops_start_naming_the_key(tmp_path: Path) -> None:
    result = pushgate(tmp_path, "migrate", PUSHGATE_BINDD="127.0.0.1:1")
    assert result.returncode == 2
    assert "PUSHGATE_BINDD" in result.stderr


def test_keys_commands(cli: Cli) -> None:
    made = cli("keys", "create", "--name", "backend", "--scope", "send")
    assert made.exit_code == 0, made.stderr
    plaintext = KEY_PATTERN.search(made.stdout)
    assert plaintext is not None
    listed = cli("keys", "list")
    assert "backend" in listed.stdout
    assert plaintext.group(0) not in listed.stdout
    key_id = re.search(r"key ([0-9a-f-]{36})", made.stdout)
    assert key_id is not None
    revoked = cli("keys", "revoke", key_id.group(1))
    assert revoked.exit_code == 0, revoked.stderr
    bad_scope = cli("keys", "create", "--name", "x", "--scope", "root")
    assert bad_scope.exit_code == 2


def test_limit_commands(cli: Cli) -> None:
    made = cli("keys", "create", "--name", "backend", "--scope", "send")
    key_id = re.search(r"key ([0-9a-f-]{36})", made.stdout)
    assert key_id is not None, made.stdout
    limited = cli("keys", "limit", key_id.group(1), "--per-second", "5", "--burst", "5")
    assert limited.exit_code == 0, limited.stderr
    assert "rate limit 5/s burst 5" in limited.stdout
    assert "5/s burst 5" in cli("keys", "list").stdout
    cleared = cli("keys", "limit", key_id.group(1), "--clear")
    assert "rate limit none" in cleared.stdout, cleared.stderr
    assert "5/s burst 5" not in cli("keys", "list").stdout
    assert cli("keys", "limit", key_id.group(1)).exit_code == 2
    half = cli("keys", "limit", key_id.group(1), "--per-second", "5")
    assert half.exit_code == 2
    assert "rate_limit.burst" in half.stderr

    tenant = cli(
        "tenants",
        "limit",
        "default",
        "--sends-per-second",
        "2",
        "--sends-burst",
        "4",
        "--deliveries-per-day",
        "1000",
    )
    assert tenant.exit_code == 0, tenant.stderr
    assert "sends 2/s burst 4, deliveries a day 1000" in tenant.stdout
    listed = cli("tenants", "list").stdout
    assert "2/s burst 4" in listed
    assert "1000" in listed
    assert "sends none" in cli("tenants", "limit", "default", "--clear").stdout
    bad = cli("tenants", "limit", "default", "--deliveries-per-day", "0")
    assert bad.exit_code == 2
    assert "deliveries_per_day" in bad.stderr


def test_tenant_and_app_commands(cli: Cli) -> None:
    assert cli("tenants", "create", "acme").exit_code == 0
    assert cli("apps", "create", "shop", "--tenant", "acme").exit_code == 0
    duplicate = cli("apps", "create", "shop", "--tenant", "acme")
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.stderr
    assert "shop" in cli("apps", "list", "--tenant", "acme").stdout
    bad = cli("tenants", "create", "Not A Name")
    assert bad.exit_code == 2


def test_devices_import_accepts_good_rows_and_reports_bad_ones(cli: Cli) -> None:
    assert cli("apps", "create", "shop").exit_code == 0
    rows = [
        "provider,token,user,topics,timezone",
        f"apns,{'ab' * 32},alice,news sports,Europe/Berlin",
        f"apns,{'cd' * 32},bob,,",
        "apns,not-hex,carol,,",
        f"fcm,{'f' * 20},,,Mars/Olympus",
        f"fcm,{'e' * 40},alice,,",
    ]
    source = cli.data_dir / "devices.csv"
    source.write_text("\n".join(rows) + "\n")
    result = cli("devices", "import", str(source), "--app", "shop")
    assert result.exit_code == 1  # some rows were rejected
    assert "3 rows accepted, 2 rejected" in result.stdout
    assert "line 4: token" in result.stdout
    assert "line 5: timezone" in result.stdout

    listed = cli("devices", "list", "--app", "shop")
    assert listed.exit_code == 0, listed.stderr
    shown = [token[:37] for token in ("ab" * 32, "cd" * 32, "e" * 40)]  # cut at 37
    assert all(token in listed.stdout for token in shown), listed.stdout
    assert "f" * 20 not in listed.stdout
    alices = cli("devices", "list", "--user", "alice", "--app", "shop").stdout
    assert [token in alices for token in shown] == [True, False, True], alices
    assert "alice" in cli("users", "list").stdout


def test_devices_import_jsonl_and_dry_run(cli: Cli) -> None:
    assert cli("apps", "create", "shop").exit_code == 0
    source = cli.data_dir / "devices.jsonl"
    source.write_text(
        '{"provider": "apns", "token": "' + "ab" * 32 + '", "tags": ["vip"]}\n'
        "{not json\n"
        '["a list"]\n'
    )
    dry = cli("devices", "import", str(source), "--app", "shop", "--dry-run")
    assert "1 rows would be accepted, 2 rejected" in dry.stdout
    assert "line 2: not valid JSON" in dry.stdout
    listed = cli("devices", "import", str(source), "--app", "shop")
    assert "1 rows accepted, 2 rejected" in listed.stdout
    missing_app = cli("devices", "import", str(source), "--app", "nope")
    assert missing_app.exit_code == 1
    assert "app 'nope' not found" in missing_app.stderr


def test_credentials_users_and_device_commands(cli: Cli) -> None:
    assert cli("apps", "create", "shop").exit_code == 0
    body = cli.data_dir / "webhook.json"
    body.write_text(
        '{"url": "https://hooks.example.com/push", "generate_signing_secret": true,'
        ' "authorization": "Bearer top-secret-value"}'
    )
    made = cli("apps", "set-credentials", "shop", "webhook", "--file", str(body))
    assert made.exit_code == 0, made.stderr
    assert "whsec_" in made.stdout  # generated, shown once
    shown = cli("apps", "credentials", "shop")
    assert "hooks.example.com" in shown.stdout
    assert "top-secret-value" not in shown.stdout
    assert "whsec_" not in shown.stdout
    bad = cli.data_dir / "bad.json"
    bad.write_text('{"url": "ftp://x"}')
    refused = cli("apps", "set-credentials", "shop", "webhook", "--file", str(bad))
    assert refused.exit_code == 1  # refused by the server
    assert "webhook.url" in refused.stderr

    rows = cli.data_dir / "devices.csv"
    rows.write_text(f"provider,token,user\napns,{'ab' * 32},alice\n")
    assert cli("devices", "import", str(rows), "--app", "shop").exit_code == 0
    listed = cli("devices", "list", "--user", "alice")
    device_id = re.search(
        r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", listed.stdout
    )
    assert device_id is not None, listed.stdout
    gone = cli("devices", "unregister", device_id.group(0))
    assert "unregistered" in gone.stdout
    assert "alice" in cli("users", "list").stdout
    assert cli("users", "delete", "alice").exit_code == 0
    assert "alice" not in cli("users", "list").stdout


def test_a_worker_serves_its_own_metrics(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pushgate", "worker", "--init", "--metrics-port", str(port)],
        env=pushgate_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        text = ""
        for _ in range(300):
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert "pushgate_deliveries_total" in text
    finally:
        stop_server(process)


def settings_of(data_dir: Path) -> Settings:
    return make_settings(data_dir, f"sqlite+aiosqlite:///{data_dir / 'pushgate.db'}")


def test_queue_commands_show_depth_and_retry_a_dead_job(tmp_path: Path) -> None:
    async def bury() -> str:
        """A send job that failed for good, as a worker leaves it after its last attempt."""
        services = await build_services(settings_of(tmp_path))
        try:
            payload = b'{"n": "0190a1b2-0000-7000-8000-000000000001", "d": []}'
            await services.queue.enqueue([NewJob("send", payload)])
            (job,) = await services.queue.lease("send", 1, 30)
            await services.queue.dead_letter(job, "TimeoutError: database busy")
            return job.id
        finally:
            await services.close()

    job_id = asyncio.run(bury())
    with cli_on_live_server(tmp_path) as cli:
        shown = cli("queue", "status")
        assert shown.exit_code == 0, shown.stderr
        assert re.search(r"send\s+│\s+0\s+│\s+0\s+│\s+0\s+│\s+1", shown.stdout), shown.stdout
        dead = cli("queue", "dead")
        assert job_id in dead.stdout
        assert "0190a1b2-0000-7000-8000-000000000001" in dead.stdout
        assert "TimeoutError: database busy" in dead.stdout
        retried = cli("queue", "retry", "send", job_id)
        assert retried.exit_code == 0, retried.stderr
        assert f"queued send job {job_id} again" in retried.stdout
        after = cli("queue", "status")
        assert re.search(r"send\s+│\s+1\s+│\s+0\s+│\s+0\s+│\s+0", after.stdout), after.stdout
        again = cli("queue", "retry", "send", job_id)
        assert again.exit_code == 1
        assert "no dead send job" in again.stderr
        unknown = cli("queue", "dead", "--kind", "nightly")
        assert unknown.exit_code == 1
        assert "unknown job kind" in unknown.stderr


def test_ops_events_list_shows_an_event_as_json(tmp_path: Path) -> None:
    async def record() -> tuple[str, str]:
        services = await build_services(settings_of(tmp_path))
        try:
            events = services.operational_events
            kept = events.new(EventKind.JOB_DEAD_LETTERED, "job-1", tenant_id=None, reason="x")
            other = events.new(EventKind.NOTIFICATION_FAILED, "n-1", tenant_id=None)
            for event in (kept, other):
                await events.record(event)
            return kept.id, other.id
        finally:
            await services.close()

    kept, other = asyncio.run(record())
    with cli_on_live_server(tmp_path) as cli:
        shown = cli("ops-events", "list", "--kind", "job.dead_lettered", "--json")
        assert shown.exit_code == 0, shown.stderr
        [line] = shown.stdout.splitlines()
        event = json.loads(line)
        assert (event["id"], event["kind"], event["subject"]) == (
            kept,
            "job.dead_lettered",
            {"type": "job", "id": "job-1"},
        )
        assert other not in shown.stdout
