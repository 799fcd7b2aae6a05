"""``pushgate units``, ``pushgate settings`` and ``pushgate users set-unit`` / ``list
--attribute`` in this process, on a SQLite file."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_secrets_and_backup import Ran, pushgate


def _ok(ran: Ran) -> str:
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return ran.stdout


def test_units_settings_and_a_users_unit(tmp_path: Path) -> None:
    _ok(pushgate(tmp_path, "units", "create", "north", "--name", "North"))
    _ok(pushgate(tmp_path, "units", "create", "depot-7", "--name", "Depot 7", "--parent", "north"))
    listed = _ok(pushgate(tmp_path, "units", "list"))
    assert "depot-7" in listed
    assert "north" in listed
    _ok(pushgate(tmp_path, "settings", "set", "types.visit.enabled", "false", "--unit", "north"))
    _ok(pushgate(tmp_path, "settings", "set", "retention_days", "14"))
    refused = pushgate(tmp_path, "settings", "set", "retention_days", "14", "--unit", "north")
    assert refused.returncode != 0
    assert "setting_scope" in refused.stdout + refused.stderr
    _ok(pushgate(tmp_path, "users", "set-unit", "ann", "depot-7"))
    effective = _ok(pushgate(tmp_path, "settings", "effective", "--user", "ann"))
    assert "unit:north" in effective
    assert "14" in effective
    shown = _ok(pushgate(tmp_path, "settings", "get", "--unit", "north"))
    assert "types.visit.enabled" in shown
    assert "false" in shown
    users = _ok(pushgate(tmp_path, "users", "list"))
    assert "depot-7" in users
    none = _ok(pushgate(tmp_path, "users", "list", "--attribute", "crm_id=C-1"))
    assert "ann" not in none
    in_use = pushgate(tmp_path, "units", "delete", "depot-7")
    assert in_use.returncode != 0
    _ok(pushgate(tmp_path, "users", "set-unit", "ann"))
    _ok(pushgate(tmp_path, "units", "delete", "depot-7"))
    assert "depot-7" not in _ok(pushgate(tmp_path, "units", "list"))
