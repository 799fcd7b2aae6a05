"""What the deployment files are checked against: the settings model and the CLI."""

from __future__ import annotations

import json
import re

import typer

from pushgate.cli import app as cli_app
from pushgate.config import CONFIG_FILE_ENV, ENV_PREFIX, Settings
from tests.packaging.installed import ROOT

#: Every environment variable pushgate reads: a setting each, and the settings file's path.
SETTING_VARIABLES = {ENV_PREFIX + name.upper() for name in Settings.model_fields} | {
    CONFIG_FILE_ENV
}
CLI = typer.main.get_command(cli_app)


def accepts(args: list[str]) -> None:
    """Raise typer's usage error unless ``pushgate <args>`` parses: a real command, options
    it has, values of their types."""
    command = CLI.get_command(typer.Context(CLI), args[0])
    assert command is not None, f"no command {args[0]}"
    command.make_context(args[0], list(args[1:]))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions in order, as (KEYWORD, the rest), continuations joined."""
    logical = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    found = []
    for line in logical.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def healthcheck_command() -> list[str]:
    """The image's HEALTHCHECK command, in its exec form (a JSON array after CMD)."""
    (healthcheck,) = [
        rest for keyword, rest in dockerfile_instructions() if keyword == "HEALTHCHECK"
    ]
    command: list[str] = json.loads(healthcheck.split(" CMD ", 1)[1])
    return command
