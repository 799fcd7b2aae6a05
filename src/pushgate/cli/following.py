"""Following an accepted notification from a terminal: a progress bar of settled
deliveries while the workers send, then a summary per provider and state.

It reads ``GET /v1/notifications/{id}`` (and its deliveries, for the reasons of those
not delivered) as any client would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pushgate.cli.output import whole
from pushgate.cli.remote import ExitCode
from pushgate.cli.runtime import console, err_console
from pushgate.core.notifications import DeliveryState, NotificationState

if TYPE_CHECKING:
    from pushgate.cli.remote import Api

POLL_SECONDS = 0.25
FINAL = frozenset(
    state.value
    for state in (
        NotificationState.COMPLETED,
        NotificationState.EXPIRED,
        NotificationState.CANCELED,
    )
)
# Every final state but ``sent`` means a device did not get the notification.
NOT_DELIVERED = tuple(s for s in DeliveryState if s.is_final and s is not DeliveryState.SENT)
REASONS_SHOWN = 5


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where a followed notification ended (or stood when following timed out)."""

    status: dict[str, Any]
    timed_out: bool
    timeout: float
    reasons: list[tuple[str, str, str]]  # provider, state, reason of undelivered ones


def settled_of(status: dict[str, Any]) -> tuple[int, int]:
    """(settled, total): deliveries in a final state, out of all there will be.

    Until the fan-out has ended, deliveries are still being created, so the number of devices
    targeted when the notification was accepted stands in for the total.
    """
    counts: dict[str, int] = status["deliveries"]
    created = sum(counts.values())
    settled = created - counts.get(DeliveryState.PENDING.value, 0)
    if status["fanout_done"]:
        return settled, created
    return settled, max(created, status["targeted"])


def follow(client: Api, tenant: str | None, notification_id: str, within: float) -> Outcome:
    """Poll the notification until it is final or ``within`` seconds passed."""
    deadline = time.monotonic() + within
    columns = (
        TextColumn("[bold]delivering"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("settled"),
        TimeElapsedColumn(),
    )
    path = f"/v1/notifications/{notification_id}"
    with Progress(*columns, console=err_console) as progress:
        bar = progress.add_task("delivering", total=None)
        while True:
            status = client.get(path, tenant=tenant)
            settled, total = settled_of(status)
            progress.update(bar, completed=settled, total=total)
            final = status["state"] in FINAL
            if final or time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS)
    reasons: list[tuple[str, str, str]] = []
    for state in NOT_DELIVERED:
        if status["deliveries"].get(state.value):
            page = client.get(
                f"{path}/deliveries", tenant=tenant, outcome=state, limit=REASONS_SHOWN
            )
            reasons += [(r["provider"], state.value, r["reason"] or "") for r in page["items"]]
    return Outcome(status, not final, within, reasons)


def summary_table(status: dict[str, Any]) -> Table:
    """One row per provider, one column per delivery state, and a total row."""
    states = [state.value for state in DeliveryState]
    table = Table("provider", *states, title=f"notification {status['id']}")
    for provider, counts in sorted(status["by_provider"].items()):
        table.add_row(provider, *(str(counts.get(state, 0)) for state in states))
    totals = status["deliveries"]
    table.add_row("[bold]total", *(str(totals.get(state, 0)) for state in states))
    return table


def undelivered_of(status: dict[str, Any]) -> int:
    """Deliveries that reached a final state other than ``sent``."""
    counts: dict[str, int] = status["deliveries"]
    return sum(counts.get(state.value, 0) for state in NOT_DELIVERED)


def show_outcome(outcome: Outcome) -> ExitCode:
    """Print the summary; the exit code: OK all sent, REFUSED some not delivered,
    STILL_SENDING when following stopped first."""
    status = outcome.status
    whole(summary_table(status))
    for provider, state, reason in outcome.reasons:
        console.print(f"  {provider} {state}: {reason}")
    settled, total = settled_of(status)
    undelivered = undelivered_of(status)
    if outcome.timed_out:
        err_console.print(
            f"still {status['state']} after {outcome.timeout:g} s ({settled} of {total} "
            f"settled); follow it with pushgate notifications show {status['id']}"
        )
        return ExitCode.STILL_SENDING
    sent = status["deliveries"].get(DeliveryState.SENT.value, 0)
    console.print(f"{status['state']}: {sent} of {total} sent")
    if undelivered:
        err_console.print(f"[red]{undelivered} deliveries were not delivered[/red]")
        return ExitCode.REFUSED
    return ExitCode.OK
