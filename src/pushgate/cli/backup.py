"""``pushgate backup`` and ``pushgate restore``: a copy of the database, and back."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pushgate.cli.runtime import ConfigOption, console, err_console, settings_or_exit
from pushgate.config import KEY_FILE_NAME, Settings
from pushgate.errors import PushgateError

if TYPE_CHECKING:
    from pushgate.storage.backup import CopySummary

PathArgument = Annotated[Path, typer.Argument(help="The copy's file.")]


def backup_command(path: PathArgument, config: ConfigOption = None) -> None:
    """Copy the database to a new file, consistently, even while pushgate runs."""
    from pushgate.storage import backup as copies

    settings = settings_or_exit(config)
    database = _sqlite_or_exit(settings, path)
    summary = _or_exit(lambda: copies.backup(database, path))
    _print(summary, "written")
    where = (
        "PUSHGATE_SECRET_KEY"
        if settings.secret_key is not None
        else str(settings.data_dir / KEY_FILE_NAME)
    )
    console.print(
        f"The instance key is not in the copy: keep {where} safe, apart from it; without "
        "that key the provider secrets in the copy cannot be opened.",
        soft_wrap=True,
    )


def restore_command(
    path: PathArgument,
    yes: Annotated[
        bool, typer.Option("--yes", help="Replace the current database without asking.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Replace the database with a copy made by ``pushgate backup`` (stop pushgate first)."""
    from pushgate.storage import backup as copies

    settings = settings_or_exit(config)
    database = _sqlite_or_exit(settings, path)
    if database.exists() and not yes:
        typer.confirm(f"Replace {database} with {path}?", abort=True)
    summary = _or_exit(lambda: copies.restore(path, database))
    _print(summary, "restored")
    console.print("Start pushgate: it brings an older copy up to date on start.", soft_wrap=True)


def _sqlite_or_exit(settings: Settings, path: Path) -> Path:
    from pushgate.storage import backup as copies
    from pushgate.storage.engine import sqlite_path

    url = settings.effective_database_url
    database = sqlite_path(url) if url.startswith("sqlite") else None
    if database is not None:
        return database
    if url.startswith("sqlite"):
        err_console.print(
            "[red]error:[/red] an in-memory database has nothing to copy", soft_wrap=True
        )
        raise typer.Exit(2)
    err_console.print(
        "[red]error:[/red] the database is PostgreSQL: use its own tools, for example\n  "
        + shlex.join(copies.pg_dump_command(url, path))
        + "\nand restore with pg_restore --clean --dbname=<url> <file> (docs/operations.md)."
    )
    raise typer.Exit(2)


def _or_exit(action: Callable[[], CopySummary]) -> CopySummary:
    try:
        return action()
    except PushgateError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}", soft_wrap=True)
        raise typer.Exit(2) from exc


def _print(summary: CopySummary, what: str) -> None:
    counts = ", ".join(f"{count} {table}" for table, count in summary.rows.items())
    console.print(
        f"{summary.path}: {what}, {summary.bytes} bytes, revision {summary.revision}: {counts}",
        soft_wrap=True,
    )
