"""Administration from a terminal: tenants, API keys and apps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pushgate.cli.runtime import (
    OPERATOR,
    ConfigOption,
    console,
    err_console,
    parse_input,
    run_with_services,
)
from pushgate.core.inputs import (
    AppInput,
    AppUpdate,
    KeyInput,
    KeyPatch,
    KeyRotation,
    TenantInput,
    TenantPatch,
)
from pushgate.core.models import ApiKey, App, RateLimit, Scope, Tenant

if TYPE_CHECKING:
    from pushgate.core.access import CreatedKey, RotatedKey
    from pushgate.core.registry import CredentialView
    from pushgate.wiring import Services

keys = typer.Typer(help="Create, list, limit, rotate and revoke API keys.", no_args_is_help=True)
tenants = typer.Typer(help="Create, list, rename, limit and delete tenants.", no_args_is_help=True)
apps = typer.Typer(help="Create and list push apps.", no_args_is_help=True)

TenantOption = Annotated[str | None, typer.Option(help="Tenant name (default: default).")]
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
    config: ConfigOption = None,
) -> None:
    """Create a key and print it once."""
    body = parse_input(
        KeyInput,
        name=name,
        scopes=scope,
        tenant=tenant,
        instance_wide=instance_wide,
        expires_at=expires_at,
    )

    async def work(services: Services) -> CreatedKey:
        return await services.access.create_key(OPERATOR, body)

    made = run_with_services(config, work)
    console.print(f"key {made.key.id} ({', '.join(sorted(made.key.scopes))}); shown once:")
    console.print(made.plaintext, soft_wrap=True)


@keys.command("list")
def list_keys(tenant: TenantOption = None, config: ConfigOption = None) -> None:
    """List keys (never their secrets)."""
    from pushgate.api.schemas import iso

    async def work(services: Services) -> list[ApiKey]:
        return await services.access.list_keys(OPERATOR, tenant)

    table = Table(
        "id",
        "name",
        "prefix",
        "tenant",
        "scopes",
        "rate limit",
        "created",
        "expires",
        "last used",
        "revoked",
    )
    for key in run_with_services(config, work):
        table.add_row(
            key.id,
            key.name,
            key.prefix,
            key.tenant_id or "(instance)",
            " ".join(sorted(key.scopes)),
            shown(key.rate_limit),
            iso(key.created_at),
            iso(key.expires_at) or "",
            iso(key.last_used_at) or "",
            iso(key.revoked_at) or "",
        )
    console.print(table)


def shown(limit: RateLimit | None) -> str:
    return "" if limit is None else f"{limit.per_second:g}/s burst {limit.burst}"


def limit_given(per_second: float | None, burst: int | None) -> dict[str, object] | None:
    """A rate limit from its two options, or None when neither is given (a missing one is
    reported by the input model, naming it)."""
    if per_second is None and burst is None:
        return None
    return {"per_second": per_second, "burst": burst}


def refuse(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


@keys.command("limit")
def limit_key(
    key_id: str,
    per_second: PerSecondOption = None,
    burst: BurstOption = None,
    clear: ClearOption = False,
    config: ConfigOption = None,
) -> None:
    """Set a key's rate limit (--per-second with --burst), or remove it (--clear)."""
    given = limit_given(per_second, burst)
    if clear == (given is not None):
        raise refuse("give --per-second and --burst, or --clear")
    body = parse_input(KeyPatch, rate_limit=given)

    async def work(services: Services) -> ApiKey:
        return await services.access.update_key(OPERATOR, key_id, body)

    key = run_with_services(config, work)
    console.print(f"key {key.id}: rate limit {shown(key.rate_limit) or 'none'}")


@keys.command("rotate")
def rotate_key(
    key_id: str,
    overlap_seconds: Annotated[
        int, typer.Option(help="How long the old key keeps working beside the new one.")
    ] = 24 * 3600,
    expires_at: ExpiresOption = None,
    config: ConfigOption = None,
) -> None:
    """A new key with the same name, tenant and scopes, printed once; the old one keeps
    working for the overlap, then stops."""
    from pushgate.api.schemas import iso

    body = parse_input(KeyRotation, overlap_seconds=overlap_seconds, expires_at=expires_at)

    async def work(services: Services) -> RotatedKey:
        return await services.access.rotate_key(OPERATOR, key_id, body)

    made = run_with_services(config, work)
    console.print(
        f"key {made.created.key.id} replaces {made.previous.id}, which works until "
        f"{iso(made.previous.expires_at)}; the new key, shown once:"
    )
    console.print(made.created.plaintext, soft_wrap=True)


@keys.command("revoke")
def revoke_key(key_id: str, config: ConfigOption = None) -> None:
    """Revoke a key at once."""
    from pushgate.api.schemas import iso

    async def work(services: Services) -> ApiKey:
        return await services.access.revoke_key(OPERATOR, key_id)

    key = run_with_services(config, work)
    console.print(f"revoked {key.id} at {iso(key.revoked_at)}")


@tenants.command("list")
def list_tenants(config: ConfigOption = None) -> None:
    from pushgate.api.schemas import iso

    async def work(services: Services) -> list[Tenant]:
        return await services.access.list_tenants(OPERATOR)

    table = Table("id", "name", "rate limit", "sends", "deliveries a day", "created")
    for tenant in run_with_services(config, work):
        table.add_row(
            tenant.id,
            tenant.name,
            shown(tenant.rate_limit),
            shown(tenant.send_rate_limit),
            str(tenant.deliveries_per_day or ""),
            iso(tenant.created_at),
        )
    console.print(table)


@tenants.command("limit")
def limit_tenant(
    name: str,
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
    config: ConfigOption = None,
) -> None:
    """Set a tenant's limits (only those given change), or remove them all (--clear)."""
    values: dict[str, object] = {}
    if (rate := limit_given(per_second, burst)) is not None:
        values["rate_limit"] = rate
    if (sends := limit_given(sends_per_second, sends_burst)) is not None:
        values["send_rate_limit"] = sends
    if deliveries_per_day is not None:
        values["deliveries_per_day"] = deliveries_per_day
    if clear == bool(values):
        raise refuse("give the limits to set, or --clear")
    if clear:
        values = {"rate_limit": None, "send_rate_limit": None, "deliveries_per_day": None}
    body = parse_input(TenantPatch, **values)

    async def work(services: Services) -> Tenant:
        return await services.access.update_tenant(OPERATOR, name, body)

    tenant = run_with_services(config, work)
    console.print(
        f"tenant {tenant.name}: rate limit {shown(tenant.rate_limit) or 'none'}, sends "
        f"{shown(tenant.send_rate_limit) or 'none'}, deliveries a day "
        f"{tenant.deliveries_per_day or 'no limit'}"
    )


@tenants.command("create")
def create_tenant(name: str, config: ConfigOption = None) -> None:
    body = parse_input(TenantInput, name=name)

    async def work(services: Services) -> Tenant:
        return await services.access.create_tenant(OPERATOR, body)

    console.print(f"created tenant {run_with_services(config, work).name}")


@tenants.command("rename")
def rename_tenant(name: str, new_name: str, config: ConfigOption = None) -> None:
    body = parse_input(TenantInput, name=new_name)

    async def work(services: Services) -> Tenant:
        return await services.access.rename_tenant(OPERATOR, name, body)

    console.print(f"renamed tenant to {run_with_services(config, work).name}")


@tenants.command("delete")
def delete_tenant(name: str, config: ConfigOption = None) -> None:
    async def work(services: Services) -> None:
        await services.access.delete_tenant(OPERATOR, name)

    run_with_services(config, work)
    console.print(f"deleted tenant {name}")


@apps.command("create")
def create_app(
    name: str,
    description: str = "",
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    body = parse_input(AppInput, name=name, description=description)

    async def work(services: Services) -> App:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.registry.create_app(OPERATOR, scope, body)

    console.print(f"created app {run_with_services(config, work).name}")


@apps.command("update")
def update_app(
    name: str,
    description: Annotated[str | None, typer.Option()] = None,
    requires_type: Annotated[
        bool | None,
        typer.Option(
            "--requires-type/--no-requires-type",
            help="Whether every send must name a notification type.",
        ),
    ] = None,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    """Change what is given; the rest stays."""
    given = {"description": description, "requires_type": requires_type}
    body = parse_input(AppUpdate, **{k: v for k, v in given.items() if v is not None})

    async def work(services: Services) -> App:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.registry.update_app(OPERATOR, scope, name, body)

    changed = run_with_services(config, work)
    console.print(f"updated app {changed.name} (requires a type: {changed.requires_type})")


@apps.command("list")
def list_apps(tenant: TenantOption = None, config: ConfigOption = None) -> None:
    from pushgate.api.schemas import iso

    async def work(services: Services) -> list[App]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.registry.list_apps(OPERATOR, scope)

    table = Table("id", "name", "description", "requires type", "created")
    for app in run_with_services(config, work):
        needs = "yes" if app.requires_type else ""
        table.add_row(app.id, app.name, app.description, needs, iso(app.created_at))
    console.print(table)


@apps.command("delete")
def delete_app(name: str, tenant: TenantOption = None, config: ConfigOption = None) -> None:
    """Delete an app with its credentials and devices."""

    async def work(services: Services) -> None:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        await services.registry.delete_app(OPERATOR, scope, name)

    run_with_services(config, work)
    console.print(f"deleted app {name}")


@apps.command("credentials")
def show_credentials(name: str, tenant: TenantOption = None, config: ConfigOption = None) -> None:
    """Which provider credentials an app has (public values and fingerprints only)."""
    from pushgate.api.schemas import iso

    async def work(services: Services) -> list[CredentialView]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.registry.list_credentials(OPERATOR, scope, name)

    table = Table("kind", "values", "secret fingerprints", "updated")
    for item in run_with_services(config, work):
        values, prints = _pairs(item.view["values"]), _pairs(item.view["fingerprints"])
        table.add_row(item.kind, values, prints, iso(item.updated_at))
    console.print(table)


def _pairs(mapping: object) -> str:
    """A mapping of a credential view, one ``key=value`` a line."""
    if not isinstance(mapping, dict):
        raise TypeError(f"a credential view holds a {type(mapping).__name__}, not a mapping")
    return "\n".join(f"{k}={v}" for k, v in mapping.items())


@apps.command("set-credentials")
def set_credentials(
    name: str,
    kind: Annotated[str, typer.Argument(help="apns, fcm, webpush, wns, hms or webhook")],
    file: Annotated[Path, typer.Option("--file", exists=True, dir_okay=False, help="JSON body")],
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    """Set or replace one provider's credentials from a JSON file (as the API takes them)."""
    try:
        raw = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        err_console.print(f"[red]error:[/red] {file} is not JSON: {exc.msg}")
        raise typer.Exit(2) from exc
    if not isinstance(raw, dict):
        err_console.print(f"[red]error:[/red] {file} must hold a JSON object")
        raise typer.Exit(2)

    async def work(services: Services) -> CredentialView:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.registry.set_credentials(OPERATOR, scope, name, kind, raw)

    made = run_with_services(config, work)
    console.print(f"{made.kind} credentials set for {name}")
    for field, secret in made.generated.items():
        console.print(f"generated {field} (shown once): {secret}", soft_wrap=True)
