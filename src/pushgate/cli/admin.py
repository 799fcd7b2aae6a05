"""Administration from a terminal: tenants, API keys and apps, through the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from pushgate.cli.options import AppArgument, TenantOption
from pushgate.cli.output import rate, table
from pushgate.cli.remote import api
from pushgate.cli.runtime import checked, console, say_error
from pushgate.core.inputs import (
    AppInput,
    AppUpdate,
    KeyInput,
    KeyPatch,
    KeyRotation,
    TenantInput,
    TenantPatch,
)
from pushgate.core.models import Scope

keys = typer.Typer(help="Create, list, limit, rotate and revoke API keys.", no_args_is_help=True)
tenants = typer.Typer(help="Create, list, rename, limit and delete tenants.", no_args_is_help=True)
apps = typer.Typer(help="Create and list push apps.", no_args_is_help=True)

TenantArgument = Annotated[str, typer.Argument(help="The tenant's name.")]
KeyIdArgument = Annotated[str, typer.Argument(help="The key's id (pushgate keys list).")]
PerSecondOption = Annotated[
    float | None, typer.Option("--per-second", help="Requests a second, sustained.")
]
BurstOption = Annotated[int | None, typer.Option("--burst", help="Requests allowed at once.")]
ClearOption = Annotated[bool, typer.Option("--clear", help="Remove the limits: unlimited.")]
ExpiresOption = Annotated[
    str | None,
    typer.Option(help="When the key stops working, e.g. 2027-06-30T00:00:00Z (default: never)."),
]


@keys.command("create")
def create_key(
    name: Annotated[str, typer.Option(help="What the key is for.")],
    scope: Annotated[list[Scope], typer.Option(help="Repeat for several scopes.")],
    tenant: TenantOption = None,
    instance_wide: Annotated[bool, typer.Option(help="Admin key for every tenant.")] = False,
    expires_at: ExpiresOption = None,
) -> None:
    """Create a key and print it once."""
    body = checked(
        KeyInput,
        name=name,
        scopes=scope,
        tenant=tenant,
        instance_wide=instance_wide,
        expires_at=expires_at,
    )
    made = api().post("/v1/keys", body)
    console.print(f"key {made['id']} ({', '.join(sorted(made['scopes']))}); shown once:")
    console.print(made["key"], soft_wrap=True)


@keys.command("list")
def list_keys(tenant: TenantOption = None) -> None:
    """List keys (never their secrets)."""
    columns = ("id", "name", "prefix", "tenant", "scopes", "rate limit", "created")
    rows = [
        (
            key["id"],
            key["name"],
            key["prefix"],
            key["tenant_id"] or "(instance)",
            " ".join(sorted(key["scopes"])),
            rate(key["rate_limit"]),
            key["created_at"],
            key["expires_at"],
            key["last_used_at"],
            key["revoked_at"],
        )
        for key in api().get("/v1/keys", tenant=tenant)
    ]
    table((*columns, "expires", "last used", "revoked"), rows)


def limit_given(per_second: float | None, burst: int | None) -> dict[str, object] | None:
    """A rate limit from its two options, or None when neither is given (a missing one is
    reported by the input model, naming it)."""
    if per_second is None and burst is None:
        return None
    return {"per_second": per_second, "burst": burst}


def refuse(message: str) -> typer.Exit:
    say_error(f"{message}")
    return typer.Exit(2)


@keys.command("limit")
def limit_key(
    key_id: KeyIdArgument,
    per_second: PerSecondOption = None,
    burst: BurstOption = None,
    clear: ClearOption = False,
) -> None:
    """Set a key's rate limit (--per-second with --burst), or remove it (--clear)."""
    given = limit_given(per_second, burst)
    if clear == (given is not None):
        raise refuse("give --per-second and --burst, or --clear")
    body = checked(KeyPatch, rate_limit=given)
    key = api().patch(f"/v1/keys/{key_id}", body)
    console.print(f"key {key['id']}: rate limit {rate(key['rate_limit']) or 'none'}")


@keys.command("rotate")
def rotate_key(
    key_id: KeyIdArgument,
    overlap_seconds: Annotated[
        int, typer.Option(help="How long the old key keeps working beside the new one.")
    ] = 24 * 3600,
    expires_at: ExpiresOption = None,
) -> None:
    """A new key with the same name, tenant and scopes, printed once; the old one keeps
    working for the overlap, then stops."""
    body = checked(KeyRotation, overlap_seconds=overlap_seconds, expires_at=expires_at)
    made = api().post(f"/v1/keys/{key_id}/rotate", body)
    previous = made["previous"]
    console.print(
        f"key {made['id']} replaces {previous['id']}, which works until "
        f"{previous['expires_at']}; the new key, shown once:"
    )
    console.print(made["key"], soft_wrap=True)


@keys.command("revoke")
def revoke_key(key_id: KeyIdArgument) -> None:
    """Revoke a key at once."""
    key = api().delete(f"/v1/keys/{key_id}")
    console.print(f"revoked {key['id']} at {key['revoked_at']}")


@tenants.command("list")
def list_tenants() -> None:
    """Every tenant with its limits (instance admins only)."""
    rows = [
        (
            tenant["id"],
            tenant["name"],
            rate(tenant["rate_limit"]),
            rate(tenant["send_rate_limit"]),
            tenant["deliveries_per_day"],
            tenant["created_at"],
        )
        for tenant in api().get("/v1/tenants")
    ]
    table(("id", "name", "rate limit", "sends", "deliveries a day", "created"), rows)


@tenants.command("limit")
def limit_tenant(
    name: TenantArgument,
    per_second: PerSecondOption = None,
    burst: BurstOption = None,
    sends_per_second: Annotated[
        float | None, typer.Option(help="Sends a second, sustained.")
    ] = None,
    sends_burst: Annotated[int | None, typer.Option(help="Sends allowed at once.")] = None,
    deliveries_per_day: Annotated[
        int | None, typer.Option(help="Devices the tenant's sends may target in a UTC day.")
    ] = None,
    clear: ClearOption = False,
) -> None:
    """Set a tenant's limits (only those given change), or remove them all (--clear)."""
    values: dict[str, object] = {}
    if (limit := limit_given(per_second, burst)) is not None:
        values["rate_limit"] = limit
    if (sends := limit_given(sends_per_second, sends_burst)) is not None:
        values["send_rate_limit"] = sends
    if deliveries_per_day is not None:
        values["deliveries_per_day"] = deliveries_per_day
    if clear == bool(values):
        raise refuse("give the limits to set, or --clear")
    if clear:
        values = {"rate_limit": None, "send_rate_limit": None, "deliveries_per_day": None}
    body = checked(TenantPatch, **values)
    tenant = api().patch(f"/v1/tenants/{name}", body)
    console.print(
        f"tenant {tenant['name']}: rate limit {rate(tenant['rate_limit']) or 'none'}, sends "
        f"{rate(tenant['send_rate_limit']) or 'none'}, deliveries a day "
        f"{tenant['deliveries_per_day'] or 'no limit'}"
    )


@tenants.command("create")
def create_tenant(name: TenantArgument) -> None:
    """Create a tenant (instance admins only)."""
    body = checked(TenantInput, name=name)
    made = api().post("/v1/tenants", body)
    console.print(f"created tenant {made['name']}")


@tenants.command("rename")
def rename_tenant(
    name: TenantArgument, new_name: Annotated[str, typer.Argument(help="Its new name.")]
) -> None:
    """Rename a tenant; its keys, apps and devices stay with it."""
    body = checked(TenantInput, name=new_name)
    console.print(f"renamed tenant to {api().patch(f'/v1/tenants/{name}', body)['name']}")


@tenants.command("delete")
def delete_tenant(name: TenantArgument) -> None:
    """Delete a tenant with everything in it."""
    api().delete(f"/v1/tenants/{name}")
    console.print(f"deleted tenant {name}")


@apps.command("create")
def create_app(
    name: AppArgument,
    description: Annotated[str, typer.Option(help="What the app is, for people.")] = "",
    tenant: TenantOption = None,
) -> None:
    """Create a push app (credentials come next: apps set-credentials)."""
    body = checked(AppInput, name=name, description=description)
    console.print(f"created app {api().post('/v1/apps', body, tenant=tenant)['name']}")


@apps.command("update")
def update_app(
    name: Annotated[str, typer.Argument(help="The app's name.")],
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    requires_type: Annotated[
        bool | None,
        typer.Option(
            "--requires-type/--no-requires-type",
            help="Whether every send must name a notification type.",
        ),
    ] = None,
    relay: Annotated[
        bool | None,
        typer.Option(
            "--relay/--no-relay",
            help="Whether origins (other instances) may send through it (docs/relay.md).",
        ),
    ] = None,
    tenant: TenantOption = None,
) -> None:
    """Change what is given; the rest stays."""
    given = {"description": description, "requires_type": requires_type, "relay": relay}
    body = checked(AppUpdate, **{k: v for k, v in given.items() if v is not None})
    changed = api().patch(f"/v1/apps/{name}", body, tenant=tenant)
    console.print(f"updated app {changed['name']} (requires a type: {changed['requires_type']})")


@apps.command("list")
def list_apps(tenant: TenantOption = None) -> None:
    """The tenant's apps."""
    rows = [
        (
            app["id"],
            app["name"],
            app["description"],
            "yes" if app.get("requires_type") else "",
            app["created_at"],
        )
        for app in api().get("/v1/apps", tenant=tenant)
    ]
    table(("id", "name", "description", "requires type", "created"), rows)


@apps.command("delete")
def delete_app(name: AppArgument, tenant: TenantOption = None) -> None:
    """Delete an app with its credentials and devices."""
    api().delete(f"/v1/apps/{name}", tenant=tenant)
    console.print(f"deleted app {name}")


@apps.command("credentials")
def show_credentials(name: AppArgument, tenant: TenantOption = None) -> None:
    """Which provider credentials an app has (public values and fingerprints only)."""
    rows = [
        (item["kind"], _pairs(item["values"]), _pairs(item["fingerprints"]), item["updated_at"])
        for item in api().get(f"/v1/apps/{name}/credentials", tenant=tenant)
    ]
    table(("kind", "values", "secret fingerprints", "updated"), rows)


def _pairs(mapping: dict[str, Any]) -> str:
    """A mapping of a credential view, one ``key=value`` a line."""
    return "\n".join(f"{k}={v}" for k, v in mapping.items())


@apps.command("set-credentials")
def set_credentials(
    name: AppArgument,
    kind: Annotated[str, typer.Argument(help="apns, fcm, webpush, wns, hms or webhook")],
    file: Annotated[
        Path,
        typer.Option(
            "--file", exists=True, dir_okay=False, help="A JSON object, as the API takes it."
        ),
    ],
    tenant: TenantOption = None,
) -> None:
    """Set or replace one provider's credentials from a JSON file (as the API takes them)."""
    try:
        raw = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        say_error(f"{file} is not JSON: {exc.msg}")
        raise typer.Exit(2) from exc
    if not isinstance(raw, dict):
        say_error(f"{file} must hold a JSON object")
        raise typer.Exit(2)
    made = api().put(f"/v1/apps/{name}/credentials/{kind}", raw, tenant=tenant)
    console.print(f"{made['kind']} credentials set for {name}")
    for field, secret in made["generated"].items():
        console.print(f"generated {field} (shown once): {secret}", soft_wrap=True)
