"""``pushgate queue``: the delivery queue's depth, its dead letters, and retrying one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pushgate.cli.runtime import OPERATOR, ConfigOption, console, run_with_services
from pushgate.delivery.jobs import SEND

if TYPE_CHECKING:
    from pushgate.delivery.queue_admin import DeadLetter
    from pushgate.queue.base import Depth
    from pushgate.wiring import Services

queue = typer.Typer(help="The delivery queue: depth, dead letters, retry.", no_args_is_help=True)


@queue.command("status")
def status(config: ConfigOption = None) -> None:
    """Jobs of each kind: ready, delayed (retries, scheduled), leased, dead."""

    async def work(services: Services) -> dict[str, Depth]:
        return await services.queue_admin.depth(OPERATOR)

    table = Table("kind", "ready", "delayed", "leased", "dead")
    for kind, depth in run_with_services(config, work).items():
        counts = (depth.ready, depth.delayed, depth.leased, depth.dead)
        table.add_row(kind, *(str(n) for n in counts))
    console.print(table)


@queue.command("dead")
def dead(
    kind: Annotated[str, typer.Option(help="Job kind: fanout or send.")] = SEND,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    config: ConfigOption = None,
) -> None:
    """Jobs set aside after failing too often, newest first, with why."""
    from pushgate.api.schemas import iso

    async def work(services: Services) -> list[DeadLetter]:
        return await services.queue_admin.dead_letters(OPERATOR, kind, limit)

    table = Table("job", "notification", "attempts", "failed", "reason")
    for item in run_with_services(config, work):
        job = item.job
        table.add_row(
            job.id, item.notification_id or "", str(job.attempts), iso(job.failed_at), job.reason
        )
    console.print(table)


@queue.command("retry")
def retry(
    kind: Annotated[str, typer.Argument(help="Job kind: fanout or send.")],
    job_id: Annotated[str, typer.Argument(help="A dead job's id (pushgate queue dead).")],
    config: ConfigOption = None,
) -> None:
    """Send a dead job through the workers again, due now (another nine attempts)."""

    async def work(services: Services) -> None:
        await services.queue_admin.revive(OPERATOR, kind, job_id)

    run_with_services(config, work)
    console.print(f"queued {kind} job {job_id} again")
