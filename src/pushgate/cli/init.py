"""``pushgate init``: write the commented settings file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from pushgate.cli.runtime import console, err_console
from pushgate.config import CONFIG_FILE_ENV, load_settings
from pushgate.config_file import DEFAULT_CONFIG_FILE, render_settings, write_settings_file
from pushgate.errors import PushgateError


def init_command(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar=CONFIG_FILE_ENV,
            show_envvar=False,
            help=f"File to write (else {CONFIG_FILE_ENV}, else ./{DEFAULT_CONFIG_FILE}).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Write a settings file that names every setting with its description and default.

    Settings given as PUSHGATE_* variables are written as set, the rest commented out.
    Exit status 2 when a variable is not a valid setting, 1 when the file exists.
    """
    path = config or DEFAULT_CONFIG_FILE
    # The file being written is not read: the settings come from defaults and variables.
    env = {name: value for name, value in os.environ.items() if name != CONFIG_FILE_ENV}
    try:
        settings = load_settings(env)
    except PushgateError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    try:
        write_settings_file(path, render_settings(settings), replace=force)
    except PushgateError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    console.print(f"wrote {path}", soft_wrap=True)
    console.print(f"start with: pushgate serve --config {path}", soft_wrap=True)
