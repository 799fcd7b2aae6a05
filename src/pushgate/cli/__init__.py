"""The ``pushgate`` command line: serve, migrate, administration, import, simulators.

Administration commands talk to a running server through the API (cli/remote.py); the
commands listed in ``LOCAL_COMMANDS`` open the instance's database themselves.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pushgate.cli.actions import action_sets, actions
from pushgate.cli.admin import apps, keys, tenants
from pushgate.cli.audit import audit
from pushgate.cli.backup import backup_command, restore_command
from pushgate.cli.devices import devices
from pushgate.cli.events import events, triggers
from pushgate.cli.init import init_command
from pushgate.cli.notifications import notifications
from pushgate.cli.ops_events import ops_events
from pushgate.cli.packages import packages
from pushgate.cli.preferences import preferences
from pushgate.cli.profile import profile
from pushgate.cli.queue import queue
from pushgate.cli.relay import relay
from pushgate.cli.remote import CHOICE, Choice
from pushgate.cli.reports import interactions, reports
from pushgate.cli.scopes import settings, units
from pushgate.cli.secrets import secrets
from pushgate.cli.send import send
from pushgate.cli.serve import register
from pushgate.cli.sources import sources
from pushgate.cli.types import types
from pushgate.cli.users import users
from pushgate.demo.command import demo_command
from pushgate.simulators.cli import simulate_command

# Commands that open the database directly, and why (docs/cli.md, "Local commands").
LOCAL_COMMANDS = {
    "serve": "it is the server",
    "worker": "it is a worker of the server",
    "migrate": "it changes the database's schema, before any server runs on it",
    "profile bootstrap": "it makes the first admin key, before any key exists",
    "devices import": "bulk writes in batches, far faster than one request a row",
    "secrets new-key": "it writes the instance key file in the data folder",
    "secrets rotate": "it re-seals stored secrets with the key file of this machine",
    "backup": "it copies the database and the key file",
    "restore": "it replaces the database and the key file",
    "demo": "it starts its own server and simulators in a scratch folder",
    "simulate": "it runs provider simulators, no instance at all",
    "init": "it writes a settings file on this machine, before any server runs",
}

EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 the server refused (not found, conflict, forbidden, ...); "
    "2 bad usage or input; 3 the server cannot be reached; 4 `send` stopped following "
    "before the end; 130 interrupted. See docs/cli.md."
)

app = typer.Typer(
    name="pushgate",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def connect(
    context: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            envvar="PUSHGATE_URL",
            help="The server's base URL, e.g. http://127.0.0.1:8080 (else the profile's).",
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            envvar="PUSHGATE_API_KEY", help="API key for the server (else the profile's)."
        ),
    ] = None,
    profile_name: Annotated[
        str | None,
        typer.Option(
            "--profile",
            envvar="PUSHGATE_PROFILE",
            help="A saved profile (`pushgate profile list`); else the default one.",
        ),
    ] = None,
) -> None:
    """Self-hosted push notification gateway.

    Administration commands talk to a running server: --url and --key, or a saved profile
    (the first `pushgate serve` saves 'local'). serve, worker, migrate, devices import,
    secrets, backup and restore work on this machine's instance database.
    """
    choice = Choice(url, key, profile_name)
    CHOICE.set(choice)
    context.call_on_close(choice.close)


register(app)
app.add_typer(keys, name="keys")
app.add_typer(tenants, name="tenants")
app.add_typer(apps, name="apps")
app.add_typer(actions, name="actions")
app.add_typer(action_sets, name="action-sets")
app.add_typer(types, name="types")
app.add_typer(triggers, name="triggers")
app.add_typer(events, name="events")
app.add_typer(packages, name="packages")
app.add_typer(sources, name="sources")
app.add_typer(devices, name="devices")
app.add_typer(users, name="users")
app.add_typer(units, name="units")
app.add_typer(settings, name="settings")
app.add_typer(preferences, name="preferences")
app.add_typer(notifications, name="notifications")
app.add_typer(queue, name="queue")
app.add_typer(audit, name="audit")
app.add_typer(ops_events, name="ops-events")
app.add_typer(reports, name="reports")
app.add_typer(interactions, name="interactions")
app.add_typer(relay, name="relay")
app.add_typer(secrets, name="secrets")
app.add_typer(profile, name="profile")
app.command("simulate")(simulate_command)
app.command("send")(send)
app.command("demo")(demo_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.command("init")(init_command)


def main() -> None:
    app()
