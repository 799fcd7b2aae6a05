"""Following an accepted notification from a terminal: a progress bar of settled
deliveries while the workers send, then a summary per provider and state."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pushgate.cli.runtime import OPERATOR, console, err_console
from pushgate.core.notifications import DeliveryState, NotificationState

if TYPE_CHECKING:
    from pushgate.core.models import Tenant
    from pushgate.core.sending import Status
    from pushgate.wiring import Services

POLL_SECONDS = 0.25
FINAL = frozenset(
    {NotificationState.COMPLETED, NotificationState.EXPIRED, NotificationState.CANCELED}
)
# Every final state but ``sent`` means a device did not get the notification.
NOT_DELIVERED = tuple(s for s in DeliveryState if s.is_final and s is not DeliveryState.SENT)
REASONS_SHOWN = 5
EXIT_NOT_DELIVERED = 1
EXIT_STILL_SENDING = 3


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where a followed notification ended (or stood when following timed out)."""

    status: Status
    timed_out: bool
    timeout: float
    reasons: list[tuple[str, str, str]]  # provider, state, reason of undelivered ones


def settled_of(status: Status) -> tuple[int, int]:
    """(settled, total): deliveries in a final state, out of all there will be.

    Until the fan-out has ended, deliveries are still being created, so the number of devices
    targeted when the notification was accepted stands in for the total.
    """
    created = sum(status.by_state.values())
    settled = created - status.by_state.get(DeliveryState.PENDING.value, 0)
    if status.notification.fanout_done:
        return settled, created
    return settled, max(created, status.notification.targeted)


async def follow(
    services: Services, tenant: Tenant, notification_id: str, within: float
) -> Outcome:
    """Poll the notification until it is final or ``within`` seconds passed."""
    deadline = time.monotonic() + within
    columns = (
        TextColumn("[bold]delivering"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("settled"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console) as progress:
        bar = progress.add_task("delivering", total=None)
        while True:
            status = await services.sending.status(OPERATOR, tenant, notification_id)
            settled, total = settled_of(status)
            progress.update(bar, completed=settled, total=total)
            final = status.notification.state in FINAL
            if final or time.monotonic() >= deadline:
                break
            await asyncio.sleep(POLL_SECONDS)
    reasons = await _reasons(services, tenant, status)
    return Outcome(status, not final, within, reasons)


async def _reasons(
    services: Services, tenant: Tenant, status: Status
) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    for state in NOT_DELIVERED:
        if not status.by_state.get(state.value):
            continue
        records = await services.sending.deliveries(
            OPERATOR, tenant, status.notification.id, state, None, REASONS_SHOWN
        )
        found += [(r.provider, state.value, r.reason or "") for r in records]
    return found


def summary_table(status: Status) -> Table:
    """One row per provider, one column per delivery state, and a total row."""
    states = [state.value for state in DeliveryState]
    table = Table("provider", *states, title=f"notification {status.notification.id}")
    for provider, counts in sorted(status.by_provider.items()):
        table.add_row(provider, *(str(counts.get(state, 0)) for state in states))
    table.add_row("[bold]total", *(str(status.by_state.get(state, 0)) for state in states))
    return table


def undelivered_of(status: Status) -> int:
    """Deliveries that reached a final state other than ``sent``."""
    return sum(status.by_state.get(state.value, 0) for state in NOT_DELIVERED)


def show_outcome(outcome: Outcome) -> int:
    """Print the summary; the exit code: 0 all sent, 1 some not delivered, 3 still sending."""
    status = outcome.status
    console.print(summary_table(status))
    for provider, state, reason in outcome.reasons:
        console.print(f"  {provider} {state}: {reason}")
    settled, total = settled_of(status)
    undelivered = undelivered_of(status)
    state = status.notification.state.value
    if outcome.timed_out:
        err_console.print(
            f"still {state} after {outcome.timeout:g} s ({settled} of {total} settled); "
            f"follow it with GET /v1/notifications/{status.notification.id}"
        )
        return EXIT_STILL_SENDING
    sent = status.by_state.get(DeliveryState.SENT.value, 0)
    console.print(f"{state}: {sent} of {total} sent")
    if undelivered:
        err_console.print(f"[red]{undelivered} deliveries were not delivered[/red]")
        return EXIT_NOT_DELIVERED
    return 0
