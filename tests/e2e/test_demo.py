"""``pushgate demo`` as a newcomer runs it: a real process that starts the simulators and a
server, sends to a device of every kind and reports what each one received, then shows
devices answering an actionable notification and the answers' handlers."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from pushgate.cli import app as cli
from tests.e2e.serving import pushgate_env

PROVIDERS = ("apns", "fcm", "webpush", "wns", "hms", "webhook")
ROW = re.compile(r"│ (\w+)\s+│ (\w+)\s+│ [^│]+│ (\w+)\s+│ (\w+)\s+│ ([^│]*)│")


def demo_rows(output: str) -> list[tuple[str, str, str, str, str]]:
    """(provider, user, delivery state, received, what arrived) for every table row."""
    found = [match.groups() for match in ROW.finditer(output)]
    return [(p, u, s, r, arrived.strip()) for p, u, s, r, arrived in found if p in PROVIDERS]


def assert_every_device_received(output: str) -> None:
    rows = demo_rows(output)
    assert sorted({row[0] for row in rows}) == sorted(PROVIDERS), output
    assert len(rows) == 2 * len(PROVIDERS), output
    for provider, _, state, received, arrived in rows:
        assert (state, received) == ("sent", "yes"), (provider, output)
        assert arrived.startswith("Hello from pushgate / One notification"), (provider, arrived)


def assert_the_loop_went_round(output: str) -> None:
    """One device per provider approved through its simulator and the desk's handler; a
    broken answer and a refused escalation were each answered with an error and pushed
    back to their device."""
    for provider in PROVIDERS:
        approved = rf"✓ {provider} \(\w+\) tapped Approve → 200 succeeded \(CHG0042 approved\)"
        assert re.search(approved, output), (provider, output)
    assert "✓ change desk: CHG0042 approved (6 approvals)" in output, output
    assert re.search(r"✓ webpush \(\w+\) sent broken JSON → 400 malformed_json", output), output
    escalated = r"✓ apns \(\w+\) tapped Escalate → 502 \w+: .*change freeze"
    assert re.search(escalated, output), output
    for provider in ("webpush", "apns"):
        pushed = rf"✓ error push to {provider} \(\w+\): “Your answer to “Change CHG0042"
        assert re.search(pushed, output), (provider, output)
    assert output.count("(pushgate_kind action_error)") == 2, output
    assert "every answer was handled, and each failure pushed back" in output


def assert_the_funnel_is_shown(output: str) -> None:
    """The devices reported through POST /v1/interactions with their pushes' tokens, and
    the funnel printed is what pushgate counted: everyone received the first push and one
    person per provider opened it; the change request was opened by the eight who tapped,
    seven Approve (one of them with a broken answer) and one Escalate."""
    assert "✓ the devices reported 18 interactions: 12 received, 6 opened" in output, output
    assert "✓ the devices reported 28 interactions with the change request" in output, output
    hello = r"│ Hello from pushgate\s+│ 12\s+│ 12\s+│ 12 \(100%\)\s+│ 6 \(50%\)\s+│ 0 \(0%\)\s+│ —"
    assert re.search(hello, output), output
    change = (
        r"│ Change CHG0042 needs your approval\s+│ 12\s+│ 12\s+│ 12 \(100%\)\s+│ 8 \(67%\)\s+"
        r"│ 8 \(67%\)\s+│ approve 7, escalate 1\s+│"
    )
    assert re.search(change, output), output


def test_the_demo_shows_every_provider_received(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pushgate", "demo", "--data-dir", str(tmp_path / "demo")],
        env=pushgate_env(tmp_path / "unused"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert_every_device_received(done.stdout)
    assert "every device received the notification (12)" in done.stdout
    assert_the_loop_went_round(done.stdout)
    assert_the_funnel_is_shown(done.stdout)
    assert (tmp_path / "demo" / "server.log").exists()


def test_keep_leaves_it_running_until_interrupted(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pushgate", "demo", "--keep"],
        env=pushgate_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "data:" not in "".join(seen[-1:]):
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
        output = "".join(seen)
        assert "press Ctrl-C to stop" in output, output
        api = re.search(r"API:\s+(http://127\.0\.0\.1:\d+)", output)
        key = re.search(r"admin key:\s+(pgk_\S+)", output)
        assert api is not None, output
        assert key is not None, output
        headers = {"Authorization": f"Bearer {key.group(1)}"}
        apps = httpx.get(f"{api.group(1)}/v1/apps", headers=headers, timeout=5)
        assert [item["name"] for item in apps.json()] == ["demo"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert_every_device_received(output)
    with socket.socket() as probe:  # the server it started is gone with it
        assert probe.connect_ex(("127.0.0.1", int(api.group(1).rsplit(":", 1)[1]))) != 0


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = CliRunner().invoke(cli, ["demo", "--port", str(port), "--data-dir", str(tmp_path)])
    assert done.exit_code == 1
    assert f"port {port} on 127.0.0.1 is taken" in done.stderr
