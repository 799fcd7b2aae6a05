"""``pushgate send``: accept a notification from a terminal, then follow it to the end.

The command makes a ``POST /v1/notifications`` to the server, its input checked first by
the API's own model. The delivering is done by a worker (``pushgate serve`` or ``pushgate
worker``); with ``--wait`` the command shows how many deliveries have settled until the
notification is final.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from pushgate.cli.following import follow, show_outcome
from pushgate.cli.remote import ExitCode, api
from pushgate.cli.runtime import console, err_console, parse_input, say_error
from pushgate.core.notifications import DeliveryRecords, NotificationState
from pushgate.errors import InvalidInput


def send(
    app: Annotated[str, typer.Option(help="The app to send with.")],
    user: Annotated[list[str] | None, typer.Option(help="A user's external id; repeat.")] = None,
    alias: Annotated[list[str] | None, typer.Option(help="A user's alias in the app.")] = None,
    device: Annotated[list[str] | None, typer.Option(help="A device id or token.")] = None,
    topic: Annotated[list[str] | None, typer.Option(help="Devices subscribed to it.")] = None,
    tags: Annotated[str | None, typer.Option(help="Tag expression: 'a && !b'.")] = None,
    everyone: Annotated[
        bool, typer.Option("--everyone", help="Every active device of the app.")
    ] = False,
    type_key: Annotated[
        str | None,
        typer.Option("--type", help="One of the app's notification types: its defaults apply."),
    ] = None,
    title: Annotated[str | None, typer.Option(help="The notification's title.")] = None,
    body: Annotated[str | None, typer.Option(help="The notification's text.")] = None,
    data: Annotated[str | None, typer.Option(help="A JSON object for the app.")] = None,
    ttl: Annotated[int | None, typer.Option(help="Seconds it may wait.")] = None,
    priority: Annotated[
        str | None, typer.Option(help="high or normal (default: the type's, else high).")
    ] = None,
    collapse_key: Annotated[
        str | None, typer.Option(help="A newer one with this key replaces it on the device.")
    ] = None,
    send_at: Annotated[
        str | None, typer.Option(help="Send later: ISO 8601 with offset, e.g. 2027-01-05T09:00Z.")
    ] = None,
    deliver_at_local: Annotated[
        str | None,
        typer.Option(
            help="Send to each recipient at this wall-clock time in their own zone: HH:MM "
            "(its next occurrence) or YYYY-MM-DDTHH:MM (that date). Not with --send-at."
        ),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="The same send again within 24 h answers the first notification."),
    ] = None,
    action_set: Annotated[
        str | None, typer.Option(help="Show the buttons of this action set of the app.")
    ] = None,
    action: Annotated[
        list[str] | None,
        typer.Option(help="An action's key, when no set is named; repeat, in display order."),
    ] = None,
    records: Annotated[
        DeliveryRecords | None,
        typer.Option(
            help="What to keep of each delivery: all, or failures (counts, and rows only "
            "for deliveries that did not go out). Default from settings."
        ),
    ] = None,
    wait: Annotated[bool, typer.Option(help="Follow the deliveries to the end.")] = True,
    timeout: Annotated[float, typer.Option(min=0.1, help="Stop following after this.")] = 600,
    tenant: Annotated[str | None, typer.Option(help="Tenant name (default: default).")] = None,
) -> None:
    """Send a notification to one audience; exits 1 if any device did not get it."""
    given = {"type": type_key, "priority": priority}
    notification = _validated(
        app=app,
        audience=_audience(user, alias, device, topic, tags, everyone),
        **{k: v for k, v in given.items() if v is not None},
        title=title,
        body=body,
        data=_json_object(data),
        ttl=ttl,
        collapse_key=collapse_key,
        send_at=send_at,
        deliver_at_local=deliver_at_local,
        idempotency_key=idempotency_key,
        action_set=action_set,
        actions=action or [],
        records=records,
    )
    client = api()
    accepted = client.post("/v1/notifications", notification, tenant=tenant)
    _announce(accepted)
    if not wait or accepted["state"] == NotificationState.SCHEDULED.value:
        return
    if deliver_at_local is not None:
        console.print(
            f"  each recipient gets it at {deliver_at_local} their time; not waiting for it"
        )
        return
    try:
        outcome = follow(client, tenant, accepted["id"], timeout)
    except KeyboardInterrupt:
        err_console.print("stopped following; the notification is still being sent")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    raise typer.Exit(show_outcome(outcome))


def _validated(**values: object) -> dict[str, object]:
    """The request body, once the API's own model takes it; some of its rules (tag
    expressions) raise ``InvalidInput``."""
    from pushgate.core.notification_input import NotificationInput

    given = {key: value for key, value in values.items() if value is not None}
    try:
        parse_input(NotificationInput, **given)
        return given
    except InvalidInput as exc:
        field = exc.details.get("field")
        say_error(f"{field + ': ' if field else ''}{exc.message}")
        raise typer.Exit(2) from exc


def _audience(
    users: list[str] | None,
    aliases: list[str] | None,
    devices: list[str] | None,
    topics: list[str] | None,
    tags: str | None,
    everyone: bool,
) -> dict[str, object]:
    """Only the options given, so the model can name a missing or a second audience."""
    named: dict[str, object] = {
        "users": users,
        "user_aliases": aliases,
        "devices": devices,
        "topics": topics,
        "tags": tags,
        "everyone": everyone,
    }
    return {key: value for key, value in named.items() if value}


def _json_object(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        say_error(f"data: not valid JSON: {exc.msg}")
        raise typer.Exit(2) from exc
    if not isinstance(value, dict):
        err_console.print("[red]error:[/red] data: must be a JSON object")
        raise typer.Exit(2)
    return value


def _announce(accepted: dict[str, Any]) -> None:
    if not accepted["created"]:
        console.print(f"already accepted with this idempotency key: notification {accepted['id']}")
    else:
        console.print(f"accepted notification {accepted['id']}")
    console.print(f"  state: {accepted['state']}, targeted devices: {accepted['targeted']}")
    if accepted["unknown"]:
        console.print(f"  unknown, so they get nothing: {', '.join(accepted['unknown'][:20])}")
    if accepted["state"] == NotificationState.SCHEDULED.value and accepted["send_at"]:
        console.print(f"  the workers send it at {accepted['send_at']}; not waiting for it")
