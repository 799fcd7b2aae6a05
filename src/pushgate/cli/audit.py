"""``pushgate audit``: who did what to which object, when and from where."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from pushgate.cli.output import json_lines, more, table
from pushgate.cli.remote import api
from pushgate.core.audit import AuditAction

audit = typer.Typer(help="The audit log of changes, sends and cancels.", no_args_is_help=True)


@audit.command("list")
def list_events(
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant's events (default: every event).")
    ] = None,
    action: Annotated[AuditAction | None, typer.Option(help="Only this action.")] = None,
    after: Annotated[str | None, typer.Option(help="Older than this event id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Rows to show.")] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line, as GET /v1/audit shows.")
    ] = False,
) -> None:
    """Newest first."""
    page = api().get("/v1/audit", tenant=tenant, action=action, after=after, limit=limit)
    if as_json:
        json_lines(page["items"])
        return
    rows = [
        (
            event["at"],
            event["action"],
            event["object_id"],
            event["tenant_id"] or "(instance)",
            f"{event['key_name']} ({event['key_id']})",
            event["origin"],
            json.dumps(event["details"], sort_keys=True),
        )
        for event in page["items"]
    ]
    table(("at", "action", "object", "tenant", "key", "from", "details"), rows)
    more(page)
