"""``pushgate actions``, ``pushgate action-sets`` and ``send --action-set`` as a person uses
them: real processes on a real SQLite file (docs/actions.md, "Managing actions")."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pushgate.config import Settings
from pushgate.wiring import build_services
from tests.e2e.test_cli import pushgate

SECRET = re.compile(r"shown once\): (whsec_[A-Za-z0-9+/=]+)")
ACCEPTED = re.compile(r"accepted notification ([0-9a-f-]{36})")


async def test_define_actions_and_a_set_then_send_with_it(tmp_path: Path) -> None:
    assert pushgate(tmp_path, "apps", "create", "desk").returncode == 0
    hook = ["--handler", "webhook", "--url", "https://hooks.example.com/answers"]
    made = pushgate(tmp_path, "actions", "add", "desk", "approve", "--title", "Approve", *hook)
    assert made.returncode == 0, made.stderr
    secret = SECRET.search(made.stdout)
    assert secret is not None, made.stdout
    added = pushgate(
        tmp_path, "actions", "add", "desk", "reject", "--title", "Reject", "--destructive"
    )
    assert added.returncode == 0, added.stderr
    grouped = pushgate(tmp_path, "action-sets", "add", "desk", "approval", "approve", "reject")
    assert grouped.returncode == 0, grouped.stderr

    listed = pushgate(tmp_path, "actions", "list", "desk", "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["key"], r["handler"]["kind"], r["destructive"]) for r in rows] == [
        ("approve", "webhook", False),
        ("reject", "record", True),
    ]
    assert secret.group(1) not in listed.stdout

    refused = pushgate(tmp_path, "actions", "remove", "desk", "approve")
    assert refused.returncode == 1
    assert "approval" in refused.stderr

    sent = pushgate(
        tmp_path,
        "send",
        "--app=desk",
        "--user=alice",
        "--title=CHG0042 needs your approval",
        "--action-set=approval",
        "--no-wait",
    )
    assert sent.returncode == 0, sent.stderr
    accepted = ACCEPTED.search(sent.stdout)
    assert accepted is not None, sent.stdout

    services = await build_services(Settings(data_dir=tmp_path))
    try:
        stored = await services.notifications.notification(accepted.group(1))
        assert stored is not None
        assert stored.content["action_set"] == "approval"
        assert [a["key"] for a in stored.content["actions"]] == ["approve", "reject"]
        approve = rows[0]["id"]
        assert await services.catalog.webhook_secret(approve) == secret.group(1)
    finally:
        await services.close()
