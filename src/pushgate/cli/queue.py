"""``pushgate queue``: the delivery queue's depth, its dead letters, and retrying one."""

from __future__ import annotations

from typing import Annotated

import typer

from pushgate.cli.output import table
from pushgate.cli.remote import api
from pushgate.cli.runtime import console
from pushgate.delivery.jobs import SEND

queue = typer.Typer(help="The delivery queue: depth, dead letters, retry.", no_args_is_help=True)


@queue.command("status")
def status() -> None:
    """Jobs of each kind: ready, delayed (retries, scheduled), leased, dead."""
    kinds = api().get("/v1/queue")["kinds"]
    rows = [
        (kind, depth["ready"], depth["delayed"], depth["leased"], depth["dead"])
        for kind, depth in kinds.items()
    ]
    table(("kind", "ready", "delayed", "leased", "dead"), rows)


@queue.command("dead")
def dead(
    kind: Annotated[str, typer.Option(help="Job kind: fanout or send.")] = SEND,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Rows to show.")] = 50,
) -> None:
    """Jobs set aside after failing too often, newest first, with why."""
    rows = [
        (job["id"], job["notification_id"], job["attempts"], job["failed_at"], job["reason"])
        for job in api().get(f"/v1/queue/{kind}/dead", limit=limit)
    ]
    table(("job", "notification", "attempts", "failed", "reason"), rows)


@queue.command("retry")
def retry(
    kind: Annotated[str, typer.Argument(help="Job kind: fanout or send.")],
    job_id: Annotated[str, typer.Argument(help="A dead job's id (pushgate queue dead).")],
) -> None:
    """Send a dead job through the workers again, due now (another nine attempts)."""
    api().post(f"/v1/queue/{kind}/dead/{job_id}/retry")
    console.print(f"queued {kind} job {job_id} again")
