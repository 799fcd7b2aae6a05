"""The ``pushgate`` command line: serve, migrate, administration, import, simulators."""

from __future__ import annotations

import typer

from pushgate.cli.actions import action_sets, actions
from pushgate.cli.admin import apps, keys, tenants
from pushgate.cli.audit import audit
from pushgate.cli.backup import backup_command, restore_command
from pushgate.cli.devices import devices
from pushgate.cli.init import init_command
from pushgate.cli.notifications import notifications
from pushgate.cli.ops_events import ops_events
from pushgate.cli.queue import queue
from pushgate.cli.scopes import settings, units
from pushgate.cli.secrets import secrets
from pushgate.cli.send import send
from pushgate.cli.serve import register
from pushgate.cli.types import types
from pushgate.cli.users import users
from pushgate.demo.command import demo_command
from pushgate.simulators.cli import simulate_command

app = typer.Typer(
    name="pushgate",
    help="Self-hosted push notification gateway.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("init")(init_command)
register(app)
app.add_typer(keys, name="keys")
app.add_typer(tenants, name="tenants")
app.add_typer(apps, name="apps")
app.add_typer(actions, name="actions")
app.add_typer(action_sets, name="action-sets")
app.add_typer(types, name="types")
app.add_typer(devices, name="devices")
app.add_typer(users, name="users")
app.add_typer(units, name="units")
app.add_typer(settings, name="settings")
app.add_typer(notifications, name="notifications")
app.add_typer(queue, name="queue")
app.add_typer(audit, name="audit")
app.add_typer(ops_events, name="ops-events")
app.add_typer(secrets, name="secrets")
app.command("simulate")(simulate_command)
app.command("send")(send)
app.command("demo")(demo_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)


def main() -> None:
    app()
