"""``pushgate sources``: a tenant's inbound sources from a terminal (docs/events.md,
"Inbound sources"), through ``/v1/sources``; input is checked first by the API's own
models. A source's secret goes in with its file and is never shown again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from pushgate.cli.options import FileArgument, TenantOption
from pushgate.cli.output import json_document, json_lines, more, table
from pushgate.cli.remote import api
from pushgate.cli.runtime import checked, console, say_error

sources = typer.Typer(
    help="Define, list, change, pause and remove inbound sources.", no_args_is_help=True
)

KeyArgument = Annotated[str, typer.Argument(help="The source's key.")]


def _json_file(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        say_error(f"file {path}: {exc}")
        raise typer.Exit(2) from exc
    if not isinstance(loaded, dict):
        say_error(f"file {path}: not a JSON object")
        raise typer.Exit(2)
    return loaded


@sources.command("create")
def create_source(file: FileArgument, tenant: TenantOption = None) -> None:
    """Define a source from a JSON file; prints the path its host sends to."""
    from pushgate.core.inbound_inputs import SourceInput

    values = checked(SourceInput, **_json_file(file))
    made = api().post("/v1/sources", values, tenant=tenant)
    console.print(f"created source {made['key']}: POST {made['path']}")


@sources.command("list")
def list_sources(
    as_json: Annotated[bool, typer.Option("--json", help="JSON, as the API shows it.")] = False,
    after: Annotated[str | None, typer.Option(help="Start after this key.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Rows to show.")] = 100,
    tenant: TenantOption = None,
) -> None:
    """The tenant's sources in key order."""
    page = api().get("/v1/sources", tenant=tenant, after=after, limit=limit)
    if as_json:
        json_lines(page["items"])
        return
    rows = [
        (
            item["key"],
            item["kind"],
            item["path"],
            item["app"] or "",
            "yes" if item["paused"] else "no",
        )
        for item in page["items"]
    ]
    table(("key", "kind", "path", "app", "paused"), rows)
    more(page)


@sources.command("show")
def show_source(key: KeyArgument, tenant: TenantOption = None) -> None:
    """One source, as JSON (without its secret)."""
    json_document(api().get(f"/v1/sources/{key}", tenant=tenant))


@sources.command("update")
def update_source(key: KeyArgument, file: FileArgument, tenant: TenantOption = None) -> None:
    """Change what the JSON file gives; the rest stays."""
    from pushgate.core.inbound_inputs import SourcePatch

    values = checked(SourcePatch, **_json_file(file))
    changed = api().patch(f"/v1/sources/{key}", values, tenant=tenant)
    console.print(f"updated source {changed['key']} (version {changed['version']})")


@sources.command("pause")
def pause_source(
    key: KeyArgument,
    resume: Annotated[bool, typer.Option("--resume", help="Take requests again.")] = False,
    tenant: TenantOption = None,
) -> None:
    """Refuse the source's requests (503, the sender retries) until resumed."""
    changed = api().patch(f"/v1/sources/{key}", {"paused": not resume}, tenant=tenant)
    console.print(f"source {changed['key']} {'paused' if changed['paused'] else 'resumed'}")


@sources.command("delete")
def delete_source(key: KeyArgument, tenant: TenantOption = None) -> None:
    """Delete a source; events it recorded stay."""
    api().delete(f"/v1/sources/{key}", tenant=tenant)
    console.print(f"deleted source {key}")
