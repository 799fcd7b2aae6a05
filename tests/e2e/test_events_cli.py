"""``pushgate triggers`` and ``pushgate events`` against a live server (docs/events.md)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import Result

from tests.e2e.cli import Cli, cli_on_live_server


def _ok(ran: Result) -> str:
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    return ran.stdout


def test_triggers_and_events_from_the_command_line(tmp_path: Path) -> None:
    with cli_on_live_server(tmp_path) as pushgate:
        _triggers_and_events(pushgate, tmp_path)
        _packages(pushgate, tmp_path)


def _triggers_and_events(pushgate: Cli, folder: Path) -> None:
    _ok(pushgate("apps", "create", "desk"))
    _ok(pushgate("types", "create", "desk", "assigned", "--title", "{{ data.event.record.id }}"))
    spec = folder / "trigger.json"
    spec.write_text(
        json.dumps(
            {
                "key": "assigned",
                "events": ["incident.assigned"],
                "condition": "event.record.fields.priority <= 2",
                "recipients": {"kind": "field", "path": "record.fields.assigned_to"},
                "type": "assigned",
            }
        )
    )
    assert "created trigger assigned" in _ok(pushgate("triggers", "create", "desk", str(spec)))
    assert "incident.assigned" in _ok(pushgate("triggers", "list", "desk"))
    broken = folder / "broken.json"
    broken.write_text(json.dumps({"condition": "event.x +"}))
    refused = pushgate("triggers", "update", "desk", "assigned", str(broken))
    assert refused.exit_code == 1
    assert "condition" in refused.stderr
    sample = folder / "event.json"
    sample.write_text(
        json.dumps(
            {
                "name": "incident.assigned",
                "record": {"type": "incident", "id": "INC7", "fields": {"priority": 1}},
            }
        )
    )
    tested = json.loads(_ok(pushgate("triggers", "test", "desk", "assigned", str(sample))))
    assert tested["matched"] is True
    assert tested["rendered"] == {"title": "INC7"}
    args = ("--name", "incident.assigned", "--record-type", "incident", "--record-id", "INC7")
    keyed = (
        *args,
        "--field",
        "priority=1",
        "--field",
        "assigned_to=ann",
        "--idempotency-key",
        "k1",
    )
    first = _ok(pushgate("events", "send", *keyed))
    assert first.startswith("recorded: event ")
    again = _ok(pushgate("events", "send", *keyed))
    assert again.startswith("recorded before")
    event_id = first.split()[-1]
    shown = json.loads(_ok(pushgate("events", "show", event_id)))
    assert shown["event"]["record"]["fields"] == {"priority": 1, "assigned_to": "ann"}
    bad = pushgate("events", "send", "--name", "x y", "--record-type", "t", "--record-id", "1")
    assert bad.exit_code == 2
    assert "name" in bad.stderr
    _ok(pushgate("triggers", "delete", "desk", "assigned"))


def _packages(pushgate: Cli, folder: Path) -> None:
    """``pushgate packages``, on the same server (docs/packages.md)."""
    bundle = folder / "desk.json"
    wrote = _ok(
        pushgate("packages", "export", "--app", "desk", "--version", "1.2.0", "-o", str(bundle))
    )
    assert "wrote desk 1.2.0" in wrote
    assert "assigned" in json.loads(bundle.read_text())["items"]["types"]
    _ok(pushgate("tenants", "create", "acme"))
    _ok(pushgate("apps", "create", "desk", "--tenant", "acme"))
    into = ("--app", "desk", "--tenant", "acme")
    planned = _ok(pushgate("packages", "install", str(bundle), *into, "--dry-run"))
    assert "would change: desk 1.2.0" in planned
    assert "create" in planned
    assert "desk" not in _ok(pushgate("packages", "list", "--tenant", "acme"))
    assert "done: desk 1.2.0" in _ok(pushgate("packages", "install", str(bundle), *into))
    listed = _ok(pushgate("packages", "list", "--json", "--tenant", "acme"))
    assert json.loads(listed)["items"] == ["types/assigned"]
    broken = folder / "broken.json"
    broken.write_text(json.dumps({**json.loads(bundle.read_text()), "version": "1.2"}))
    refused = pushgate("packages", "install", str(broken), *into)
    assert refused.exit_code == 2
    assert "version" in refused.stderr
    removed = _ok(pushgate("packages", "uninstall", "desk", *into))
    assert "done: desk 1.2.0 removed" in removed
    assert "delete" in removed
    assert _ok(pushgate("types", "list", "desk", "--tenant", "acme")).count("assigned") == 0
