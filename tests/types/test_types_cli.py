"""``pushgate types``, ``apps update --requires-type`` and ``send --type`` as a person uses
them, in this process on a SQLite file (docs/types.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.e2e.test_secrets_and_backup import pushgate

ACCEPTED = re.compile(r"accepted notification ([0-9a-f-]{36})")


def test_define_preview_send_change_and_remove_a_type(tmp_path: Path) -> None:
    assert pushgate(tmp_path, "apps", "create", "desk").returncode == 0
    template = tmp_path / "template.json"
    template.write_text(json.dumps({"locales": {"de": {"title": "Gebucht: {{ data.what }}"}}}))
    made = pushgate(
        tmp_path,
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
    assert made.returncode == 0, made.stderr
    bad = pushgate(tmp_path, "types", "create", "desk", "bad", "--body={{ data.x ")
    assert bad.returncode == 1
    assert "template.body" in bad.stderr

    listed = pushgate(tmp_path, "types", "list", "desk", "--json")
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["key"], row["priority"], row["providers"]) == ("booked", "normal", ["apns", "fcm"])
    assert row["template"]["locales"]["de"]["title"] == "Gebucht: {{ data.what }}"

    shown = pushgate(
        tmp_path, "types", "preview", "desk", "booked", '--data={"what": "Dentist"}', "--locale=de"
    )
    assert shown.returncode == 0, shown.stderr
    rendered = json.loads(shown.stdout)
    assert (rendered["title"], rendered["body"]) == ("Booked: Dentist", "Hi ")
    assert rendered["locales"] == {"de": {"title": "Gebucht: Dentist"}}

    required = pushgate(tmp_path, "apps", "update", "desk", "--requires-type")
    assert required.returncode == 0, required.stderr
    untyped = pushgate(tmp_path, "send", "--app=desk", "--everyone", "--title=x", "--no-wait")
    assert untyped.returncode == 1
    assert "type" in untyped.stderr
    sent = pushgate(
        tmp_path,
        "send",
        "--app=desk",
        "--everyone",
        "--type=booked",
        '--data={"what": "x"}',
        "--no-wait",
    )
    assert sent.returncode == 0, sent.stderr
    assert ACCEPTED.search(sent.stdout) is not None, sent.stdout

    changed = pushgate(
        tmp_path, "types", "update", "desk", "booked", "--disabled", "--clear-template"
    )
    assert changed.returncode == 0, changed.stderr
    after = json.loads(pushgate(tmp_path, "types", "show", "desk", "booked").stdout)
    assert (after["enabled"], after["template"], after["version"]) == (False, None, 2)
    assert pushgate(tmp_path, "types", "delete", "desk", "booked").returncode == 0
    assert pushgate(tmp_path, "types", "show", "desk", "booked").returncode == 1
