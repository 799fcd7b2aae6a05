"""``pushgate preferences`` as a person uses it, against a live server
(docs/preferences.md)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.e2e.cli import Cli, cli_on_live_server


def test_set_and_read_a_users_and_a_devices_preferences(tmp_path: Path) -> None:
    with cli_on_live_server(tmp_path) as pushgate:
        _set_and_read(pushgate)


def _set_and_read(pushgate: Cli) -> None:
    assert pushgate("apps", "create", "desk").exit_code == 0
    for key in ("visit", "alert"):
        assert pushgate("types", "create", "desk", key).exit_code == 0
    assert pushgate("users", "set-unit", "ann").exit_code == 0
    made = pushgate(
        "preferences",
        "set",
        "--user=ann",
        "--default=out",
        "--in=alert",
        "--out=visit:webhook",
        "--quiet-hours=22:00-07:00",
        "--urgent-passes",
    )
    assert made.exit_code == 0, made.stderr
    assert "quiet hours 22:00-07:00; urgent passes" in made.stdout
    shown = json.loads(pushgate("preferences", "get", "--user=ann", "--json").stdout)
    assert shown["default"] == "out"
    assert shown["types"] == {
        "alert": {"choice": "in", "providers_out": []},
        "visit": {"choice": None, "providers_out": ["webhook"]},
    }
    assert shown["quiet_hours"] == {"start": "22:00", "end": "07:00", "urgent_passes": True}
    # Refused here (exit 2) or by the server (exit 1), naming what is wrong.
    bad = pushgate("preferences", "set", "--user=ann", "--quiet-hours=25:00-07:00")
    assert bad.exit_code == 2
    assert "quiet_hours.start" in bad.stderr
    unknown = pushgate("preferences", "set", "--user=ann", "--out=vist")
    assert unknown.exit_code == 1
    assert "types.vist" in unknown.stderr
    both = pushgate("preferences", "get", "--user=ann", "--device=x")
    assert both.exit_code == 2
    # Devices register themselves through the API, not the command line.
    registered = httpx.post(
        f"{pushgate.url}/v1/apps/desk/devices",
        json={"provider": "apns", "token": "a" * 64, "user": "ann"},
        headers={"Authorization": f"Bearer {pushgate.key}"},
    )
    assert registered.status_code == 201, registered.text
    device = registered.json()["id"]
    muted = pushgate("preferences", "set", f"--device={device}", "--off", "--mute=visit")
    assert muted.exit_code == 0, muted.stderr
    got = json.loads(pushgate("preferences", "get", f"--device={device}", "--json").stdout)
    assert (got["enabled"], got["muted_types"]) == (False, ["visit"])
