"""``pushgate notifications``: list, show, page through the deliveries and the answers of,
and cancel notifications, through ``/v1/notifications``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pushgate.cli.following import summary_table, undelivered_of
from pushgate.cli.options import TenantOption
from pushgate.cli.output import json_lines, more, table, whole
from pushgate.cli.remote import api
from pushgate.cli.runtime import console
from pushgate.core.notifications import DeliveryRecords, DeliveryState, NotificationState

notifications = typer.Typer(help="Sent and scheduled notifications.", no_args_is_help=True)
LimitOption = Annotated[int, typer.Option(min=1, max=500, help="Rows to show.")]
IdArgument = Annotated[str, typer.Argument(help="The notification's id.")]


@notifications.command("list")
def list_notifications(
    app: Annotated[str | None, typer.Option(help="Only this app's.")] = None,
    state: Annotated[NotificationState | None, typer.Option(help="Only in this state.")] = None,
    after: Annotated[str | None, typer.Option(help="Older than this notification id.")] = None,
    limit: LimitOption = 50,
    tenant: TenantOption = None,
) -> None:
    """Notifications, newest first, with their delivery counts."""
    page = api().get(
        "/v1/notifications", app=app, state=state, after=after, limit=limit, tenant=tenant
    )
    rows = [
        (
            item["id"],
            item["state"],
            item["targeted"],
            item["deliveries"].get(DeliveryState.SENT.value, 0),
            undelivered_of(item),
            item["deliveries"].get(DeliveryState.PENDING.value, 0),
            item["created_at"],
        )
        for item in page["items"]
    ]
    table(("id", "state", "targeted", "sent", "not delivered", "pending", "created"), rows)
    more(page)


@notifications.command("show")
def show(notification_id: IdArgument, tenant: TenantOption = None) -> None:
    """A notification's state and its delivery counts per provider and state."""
    _print_status(api().get(f"/v1/notifications/{notification_id}", tenant=tenant))


@notifications.command("deliveries")
def deliveries(
    notification_id: IdArgument,
    outcome: Annotated[DeliveryState | None, typer.Option(help="Only this outcome.")] = None,
    after: Annotated[str | None, typer.Option(help="Start after this device id.")] = None,
    limit: LimitOption = 100,
    tenant: TenantOption = None,
) -> None:
    """A notification's deliveries, one per device, in device-id order."""
    page = api().get(
        f"/v1/notifications/{notification_id}/deliveries",
        outcome=outcome,
        after=after,
        limit=limit,
        tenant=tenant,
    )
    rows = [
        (
            record["device_id"],
            record["provider"],
            record["state"],
            record["attempts"],
            record["status"],
            record["reason"],
            record["updated_at"],
        )
        for record in page["items"]
    ]
    table(("device", "provider", "state", "attempts", "status", "reason", "updated"), rows)
    more(page)


@notifications.command("responses")
def responses(
    notification_id: IdArgument,
    after: Annotated[str | None, typer.Option(help="Older than this response id.")] = None,
    limit: LimitOption = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, as the API shows it.")] = False,
    tenant: TenantOption = None,
) -> None:
    """Answers to a notification's actions, newest first, and their counts per action."""
    client = api()
    path = f"/v1/notifications/{notification_id}"
    page = client.get(f"{path}/responses", after=after, limit=limit, tenant=tenant)
    if as_json:
        json_lines(page["items"])
        return
    rows = [
        (
            item["id"],
            item["action"],
            item["state"],
            item["device_id"],
            (item["input"] or "")[:40],
            item["received_at"],
        )
        for item in page["items"]
    ]
    table(("response", "action", "state", "device", "input", "received"), rows)
    counts: dict[str, dict[str, int]] = client.get(path, tenant=tenant)["responses"]
    for key, states in counts.items():
        console.print(f"{key}: " + ", ".join(f"{n} {state}" for state, n in states.items()))
    more(page)


@notifications.command("cancel")
def cancel(notification_id: IdArgument, tenant: TenantOption = None) -> None:
    """Cancel what is not yet sent; what a provider already has stands."""
    _print_status(api().delete(f"/v1/notifications/{notification_id}", tenant=tenant))


def _print_status(status: dict[str, Any]) -> None:
    console.print(f"notification {status['id']}: {status['state']}, {status['targeted']} targeted")
    if status["send_at"] is not None:
        console.print(f"  send at {status['send_at']}")
    console.print(f"  expires at {status['expires_at']}")
    if status["records"] == DeliveryRecords.FAILURES.value:
        console.print("  keeps rows only for deliveries that did not go out; the rest are counted")
    whole(summary_table(status))
