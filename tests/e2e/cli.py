"""The command line run in this process (typer's ``CliRunner``) against a live server,
where only its output and exit code matter: far cheaper than a Python process a command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner, Result

from pushgate.cli import app
from tests.api.live import live_server


@dataclass(frozen=True)
class Cli:
    """``pushgate`` with a server's URL and key in its environment (PUSHGATE_URL,
    PUSHGATE_API_KEY) and profiles kept in ``config_home``; ``env`` adds to that or, with
    None, removes a variable."""

    url: str
    key: str
    config_home: Path
    data_dir: Path

    def __call__(self, *args: str, **env: str | None) -> Result:
        base: dict[str, str | None] = {
            "PUSHGATE_URL": self.url,
            "PUSHGATE_API_KEY": self.key,
            "PUSHGATE_PROFILE": None,
            "PUSHGATE_CONFIG": None,
            "PUSHGATE_DATA_DIR": str(self.data_dir),
            "XDG_CONFIG_HOME": str(self.config_home),
            "COLUMNS": "250",
        }
        return CliRunner().invoke(app, list(args), env={**base, **env})


@contextmanager
def cli_on_live_server(data_dir: Path) -> Iterator[Cli]:
    """A live server on ``data_dir`` and the command line pointed at it."""
    with live_server(data_dir) as running:
        yield Cli(running.base_url, running.admin_key, data_dir / "user-config", data_dir)
