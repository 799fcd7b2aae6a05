"""``pushgate reports`` and ``pushgate interactions``: an app's time series and top
notifications, the CSV exports, and an interaction sent by hand to try the reporting path
(docs/reports.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from pushgate.cli.output import json_document, table
from pushgate.cli.remote import ExitCode, api, fail

reports = typer.Typer(
    help="Reports: an app's sends and interactions over time, CSV exports.",
    no_args_is_help=True,
)
interactions = typer.Typer(
    help="Interactions devices report (received, opened, dismissed, action).",
    no_args_is_help=True,
)

SERIES = ("sent", "received", "opened", "dismissed", "actioned")


@reports.command("app")
def app_report(
    app: Annotated[str, typer.Argument(help="The app's name.")],
    start: Annotated[
        str | None, typer.Option("--from", help="Start, RFC 3339 (default: a week ago).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="End, RFC 3339 (default: now).")] = None,
    interval: Annotated[str, typer.Option(help="hour or day.")] = "hour",
    type_key: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant (instance admins).")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="The series as CSV.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="As GET /v1/reports/apps/{app} answers.")
    ] = False,
) -> None:
    """The series (intervals with anything in them), totals and top notifications."""
    params = {"from": start, "to": end, "interval": interval, "type": type_key, "tenant": tenant}
    if as_csv:
        typer.echo(api().text(f"/v1/reports/apps/{app}/series.csv", **params), nl=False)
        return
    found = api().get(f"/v1/reports/apps/{app}", **params)
    if as_json:
        json_document(found)
        return
    busy = [p for p in found["series"] if any(p[name] for name in SERIES)]
    table(("at", *SERIES), [(p["at"], *(p[name] for name in SERIES)) for p in busy])
    table(("total", *SERIES), [("", *(found["totals"][name] for name in SERIES))])
    top = [
        (t["notification"], t["type"] or "", t["sent"], t["opened"], t["open_rate"])
        for t in found["top"]
    ]
    table(("notification", "type", "sent", "opened", "open rate"), top)


@reports.command("deliveries")
def deliveries(
    notification: Annotated[str, typer.Argument(help="The notification's id.")],
    tenant: Annotated[str | None, typer.Option(help="Tenant (instance admins).")] = None,
) -> None:
    """A notification's deliveries with their interactions, as CSV."""
    path = f"/v1/reports/notifications/{notification}/deliveries.csv"
    typer.echo(api().text(path, tenant=tenant), nl=False)


@interactions.command("send")
def send(
    event: Annotated[str, typer.Argument(help="received, opened, dismissed or action.")],
    identity: Annotated[
        str,
        typer.Option(help="The push's `pushgate` object as JSON (app, notification, ...)."),
    ],
    action: Annotated[str | None, typer.Option(help="With `action`: the action's key.")] = None,
    at: Annotated[str | None, typer.Option(help="When, RFC 3339 (default: now).")] = None,
) -> None:
    """Report one event as a device would, with the push's identity (for trying it out)."""
    try:
        fields = json.loads(identity)
        item = {
            "notification": fields["notification"],
            "delivery": fields["delivery"],
            "token": fields["itoken"],
            "event": event,
            "at": at or datetime.now(UTC).isoformat(),
        }
        app = fields["app"]
    except (ValueError, KeyError, TypeError) as exc:
        fail(f"--identity must be a push's pushgate object as JSON: {exc}", ExitCode.BAD_INPUT)
    if action is not None:
        item["action_key"] = action
    json_document(api().post("/v1/interactions", {"app": app, "events": [item]}))
