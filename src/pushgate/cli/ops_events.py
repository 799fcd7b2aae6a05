"""``pushgate ops-events``: what pushgate itself did that an operator must know
(docs/operations.md, "Operational events")."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from pushgate.cli.output import json_lines, more, table
from pushgate.cli.remote import api
from pushgate.core.operational_events import EventKind

ops_events = typer.Typer(
    help="Operational events: paused credentials, dead letters, failed handlers and sends.",
    no_args_is_help=True,
)


@ops_events.command("list")
def list_events(
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant's events (default: every event).")
    ] = None,
    kind: Annotated[EventKind | None, typer.Option(help="Only this kind.")] = None,
    app: Annotated[str | None, typer.Option(help="Only this app's (with --tenant).")] = None,
    after: Annotated[str | None, typer.Option(help="Older than this event id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Rows to show.")] = 50,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON object per line, as GET /v1/operational-events."),
    ] = False,
) -> None:
    """Newest first."""
    page = api().get(
        "/v1/operational-events", tenant=tenant, kind=kind, app=app, after=after, limit=limit
    )
    if as_json:
        json_lines(page["items"])
        return
    rows = [
        (
            event["at"],
            event["kind"],
            f"{event['subject']['type']} {event['subject']['id']}",
            event["tenant_id"] or "(instance)",
            event["app_id"],
            json.dumps(event["details"], sort_keys=True),
        )
        for event in page["items"]
    ]
    table(("at", "kind", "subject", "tenant", "app", "details"), rows)
    more(page)
