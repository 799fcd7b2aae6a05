"""The command line as a client of a running server (docs/cli.md): which server it talks
to, what it says and how it exits when something is wrong, and the local commands that
refuse to start an instance by accident. Commands run in this process (tests/e2e/cli.py)."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pushgate.cli import LOCAL_COMMANDS, app
from pushgate.cli.remote import ExitCode
from tests.e2e.cli import Cli, cli_on_live_server
from tests.e2e.serving import free_port, pushgate_env

ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    with cli_on_live_server(tmp_path_factory.mktemp("remote")) as running:
        yield running


def test_remote_commands_on_a_live_server(cli: Cli) -> None:
    assert cli("apps", "create", "remote-shop").exit_code == 0
    registered = cli("users", "list")
    assert registered.exit_code == 0, registered.stderr
    made = cli("keys", "create", "--name", "backend", "--scope", "send")
    assert made.exit_code == 0, made.stderr
    assert "backend" in cli("keys", "list").stdout
    sent = cli("send", "--app", "remote-shop", "--user", "nobody", "--title", "Hi", "--no-wait")
    assert sent.exit_code == 0, sent.stderr
    accepted = ID.search(sent.stdout)
    assert accepted is not None, sent.stdout
    assert "unknown, so they get nothing: nobody" in sent.stdout
    listed = cli("notifications", "list", "--app", "remote-shop")
    assert accepted.group(0) in listed.stdout
    shown = cli("notifications", "show", accepted.group(0))
    assert f"notification {accepted.group(0)}: " in shown.stdout
    assert cli("devices", "list", "--app", "remote-shop").exit_code == 0
    audit = cli("audit", "list", "--action", "app.create", "--json")
    assert '"object_id":"' in audit.stdout, audit.stdout


def test_a_saved_profile_is_used_when_no_url_is_given(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "config"
    mine = Cli("", "", home, tmp_path)
    none_yet = mine("apps", "list", PUSHGATE_URL=None, PUSHGATE_API_KEY=None)
    assert none_yet.exit_code == ExitCode.BAD_INPUT
    assert "no server to talk to" in none_yet.stderr
    added = mine("profile", "add", "here", "--url", cli.url, "--key", cli.key)
    assert added.exit_code == 0, added.stderr
    saved = home / "pushgate" / "profiles.toml"
    assert saved.stat().st_mode & 0o777 == 0o600
    unreachable = f"http://127.0.0.1:{free_port()}"
    assert mine("profile", "add", "gone", "--url", unreachable, "--key", "pgk_x").exit_code == 0
    listed = mine("profile", "list")
    assert re.search(r"\*\s+│\s+here", listed.stdout), listed.stdout  # the first is the default
    assert cli.key not in listed.stdout

    by_default = mine("apps", "list", PUSHGATE_URL=None, PUSHGATE_API_KEY=None)
    assert by_default.exit_code == 0, by_default.stderr
    named = mine("--profile", "gone", "apps", "list", PUSHGATE_URL=None, PUSHGATE_API_KEY=None)
    assert named.exit_code == ExitCode.UNREACHABLE
    assert f"cannot reach the server at {unreachable} (profile 'gone')" in named.stderr
    from_env = mine("apps", "list", PUSHGATE_PROFILE="gone", PUSHGATE_URL=None)
    assert from_env.exit_code == ExitCode.UNREACHABLE
    url_wins = mine("--url", cli.url, "--key", cli.key, "apps", "list", PUSHGATE_PROFILE="gone")
    assert url_wins.exit_code == 0, url_wins.stderr

    assert mine("profile", "use", "gone").exit_code == 0
    now_gone = mine("apps", "list", PUSHGATE_URL=None, PUSHGATE_API_KEY=None)
    assert now_gone.exit_code == ExitCode.UNREACHABLE
    assert mine("profile", "remove", "gone").exit_code == 0
    unknown = mine("--profile", "gone", "apps", "list", PUSHGATE_URL=None)
    assert unknown.exit_code == ExitCode.BAD_INPUT
    assert "no profile 'gone'" in unknown.stderr


def test_errors_say_what_is_wrong_and_exit_with_their_code(cli: Cli) -> None:
    bad_key = cli("apps", "list", PUSHGATE_API_KEY="pgk_000000000000_nope")
    assert bad_key.exit_code == ExitCode.REFUSED
    assert (
        "error (unauthenticated): unknown API key (the key of --url or PUSHGATE_URL"
        in bad_key.stderr
    )
    missing = cli("notifications", "show", "no-such-id")
    assert missing.exit_code == ExitCode.REFUSED
    assert "error (not_found)" in missing.stderr
    no_key = cli("apps", "list", PUSHGATE_API_KEY=None)
    assert no_key.exit_code == ExitCode.BAD_INPUT
    assert "--url needs an API key" in no_key.stderr
    usage = cli("apps", "create")
    assert usage.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("send", "--app", "a", "--everyone"), "error: nothing to send: give a title"),
        (("tenants", "create", "Not A Name"), "error: name: not allowed here; it must match ^["),
        (("send", "--app", "a", "--everyone", "--title", "x", "--ttl", "-1"), "error: ttl: "),
    ],
)
def test_refused_input_has_no_validator_jargon(args: tuple[str, ...], said: str) -> None:
    done = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    assert done.exit_code == ExitCode.BAD_INPUT
    assert said in done.stderr
    assert "Value error" not in done.stderr
    assert "\n" not in done.stderr.strip()  # one line, not wrapped


def test_local_commands_refuse_to_start_an_instance_where_there_is_none(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    rows = tmp_path / "devices.csv"
    rows.write_text("provider,token\n")
    implicit = {"PUSHGATE_DATA_DIR": None, "PUSHGATE_CONFIG": None, "PUSHGATE_DATABASE_URL": None}
    here = tmp_path / "elsewhere"
    here.mkdir()
    with contextlib.chdir(here):
        expected = here.resolve() / "var" / "pushgate.db"
        for args in (("migrate",), ("devices", "import", str(rows), "--app", "shop")):
            done = runner.invoke(app, list(args), env=implicit)
            assert done.exit_code == ExitCode.BAD_INPUT, done.stderr
            assert f"no pushgate instance at {expected}" in done.stderr
            assert "--init" in done.stderr
            assert not (here / "var").exists()
        # A data folder named on purpose (a container's, a service's) is created as given.
        named = here / "named"
        made = runner.invoke(app, ["migrate"], env={**implicit, "PUSHGATE_DATA_DIR": str(named)})
        assert made.exit_code == 0, made.stderr
        assert (named / "pushgate.db").exists()


def test_migrate_init_makes_an_instance_quietly(tmp_path: Path) -> None:
    # A process of its own: the logging setup under test is what a fresh process does.
    done = subprocess.run(
        [sys.executable, "-m", "pushgate", "migrate", "--init"],
        env=pushgate_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("database at revision ")
    assert "alembic" not in done.stderr
    assert "Running upgrade" not in done.stderr
    assert (tmp_path / "data" / "pushgate.db").exists()


def test_a_malformed_csv_is_named_with_its_line(cli: Cli) -> None:
    assert cli("apps", "create", "csv-shop").exit_code == 0
    source = cli.data_dir / "broken.csv"
    source.write_text(f'provider,token\napns,{"ab" * 32},extra\napns,"{"cd" * 32}\n')
    done = cli("devices", "import", str(source), "--app", "csv-shop")
    assert done.exit_code == ExitCode.REFUSED
    assert "line 2: malformed CSV: 3 cells, the header names 2 columns" in done.stdout
    assert "line 3: malformed CSV: unexpected end of data" in done.stdout


def test_every_command_and_option_has_help() -> None:
    root = typer.main.get_command(app)
    missing: list[str] = []

    def walk(command: object, path: str) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, f"{path} {name}")
            return
        if not (getattr(command, "help", None) or "").strip():
            missing.append(path)
        for param in getattr(command, "params", []):
            if not (getattr(param, "help", None) or "").strip():
                missing.append(f"{path} {param.name}")

    walk(root, "pushgate")
    assert missing == []
    assert len(root.commands) > 20  # type: ignore[attr-defined]


def test_profile_bootstrap_saves_a_new_admin_key_for_the_local_server(tmp_path: Path) -> None:
    env: dict[str, str | None] = {
        "PUSHGATE_DATA_DIR": None,
        "PUSHGATE_CONFIG": None,
        "PUSHGATE_DATABASE_URL": None,
        "PUSHGATE_BIND": "0.0.0.0:8099",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PUSHGATE_URL": None,
        "PUSHGATE_API_KEY": None,
        "COLUMNS": "250",
    }
    runner = CliRunner()
    with contextlib.chdir(tmp_path):
        refused = runner.invoke(app, ["profile", "bootstrap"], env=env)
        assert refused.exit_code == ExitCode.BAD_INPUT
        assert "no pushgate instance at" in refused.stderr
        made = runner.invoke(app, ["profile", "bootstrap", "--init"], env=env)
    assert made.exit_code == 0, made.stderr
    assert "saved profile local for http://127.0.0.1:8099" in made.stdout
    saved = (tmp_path / "config" / "pushgate" / "profiles.toml").read_text()
    assert saved.startswith('default = "local"')
    assert re.search(r'key = "pgk_[0-9a-f]{12}_', saved)


def test_the_local_commands_are_those_docs_cli_md_lists() -> None:
    text = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    section = text.split("## Local commands", 1)[1]
    table = section[section.index("| command |") :].split("\n\n", 1)[0]
    listed = {name for row in table.splitlines() for name in re.findall(r"`([a-z -]+)`", row)}
    assert listed >= set(LOCAL_COMMANDS)
