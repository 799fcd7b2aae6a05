"""The systemd unit examples: ``systemd-analyze verify`` passes them, ``systemd-analyze
security`` rates them OK, and what they run and set is real (no systemd instance needed)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.exceptions import TyperException

from tests.packaging.deploy import SETTING_VARIABLES, accepts
from tests.packaging.installed import ROOT
from tests.services import require_program

UNITS = ("pushgate.service", "pushgate-worker@.service")


def unit_lines(name: str) -> list[tuple[str, str]]:
    pairs = []
    for line in (ROOT / "deploy" / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            pairs.append((key, value))
    return pairs


@pytest.mark.parametrize("name", UNITS)
def test_systemd_units_verify_and_are_hardened(name: str, tmp_path: Path) -> None:
    analyze = require_program("systemd-analyze", "systemd")
    # systemd checks that ExecStart's program exists: point it at this environment's.
    text = (ROOT / "deploy" / name).read_text()
    here = Path(sys.executable).with_name("pushgate")
    unit = tmp_path / name.replace("@.", "@1.")
    unit.write_text(text.replace("/opt/pushgate/bin/pushgate", str(here)))
    verify = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert (verify.returncode, verify.stdout + verify.stderr) == (0, "")
    # Exposure on systemd's 0–10 scale, times ten: 2.0 or less is what it rates "OK".
    security = subprocess.run(
        [analyze, "security", "--offline=true", "--threshold=20", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert security.returncode == 0, security.stdout[-2000:]

    pairs = unit_lines(name)
    keys = dict(pairs)
    assert keys["DynamicUser"] == "yes"
    assert keys["NoNewPrivileges"] == "yes"
    assert keys["ProtectSystem"] == "strict"
    exec_start = shlex.split(keys["ExecStart"])
    assert exec_start[0] == "/opt/pushgate/bin/pushgate"
    accepts([arg.replace("%d", "/run/credentials").replace("%i", "1") for arg in exec_start[1:]])
    with pytest.raises(TyperException):  # what ``accepts`` would say of a wrong option
        accepts([*exec_start[1:2], "--no-such-option"])
    for key, value in pairs:
        if key == "Environment":
            variable = value.split("=", 1)[0]
            assert variable in SETTING_VARIABLES, variable


def test_the_worker_unit_has_the_api_units_hardening() -> None:
    def hardening(name: str) -> set[tuple[str, str]]:
        skip = ("Description", "ExecStart", "Environment", "StateDirectory")
        return {(k, v) for k, v in unit_lines(name) if not k.startswith(skip)}

    assert hardening(UNITS[0]) == hardening(UNITS[1])
