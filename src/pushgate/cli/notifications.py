"""``pushgate notifications``: list, show, page through the deliveries and the answers of,
and cancel notifications, through the same services as ``/v1/notifications``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pushgate.cli.following import summary_table, undelivered_of
from pushgate.cli.runtime import OPERATOR, ConfigOption, console, run_with_services
from pushgate.core.notifications import (
    DeliveryRecord,
    DeliveryRecords,
    DeliveryState,
    NotificationState,
)

if TYPE_CHECKING:
    from pushgate.core.responses import StoredResponse
    from pushgate.core.sending import Status
    from pushgate.wiring import Services

notifications = typer.Typer(help="Sent and scheduled notifications.", no_args_is_help=True)
TenantOption = Annotated[str | None, typer.Option(help="Tenant (default: default).")]
LimitOption = Annotated[int, typer.Option(min=1, max=500, help="Rows to show.")]


@notifications.command("list")
def list_notifications(
    app: Annotated[str | None, typer.Option(help="Only this app's.")] = None,
    state: Annotated[NotificationState | None, typer.Option(help="Only in this state.")] = None,
    after: Annotated[str | None, typer.Option(help="Older than this notification id.")] = None,
    limit: LimitOption = 50,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    """Notifications, newest first, with their delivery counts."""
    from pushgate.api.schemas import iso

    async def work(services: Services) -> list[Status]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.sending.list_notifications(OPERATOR, scope, app, state, after, limit)

    table = Table("id", "state", "targeted", "sent", "not delivered", "pending", "created")
    for status in run_with_services(config, work):
        item, counts = status.notification, status.by_state
        table.add_row(
            item.id,
            item.state.value,
            str(item.targeted),
            str(counts.get(DeliveryState.SENT.value, 0)),
            str(undelivered_of(status)),
            str(counts.get(DeliveryState.PENDING.value, 0)),
            iso(item.created_at),
        )
    console.print(table)


@notifications.command("show")
def show(notification_id: str, tenant: TenantOption = None, config: ConfigOption = None) -> None:
    """A notification's state and its delivery counts per provider and state."""

    async def work(services: Services) -> Status:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.sending.status(OPERATOR, scope, notification_id)

    _print_status(run_with_services(config, work))


@notifications.command("deliveries")
def deliveries(
    notification_id: str,
    outcome: Annotated[DeliveryState | None, typer.Option(help="Only this outcome.")] = None,
    after: Annotated[str | None, typer.Option(help="Start after this device id.")] = None,
    limit: LimitOption = 100,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    """A notification's deliveries, one per device, in device-id order."""
    from pushgate.api.schemas import iso

    async def work(services: Services) -> list[DeliveryRecord]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.sending.deliveries(
            OPERATOR, scope, notification_id, outcome, after, limit
        )

    table = Table("device", "provider", "state", "attempts", "status", "reason", "updated")
    found = run_with_services(config, work)
    for record in found:
        table.add_row(
            record.device_id,
            record.provider,
            record.state.value,
            str(record.attempts),
            "" if record.status is None else str(record.status),
            record.reason or "",
            iso(record.updated_at),
        )
    console.print(table)
    if len(found) == limit:
        console.print(f"more: --after {found[-1].device_id}")


@notifications.command("responses")
def responses(
    notification_id: str,
    after: Annotated[str | None, typer.Option(help="Older than this response id.")] = None,
    limit: LimitOption = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, as the API shows it.")] = False,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    """Answers to a notification's actions, newest first, and their counts per action."""
    from pushgate.api.answer_schemas import ResponseOut
    from pushgate.api.schemas import iso

    async def work(services: Services) -> tuple[list[StoredResponse], dict[str, dict[str, int]]]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        reads = services.response_reads
        found = await reads.responses(OPERATOR, scope, notification_id, after, limit)
        return found, await reads.counts(notification_id)

    found, counts = run_with_services(config, work)
    if as_json:
        for item in found:
            print(ResponseOut.of(item).model_dump_json())
        return
    table = Table("response", "action", "state", "device", "input", "received")
    for item in found:
        response = item.response
        table.add_row(
            item.id,
            response.action_key,
            item.state.value,
            response.device_id,
            (response.input or "")[:40],
            iso(response.received_at),
        )
    console.print(table)
    for key, states in counts.items():
        console.print(f"{key}: " + ", ".join(f"{n} {state}" for state, n in states.items()))
    if len(found) == limit:
        console.print(f"more: --after {found[-1].id}")


@notifications.command("cancel")
def cancel(notification_id: str, tenant: TenantOption = None, config: ConfigOption = None) -> None:
    """Cancel what is not yet sent; what a provider already has stands."""

    async def work(services: Services) -> Status:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.sending.cancel(OPERATOR, scope, notification_id)

    _print_status(run_with_services(config, work))


def _print_status(status: Status) -> None:
    from pushgate.api.schemas import iso

    item = status.notification
    console.print(f"notification {item.id}: {item.state.value}, {item.targeted} targeted")
    if item.send_at is not None:
        console.print(f"  send at {iso(item.send_at)}")
    console.print(f"  expires at {iso(item.expires_at)}")
    if item.records is DeliveryRecords.FAILURES:
        console.print("  keeps rows only for deliveries that did not go out; the rest are counted")
    console.print(summary_table(status))
