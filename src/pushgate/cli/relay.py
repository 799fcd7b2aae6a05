"""``pushgate relay origins``: the instances this relay sends for (docs/relay.md), through
``/v1/relay/origins``; instance admin keys only."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pushgate.cli.options import JsonOption
from pushgate.cli.output import json_document, json_lines, table
from pushgate.cli.remote import api
from pushgate.cli.runtime import checked, console

relay = typer.Typer(
    help="Relaying pushes for other instances (docs/relay.md).", no_args_is_help=True
)
origins = typer.Typer(
    help="Origins: instances that send through this relay, their apps and quotas.",
    no_args_is_help=True,
)
relay.add_typer(origins, name="origins")
TenantOption = Annotated[
    str | None, typer.Option(help="Tenant that holds the relay apps (default: default).")
]
InstanceArgument = Annotated[str, typer.Argument(help="The origin's instance id.")]
AppsOption = Annotated[
    list[str] | None, typer.Option("--app", help="A relay app it may use (repeat for more).")
]
PerSecondOption = Annotated[
    float | None, typer.Option(help="Quota: messages per second (with --burst).")
]
BurstOption = Annotated[int | None, typer.Option(help="Quota: messages at once.")]
PerDayOption = Annotated[int | None, typer.Option(help="Quota: messages per UTC day.")]


def _quota(per_second: float | None, burst: int | None) -> dict[str, Any] | None:
    if per_second is None and burst is None:
        return None
    if per_second is None or burst is None:
        raise typer.BadParameter("give --per-second and --burst together")
    return {"per_second": per_second, "burst": burst}


def _rows(found: list[dict[str, Any]]) -> None:
    rows = []
    for origin in found:
        limit = origin["rate_limit"]
        quota = "" if limit is None else f"{limit['per_second']:g}/s burst {limit['burst']}"
        today = origin.get("today", {})
        counts = " ".join(f"{name} {n}" for name, n in sorted(today.items()))
        rows.append(
            (
                origin["instance_id"],
                origin["instance_name"],
                ",".join(origin["apps"]),
                quota,
                "" if origin["per_day"] is None else str(origin["per_day"]),
                counts,
            )
        )
    table(("instance id", "name", "apps", "quota", "per day", "today"), rows)


@origins.command("list")
def list_origins(as_json: JsonOption = False, tenant: TenantOption = None) -> None:
    """Every origin, with today's counts by answer and quota hits."""
    found = api().get("/v1/relay/origins", tenant=tenant)
    if as_json:
        json_lines(found)
        return
    _rows(found)


@origins.command("show")
def show_origin(instance_id: InstanceArgument, tenant: TenantOption = None) -> None:
    """One origin as JSON."""
    json_document(api().get(f"/v1/relay/origins/{instance_id}", tenant=tenant))


@origins.command("create")
def create_origin(
    instance_id: InstanceArgument,
    name: Annotated[str, typer.Option(help="Its instance_name: its public base URL.")],
    app: AppsOption = None,
    per_second: PerSecondOption = None,
    burst: BurstOption = None,
    per_day: PerDayOption = None,
    tenant: TenantOption = None,
) -> None:
    """Let an instance send through this relay's apps."""
    from pushgate.core.relay_origins import OriginInput

    body = checked(
        OriginInput,
        instance_id=instance_id,
        instance_name=name,
        apps=app or [],
        rate_limit=_quota(per_second, burst),
        per_day=per_day,
    )
    made = api().post("/v1/relay/origins", body, tenant=tenant)
    console.print(f"created origin {made['instance_id']} ({made['instance_name']})")


@origins.command("update")
def update_origin(
    instance_id: InstanceArgument,
    name: Annotated[str | None, typer.Option(help="A new instance_name.")] = None,
    app: AppsOption = None,
    per_second: PerSecondOption = None,
    burst: BurstOption = None,
    per_day: PerDayOption = None,
    clear_quota: Annotated[bool, typer.Option("--clear-quota", help="Remove both quotas.")] = False,
    tenant: TenantOption = None,
) -> None:
    """Change what is given; the rest stays."""
    from pushgate.core.relay_origins import OriginPatch

    given: dict[str, Any] = {}
    if name is not None:
        given["instance_name"] = name
    if app:
        given["apps"] = app
    quota = _quota(per_second, burst)
    if quota is not None:
        given["rate_limit"] = quota
    if per_day is not None:
        given["per_day"] = per_day
    if clear_quota:
        given.update(rate_limit=None, per_day=None)
    body = checked(OriginPatch, **given)
    made = api().patch(f"/v1/relay/origins/{instance_id}", body, tenant=tenant)
    console.print(f"updated origin {made['instance_id']}")


@origins.command("delete")
def delete_origin(instance_id: InstanceArgument, tenant: TenantOption = None) -> None:
    """Remove an origin; its keys are revoked."""
    api().delete(f"/v1/relay/origins/{instance_id}", tenant=tenant)
    console.print(f"deleted origin {instance_id}")


@origins.command("key")
def create_key(
    instance_id: InstanceArgument,
    name: Annotated[str, typer.Option(help="The key's name.")] = "relay",
    tenant: TenantOption = None,
) -> None:
    """A relay key bound to the origin, printed once: set it in the origin's relay
    credentials."""
    from pushgate.core.relay_origins import OriginKeyInput

    body = checked(OriginKeyInput, name=name)
    made = api().post(f"/v1/relay/origins/{instance_id}/keys", body, tenant=tenant)
    console.print(f"key {made['id']} for origin {instance_id} (shown once):")
    console.print(made["key"], soft_wrap=True)
