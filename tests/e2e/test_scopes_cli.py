"""``pushgate units``, ``pushgate settings`` and ``pushgate users set-unit`` / ``list
--attribute`` against a live server (docs/settings.md)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import Result

from tests.e2e.cli import Cli, cli_on_live_server


def _ok(ran: Result) -> str:
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    return ran.stdout


def test_units_settings_and_a_users_unit(tmp_path: Path) -> None:
    with cli_on_live_server(tmp_path) as pushgate:
        _units_settings_and_a_users_unit(pushgate)


def _units_settings_and_a_users_unit(pushgate: Cli) -> None:
    _ok(pushgate("units", "create", "north", "--name", "North"))
    _ok(pushgate("units", "create", "depot-7", "--name", "Depot 7", "--parent", "north"))
    listed = _ok(pushgate("units", "list"))
    assert "depot-7" in listed
    assert "north" in listed
    rows = [json.loads(line) for line in _ok(pushgate("units", "list", "--json")).splitlines()]
    assert {(r["key"], r["parent"]) for r in rows} == {("north", None), ("depot-7", "north")}
    bad_key = pushgate("units", "create", "Not A Key", "--name", "x")
    assert bad_key.exit_code == 2
    assert "key" in bad_key.stderr
    _ok(pushgate("settings", "set", "types.visit.enabled", "false", "--unit", "north"))
    _ok(pushgate("settings", "set", "retention_days", "14"))
    refused = pushgate("settings", "set", "retention_days", "14", "--unit", "north")
    assert refused.exit_code == 1
    assert "setting_scope" in refused.stderr
    _ok(pushgate("users", "set-unit", "ann", "depot-7"))
    effective = _ok(pushgate("settings", "effective", "--user", "ann"))
    assert "unit:north" in effective
    assert "14" in effective
    whole = json.loads(_ok(pushgate("settings", "effective", "--unit", "depot-7", "--json")))
    found = {s["name"]: (s["value"], s["source"]) for s in whole["settings"]}
    assert found["types.visit.enabled"] == (False, "unit:north")
    assert found["retention_days"] == (14, "global")
    shown = _ok(pushgate("settings", "get", "--unit", "north"))
    assert "types.visit.enabled" in shown
    assert "false" in shown
    assert json.loads(_ok(pushgate("settings", "get", "--json")))["values"] == {
        "retention_days": 14
    }
    users = _ok(pushgate("users", "list"))
    assert "depot-7" in users
    none = _ok(pushgate("users", "list", "--attribute", "crm_id=C-1"))
    assert "ann" not in none
    in_use = pushgate("units", "delete", "depot-7")
    assert in_use.exit_code == 1
    _ok(pushgate("users", "set-unit", "ann"))
    _ok(pushgate("units", "delete", "depot-7"))
    assert "depot-7" not in _ok(pushgate("units", "list"))
