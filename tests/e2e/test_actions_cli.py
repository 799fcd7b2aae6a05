"""``pushgate actions``, ``pushgate action-sets`` and ``send --action-set`` as a person uses
them, against a live server (docs/actions.md, "Managing actions")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.e2e.cli import Cli, cli_on_live_server

SECRET = re.compile(r"shown once\): (whsec_[A-Za-z0-9+/=]+)")
ACCEPTED = re.compile(r"accepted notification ([0-9a-f-]{36})")


def test_define_actions_and_a_set_then_send_with_it(tmp_path: Path) -> None:
    with cli_on_live_server(tmp_path) as pushgate:
        _define_and_send(pushgate)


def _define_and_send(pushgate: Cli) -> None:
    assert pushgate("apps", "create", "desk").exit_code == 0
    hook = ["--handler", "webhook", "--url", "https://hooks.example.com/answers"]
    made = pushgate("actions", "add", "desk", "approve", "--title", "Approve", *hook)
    assert made.exit_code == 0, made.stderr
    secret = SECRET.search(made.stdout)
    assert secret is not None, made.stdout
    added = pushgate("actions", "add", "desk", "reject", "--title", "Reject", "--destructive")
    assert added.exit_code == 0, added.stderr
    grouped = pushgate("action-sets", "add", "desk", "approval", "approve", "reject")
    assert grouped.exit_code == 0, grouped.stderr

    listed = pushgate("actions", "list", "desk", "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["key"], r["handler"]["kind"], r["destructive"]) for r in rows] == [
        ("approve", "webhook", False),
        ("reject", "record", True),
    ]
    assert secret.group(1) not in listed.stdout

    refused = pushgate("actions", "remove", "desk", "approve")
    assert refused.exit_code == 1
    assert "approval" in refused.stderr

    sent = pushgate(
        "send",
        "--app=desk",
        "--user=alice",
        "--title=CHG0042 needs your approval",
        "--action-set=approval",
        "--no-wait",
    )
    assert sent.exit_code == 0, sent.stderr
    accepted = ACCEPTED.search(sent.stdout)
    assert accepted is not None, sent.stdout

    answer = httpx.get(
        f"{pushgate.url}/v1/notifications/{accepted.group(1)}",
        headers={"Authorization": f"Bearer {pushgate.key}"},
    )
    content = answer.json()["content"]
    assert content["action_set"] == "approval"
    assert [a["key"] for a in content["actions"]] == ["approve", "reject"]
    shown = pushgate("actions", "show", "desk", "approve")
    assert json.loads(shown.stdout)["id"] == rows[0]["id"]
    assert secret.group(1) not in shown.stdout
