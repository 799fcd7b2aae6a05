"""``pushgate audit``: who did what to which object, when and from where."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pushgate.cli.runtime import OPERATOR, ConfigOption, console, run_with_services
from pushgate.core.audit import AuditAction, AuditEvent

if TYPE_CHECKING:
    from pushgate.wiring import Services

audit = typer.Typer(help="The audit log of changes, sends and cancels.", no_args_is_help=True)


@audit.command("list")
def list_events(
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant's events (default: every event).")
    ] = None,
    action: Annotated[AuditAction | None, typer.Option(help="Only this action.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line, as GET /v1/audit shows.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Newest first."""
    from pushgate.api.schemas import AuditEventOut, iso

    async def work(services: Services) -> list[AuditEvent]:
        scope = None if tenant is None else await services.access.tenant_for(OPERATOR, tenant)
        return await services.audit.events(OPERATOR, scope, action, None, limit)

    found = run_with_services(config, work)
    if as_json:
        for event in found:
            # Plain print: a terminal-width renderer would wrap long lines.
            print(AuditEventOut.of(event).model_dump_json())
        return
    table = Table("at", "action", "object", "tenant", "key", "from", "details")
    for event in found:
        table.add_row(
            iso(event.at),
            event.action.value,
            event.object_id,
            event.tenant_id or "(instance)",
            f"{event.key_name} ({event.key_id})",
            event.origin,
            json.dumps(dict(event.details), sort_keys=True),
        )
    console.print(table)
