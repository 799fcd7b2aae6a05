"""``pushgate types``, ``apps update --requires-type`` and ``send --type`` as a person uses
them, against a live server (docs/types.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.e2e.cli import Cli, cli_on_live_server

ACCEPTED = re.compile(r"accepted notification ([0-9a-f-]{36})")


def test_define_preview_send_change_and_remove_a_type(tmp_path: Path) -> None:
    with cli_on_live_server(tmp_path) as pushgate:
        _define_preview_send_change_and_remove(pushgate, tmp_path)


def _define_preview_send_change_and_remove(pushgate: Cli, tmp_path: Path) -> None:
    assert pushgate("apps", "create", "desk").exit_code == 0
    template = tmp_path / "template.json"
    template.write_text(json.dumps({"locales": {"de": {"title": "Gebucht: {{ data.what }}"}}}))
    made = pushgate(
        "types",
        "create",
        "desk",
        "booked",
        "--priority=normal",
        "--provider=apns",
        "--provider=fcm",
        f"--template={template}",
        "--title=Booked: {{ data.what }}",
        "--body=Hi {{ user.attributes.name }}",
    )
    assert made.exit_code == 0, made.stderr
    assert "created type booked (" in made.stdout
    bad = pushgate("types", "create", "desk", "bad", "--body={{ data.x ")
    assert bad.exit_code == 1
    assert "template.body" in bad.stderr
    refused_here = pushgate("types", "create", "desk", "Not A Key")
    assert refused_here.exit_code == 2
    assert "key" in refused_here.stderr

    listed = pushgate("types", "list", "desk", "--json")
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["key"], row["priority"], row["providers"]) == ("booked", "normal", ["apns", "fcm"])
    assert row["template"]["locales"]["de"]["title"] == "Gebucht: {{ data.what }}"
    table = pushgate("types", "list", "desk")
    assert re.search(r"booked\s+│[^\n]*│\s+yes\s+│\s+apns, fcm", table.stdout), table.stdout

    shown = pushgate(
        "types", "preview", "desk", "booked", '--data={"what": "Dentist"}', "--locale=de"
    )
    assert shown.exit_code == 0, shown.stderr
    rendered = json.loads(shown.stdout)
    assert (rendered["title"], rendered["body"]) == ("Booked: Dentist", "Hi ")
    assert rendered["locales"] == {"de": {"title": "Gebucht: Dentist"}}

    required = pushgate("apps", "update", "desk", "--requires-type")
    assert required.exit_code == 0, required.stderr
    untyped = pushgate("send", "--app=desk", "--everyone", "--title=x", "--no-wait")
    assert untyped.exit_code == 1
    assert "type" in untyped.stderr
    sent = pushgate(
        "send", "--app=desk", "--everyone", "--type=booked", '--data={"what": "x"}', "--no-wait"
    )
    assert sent.exit_code == 0, sent.stderr
    assert ACCEPTED.search(sent.stdout) is not None, sent.stdout

    changed = pushgate("types", "update", "desk", "booked", "--disabled", "--clear-template")
    assert changed.exit_code == 0, changed.stderr
    assert "updated type booked (version 2)" in changed.stdout
    after = json.loads(pushgate("types", "show", "desk", "booked").stdout)
    assert (after["enabled"], after["template"], after["version"]) == (False, None, 2)
    assert pushgate("types", "delete", "desk", "booked").exit_code == 0
    gone = pushgate("types", "show", "desk", "booked")
    assert gone.exit_code == 1
    assert "error (not_found)" in gone.stderr
