"""``pushgate relay origins`` against a live server: made, listed with their quota, changed,
given a key bound to them, deleted (the key revoked with them)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from typer.testing import Result

from tests.e2e.cli import cli_on_live_server

ORIGIN = "0b7c6a52-4c1e-4f43-9a57-0d3f3b8f2d11"


def _ok(ran: Result) -> str:
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    return ran.stdout


def test_origins_from_the_command_line(tmp_path: Path) -> None:
    with cli_on_live_server(tmp_path) as pushgate:
        _ok(pushgate("apps", "create", "shop"))
        _ok(pushgate("apps", "update", "shop", "--relay"))
        made = pushgate(
            "relay", "origins", "create", ORIGIN, "--name", "https://push.customer.example",
            "--app", "shop", "--per-second", "5", "--burst", "10",
        )  # fmt: skip
        assert f"created origin {ORIGIN}" in _ok(made)
        listed = _ok(pushgate("relay", "origins", "list"))
        assert "https://push.customer.example" in listed
        assert "5/s burst 10" in listed
        half = pushgate("relay", "origins", "update", ORIGIN, "--per-second", "5")
        assert half.exit_code != 0
        _ok(pushgate("relay", "origins", "update", ORIGIN, "--per-day", "1000"))
        [row] = [json.loads(line) for line in _ok(pushgate("relay", "origins", "list", "--json"))
                 .splitlines()]  # fmt: skip
        assert row["per_day"] == 1000
        assert row["rate_limit"] == {"per_second": 5.0, "burst": 10}
        keyed = _ok(pushgate("relay", "origins", "key", ORIGIN))
        found = re.search(r"(pgk_\S+)", keyed)
        assert found is not None, keyed
        key = found.group(1)
        headers = {"Authorization": f"Bearer {key}"}
        empty = {"messages": []}
        answer = httpx.post(f"{pushgate.url}/v1/relay/shop/messages", json=empty, headers=headers)
        assert answer.status_code == 422, answer.text  # the key works; the batch is empty
        app = httpx.get(
            f"{pushgate.url}/v1/apps/shop", headers={"Authorization": f"Bearer {pushgate.key}"}
        )
        assert app.json()["relay"] is True
        _ok(pushgate("relay", "origins", "delete", ORIGIN))
        assert _ok(pushgate("relay", "origins", "list", "--json")).strip() == ""
        answer = httpx.post(f"{pushgate.url}/v1/relay/shop/messages", json=empty, headers=headers)
        assert answer.status_code == 401, answer.text
        bad = pushgate("relay", "origins", "create", "x", "--name", "n", "--app", "Not An App")
        assert bad.exit_code == 2
