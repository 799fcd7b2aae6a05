"""``pushgate sources`` against a live server (docs/events.md, "Inbound sources")."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import Result

from tests.api.inbound_scene import HS_SECRET, datanotifier
from tests.e2e.cli import Cli, cli_on_live_server


def _ok(ran: Result) -> str:
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    return ran.stdout


def test_sources_from_the_command_line(tmp_path: Path) -> None:
    with cli_on_live_server(tmp_path) as pushgate:
        _sources(pushgate, tmp_path)


def _sources(pushgate: Cli, folder: Path) -> None:
    spec = folder / "source.json"
    spec.write_text(json.dumps(datanotifier({"alg": "HS256", "secret": HS_SECRET})))
    made = _ok(pushgate("sources", "create", str(spec)))
    assert made.startswith("created source scheduler: POST /v1/inbound/")
    listed = _ok(pushgate("sources", "list"))
    assert "scheduler" in listed
    assert "datanotifier" in listed
    shown = json.loads(_ok(pushgate("sources", "show", "scheduler")))
    assert shown["verification"] == {"alg": "HS256"}
    assert HS_SECRET not in json.dumps(shown)
    assert "paused" in _ok(pushgate("sources", "pause", "scheduler"))
    assert json.loads(_ok(pushgate("sources", "show", "scheduler")))["paused"] is True
    assert "resumed" in _ok(pushgate("sources", "pause", "scheduler", "--resume"))
    change = folder / "change.json"
    change.write_text(json.dumps({"rate_limit": {"per_second": 5, "burst": 10}}))
    assert "version 4" in _ok(pushgate("sources", "update", "scheduler", str(change)))
    short = folder / "short.json"
    short.write_text(json.dumps(datanotifier({"alg": "HS256", "secret": "short"})))
    refused = pushgate("sources", "create", str(short))
    assert refused.exit_code == 2
    assert "secret" in refused.stderr
    _ok(pushgate("sources", "delete", "scheduler"))
    assert "scheduler" not in _ok(pushgate("sources", "list"))
