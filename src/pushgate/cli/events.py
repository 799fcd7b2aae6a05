"""``pushgate events`` and ``pushgate triggers``: record events and an app's triggers from
a terminal (docs/events.md), through ``/v1/events`` and ``/v1/apps/{app}/triggers``; input
is checked first by the API's own models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from pushgate.cli.options import AppArgument, FileArgument, TenantOption
from pushgate.cli.output import json_document, json_lines, more, table
from pushgate.cli.remote import api
from pushgate.cli.runtime import checked, console, say_error

events = typer.Typer(help="Record events of a host's records and see what they made.")
triggers = typer.Typer(
    help="Define, list, change, test and remove an app's triggers.", no_args_is_help=True
)

KeyArgument = Annotated[str, typer.Argument(help="The trigger's key.")]


def json_file(path: Path, what: str) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        say_error(f"{what} {path}: {exc}")
        raise typer.Exit(2) from exc
    if not isinstance(loaded, dict):
        say_error(f"{what} {path}: not a JSON object")
        raise typer.Exit(2)
    return loaded


def _fields(given: list[str] | None) -> dict[str, Any]:
    """``name=value`` pairs; a value that reads as JSON (1, true, ["a"]) is taken as such."""
    out: dict[str, Any] = {}
    for item in given or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            say_error(f"--field {item!r}: give name=value")
            raise typer.Exit(2)
        try:
            out[name] = json.loads(value)
        except ValueError:
            out[name] = value
    return out


@events.command("send")
def send_event(
    name: Annotated[str | None, typer.Option(help="The event's name (incident.assigned).")] = None,
    record_type: Annotated[str | None, typer.Option(help="The record's type.")] = None,
    record_id: Annotated[str | None, typer.Option(help="The record's id.")] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", help="A record field, name=value; repeat.")
    ] = None,
    operation: Annotated[str | None, typer.Option(help="create, update or delete.")] = None,
    actor: Annotated[str | None, typer.Option(help="Who did it (an external id).")] = None,
    app: Annotated[str | None, typer.Option(help="Only this app's triggers.")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="The same key again within 24 h records nothing new.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option(help="A JSON file with the whole event; options go on top.")
    ] = None,
    tenant: TenantOption = None,
) -> None:
    """Record one event; the workers run the triggers it matches."""
    from pushgate.core.event_inputs import EventInput

    body = json_file(file, "--file") if file is not None else {}
    record = dict(body.get("record") or {})
    record.update({k: v for k, v in (("type", record_type), ("id", record_id)) if v})
    if field:
        record["fields"] = {**(record.get("fields") or {}), **_fields(field)}
    body["record"] = record
    given = (
        ("name", name),
        ("operation", operation),
        ("actor", actor),
        ("app", app),
        ("idempotency_key", idempotency_key),
    )
    body.update({k: v for k, v in given if v is not None})
    made = api().post("/v1/events", checked(EventInput, **body), tenant=tenant)
    word = "recorded" if made["created"] else "recorded before"
    console.print(f"{word}: event {made['id']}")


@events.command("show")
def show_event(
    event_id: Annotated[str, typer.Argument(help="The event's id.")],
    tenant: TenantOption = None,
) -> None:
    """An event, and per trigger what became of it, as JSON."""
    json_document(api().get(f"/v1/events/{event_id}", tenant=tenant))


@triggers.command("create")
def create_trigger(app: AppArgument, file: FileArgument, tenant: TenantOption = None) -> None:
    """Define a trigger from a JSON file (docs/events.md, "Triggers")."""
    from pushgate.core.event_inputs import TriggerInput

    values = checked(TriggerInput, **json_file(file, "file"))
    made = api().post(f"/v1/apps/{app}/triggers", values, tenant=tenant)
    console.print(f"created trigger {made['key']} ({made['id']})")


@triggers.command("list")
def list_triggers(
    app: AppArgument,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, as the API shows it.")] = False,
    after: Annotated[str | None, typer.Option(help="Start after this key.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Rows to show.")] = 100,
    tenant: TenantOption = None,
) -> None:
    """The app's triggers in key order."""
    page = api().get(f"/v1/apps/{app}/triggers", tenant=tenant, after=after, limit=limit)
    if as_json:
        json_lines(page["items"])
        return
    rows = [
        (
            item["key"],
            ", ".join(item["events"]),
            item["type"],
            item["recipients"]["kind"],
            "yes" if item["enabled"] else "no",
        )
        for item in page["items"]
    ]
    table(("key", "events", "type", "recipients", "enabled"), rows)
    more(page)


@triggers.command("show")
def show_trigger(app: AppArgument, key: KeyArgument, tenant: TenantOption = None) -> None:
    """One trigger, as JSON."""
    json_document(api().get(f"/v1/apps/{app}/triggers/{key}", tenant=tenant))


@triggers.command("update")
def update_trigger(
    app: AppArgument, key: KeyArgument, file: FileArgument, tenant: TenantOption = None
) -> None:
    """Change what the JSON file gives; the rest stays."""
    from pushgate.core.event_inputs import TriggerPatch

    values = checked(TriggerPatch, **json_file(file, "file"))
    changed = api().patch(f"/v1/apps/{app}/triggers/{key}", values, tenant=tenant)
    console.print(f"updated trigger {changed['key']} (version {changed['version']})")


@triggers.command("delete")
def delete_trigger(app: AppArgument, key: KeyArgument, tenant: TenantOption = None) -> None:
    """Delete a trigger; events already processed keep their outcome."""
    api().delete(f"/v1/apps/{app}/triggers/{key}", tenant=tenant)
    console.print(f"deleted trigger {key}")


@triggers.command("test")
def run_trigger_test(
    app: AppArgument,
    key: KeyArgument,
    event: Annotated[Path, typer.Argument(help="A JSON file with a sample event.")],
    tenant: TenantOption = None,
) -> None:
    """Run the trigger against a sample event: match, recipients, text; nothing is sent."""
    body = {"event": json_file(event, "event")}
    json_document(api().post(f"/v1/apps/{app}/triggers/{key}/test", body, tenant=tenant))
