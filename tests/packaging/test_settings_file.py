"""``pushgate init``: the settings file names every setting and reads back as written."""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pushgate.cli import app as cli
from pushgate.config import Settings, load_settings
from pushgate.config_file import render_settings, write_settings_file
from pushgate.errors import ConfigError
from tests.packaging.installed import ROOT

SECRET = "A" * 43  # base64url of 32 zero bytes


def _written(tmp_path: Path, settings: Settings) -> Path:
    path = tmp_path / "pushgate.toml"
    write_settings_file(path, render_settings(settings), replace=False)
    return path


def test_every_setting_is_named_described_and_given_its_default(tmp_path: Path) -> None:
    text = _written(tmp_path, Settings()).read_text()
    for name, info in Settings.model_fields.items():
        block = text.split(f"\n# {name}  (PUSHGATE_{name.upper()})\n", 1)
        assert len(block) == 2, f"{name} is not in the file"
        entry = block[1].split("\n\n", 1)[0]
        assert info.description, f"{name} has no description in config.py"
        assert info.description.split()[0] in entry
        assert "#   allowed: " in entry
        assert "#   default: " in entry
    # Allowed values come from the model's types and constraints.
    assert '#   allowed: one of "debug", "info", "warning", "error"\n' in text
    assert "#   allowed: a number, at least 0, at most 600\n" in text
    assert "#   allowed: a string, matching ^[A-Za-z0-9_.:-]{1,64}$\n" in text
    assert "#   allowed: a list of secret strings\n" in text
    # At their defaults, every setting is a comment: the file sets nothing.
    assert tomllib.loads(text) == {}
    assert load_settings(env={}, config_file=tmp_path / "pushgate.toml") == Settings()


def test_settings_read_back_as_they_were_written(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("not parsed here")
    settings = load_settings(
        env={
            "PUSHGATE_DATA_DIR": str(tmp_path / 'data "quoted"'),
            "PUSHGATE_DATABASE_URL": "postgresql+asyncpg://pushgate@db:5432/pushgate",
            "PUSHGATE_BIND": "0.0.0.0:9090",
            "PUSHGATE_SECRET_KEY": SECRET,
            "PUSHGATE_PREVIOUS_SECRET_KEYS": f"{'B' * 43},{'C' * 43}",
            "PUSHGATE_LOG_LEVEL": "debug",
            "PUSHGATE_METRICS_REQUIRE_KEY": "true",
            "PUSHGATE_SQLITE_BUSY_SECONDS": "2.5",
            "PUSHGATE_QUEUE_URL": "redis://cache:6379/3",
            "PUSHGATE_PROVIDER_CA_FILE": str(ca_file),
            "PUSHGATE_SEND_BATCH_SIZE": "250",
        }
    )
    path = _written(tmp_path, settings)
    assert load_settings(env={}, config_file=path) == settings
    live = tomllib.loads(path.read_text())
    assert live["bind"] == "0.0.0.0:9090"
    assert live["provider_ca_file"] == [str(ca_file)]
    assert "worker_concurrency" not in live  # left at its default: a comment
    # It may hold secrets: the owner's alone.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_uncommenting_every_line_gives_valid_settings(tmp_path: Path) -> None:
    text = render_settings(Settings())
    assignment = re.compile(r"^# ([a-z_]+) = ", re.MULTILINE)
    uncommented = assignment.sub(r"\1 = ", text)
    values = tomllib.loads(uncommented)
    unset = {name for name, info in Settings.model_fields.items() if info.default is None}
    # Everything but the secret key has a line to edit; unset ones show their first example.
    assert set(values) == set(Settings.model_fields) - {"secret_key"}
    path = tmp_path / "all.toml"
    path.write_text(uncommented)
    loaded = load_settings(env={}, config_file=path)
    for name in set(Settings.model_fields) - unset:
        assert getattr(loaded, name) == getattr(Settings(), name), name
    assert loaded.database_url == Settings.model_fields["database_url"].examples[0]


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "pushgate.toml"
    path.write_text("bind = '127.0.0.1:1'\n")
    with pytest.raises(ConfigError, match="exists"):
        write_settings_file(path, render_settings(Settings()), replace=False)
    assert path.read_text() == "bind = '127.0.0.1:1'\n"


def test_init_command_writes_the_environment_settings_and_refuses_to_overwrite(
    tmp_path: Path,
) -> None:
    path = tmp_path / "etc" / "pushgate.toml"
    runner = CliRunner()
    env = {"PUSHGATE_CONFIG": str(path), "PUSHGATE_BIND": "127.0.0.1:9191"}
    first = runner.invoke(cli, ["init"], env=env)
    assert first.exit_code == 0, first.output
    assert f"pushgate serve --config {path}" in first.output
    assert load_settings(env={}, config_file=path).bind == "127.0.0.1:9191"

    again = runner.invoke(cli, ["init", "--config", str(path)], env={"PUSHGATE_BIND": "1.2.3.4:1"})
    assert again.exit_code == 1
    assert "exists; --force replaces it" in again.output
    assert load_settings(env={}, config_file=path).bind == "127.0.0.1:9191"

    forced = runner.invoke(
        cli, ["init", "--config", str(path), "--force"], env={"PUSHGATE_BIND": None}
    )
    assert forced.exit_code == 0, forced.output
    assert load_settings(env={}, config_file=path) == Settings()


def test_the_readme_configuration_table_names_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `PUSHGATE_")]
    named = set(re.findall(r"`(PUSHGATE_[A-Z0-9_]+)`", "\n".join(rows)))
    assert {f"PUSHGATE_{name.upper()}" for name in Settings.model_fields} - named == set()


def test_init_refuses_an_invalid_setting_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "pushgate.toml"
    result = CliRunner().invoke(
        cli, ["init", "--config", str(path)], env={"PUSHGATE_BIND": "no port"}
    )
    assert result.exit_code == 2
    assert "PUSHGATE_BIND" in result.output
    assert not path.exists()
