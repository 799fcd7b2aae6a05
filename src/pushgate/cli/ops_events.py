"""``pushgate ops-events``: what pushgate itself did that an operator must know
(docs/operations.md, "Operational events")."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pushgate.cli.runtime import OPERATOR, ConfigOption, console, run_with_services
from pushgate.core.operational_events import EventKind, OperationalEvent

if TYPE_CHECKING:
    from pushgate.wiring import Services

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
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON object per line, as GET /v1/operational-events."),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Newest first."""
    from pushgate.api.schemas import OperationalEventOut, iso

    async def work(services: Services) -> list[OperationalEvent]:
        scope = None if tenant is None else await services.access.tenant_for(OPERATOR, tenant)
        return await services.operational_events.events(OPERATOR, scope, kind, None, None, limit)

    found = run_with_services(config, work)
    if as_json:
        for event in found:
            # Plain print: a terminal-width renderer would wrap long lines.
            print(OperationalEventOut.of(event).model_dump_json())
        return
    table = Table("at", "kind", "subject", "tenant", "app", "details")
    for event in found:
        table.add_row(
            iso(event.at),
            event.kind.value,
            f"{event.subject_type.value} {event.subject_id}",
            event.tenant_id or "(instance)",
            event.app_id or "",
            json.dumps(dict(event.details), sort_keys=True),
        )
    console.print(table)
