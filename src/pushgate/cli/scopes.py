"""``pushgate units`` and ``pushgate settings``: a tenant's units and its settings by scope
(docs/settings.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.table import Table

from pushgate.cli.runtime import OPERATOR, ConfigOption, console, run_with_services

if TYPE_CHECKING:
    from pushgate.core.scoped_settings import Effective
    from pushgate.core.units import Unit
    from pushgate.wiring import Services

units = typer.Typer(
    help="Units: groups of a tenant's users, optionally nested.", no_args_is_help=True
)
settings = typer.Typer(help="Settings of a tenant, globally or per unit.", no_args_is_help=True)
TenantOption = Annotated[str | None, typer.Option(help="Tenant (default: default).")]
UnitOption = Annotated[
    str | None, typer.Option("--unit", help="A unit's key; leave out for the global scope.")
]


def _units_table(found: list[Unit]) -> Table:
    table = Table("key", "name", "parent")
    for unit in found:
        table.add_row(unit.key, unit.name, unit.parent or "")
    return table


@units.command("list")
def list_units(tenant: TenantOption = None, config: ConfigOption = None) -> None:
    async def work(services: Services) -> list[Unit]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.units.list(OPERATOR, scope)

    console.print(_units_table(run_with_services(config, work)))


@units.command("create")
def create_unit(
    key: str,
    name: Annotated[str, typer.Option(help="Its display name.")],
    parent: Annotated[str | None, typer.Option(help="The parent unit's key.")] = None,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    from pushgate.core.units import UnitInput

    async def work(services: Services) -> Unit:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        data = UnitInput(key=key, name=name, parent=parent)
        return await services.units.create(OPERATOR, scope, data)

    console.print(_units_table([run_with_services(config, work)]))


@units.command("update")
def update_unit(
    key: str,
    name: Annotated[str | None, typer.Option(help="A new display name.")] = None,
    parent: Annotated[str | None, typer.Option(help="A new parent unit's key.")] = None,
    top: Annotated[bool, typer.Option("--top", help="Make it a top unit (no parent).")] = False,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    from pushgate.core.units import UnitPatch

    fields: dict[str, Any] = {} if name is None else {"name": name}
    if top or parent is not None:
        fields["parent"] = None if top else parent

    async def work(services: Services) -> Unit:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.units.update(OPERATOR, scope, key, UnitPatch(**fields))

    console.print(_units_table([run_with_services(config, work)]))


@units.command("delete")
def delete_unit(key: str, tenant: TenantOption = None, config: ConfigOption = None) -> None:
    """Delete a unit and its settings; refused while it has child units or members."""

    async def work(services: Services) -> None:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        await services.units.delete(OPERATOR, scope, key)

    run_with_services(config, work)
    console.print(f"deleted unit {key}")


@settings.command("get")
def get_settings(
    unit: UnitOption = None, tenant: TenantOption = None, config: ConfigOption = None
) -> None:
    """The values set at the scope (secrets masked)."""

    async def work(services: Services) -> dict[str, Any]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.scoped_settings.read(OPERATOR, scope, unit)

    table = Table("setting", "value")
    for name, value in sorted(run_with_services(config, work).items()):
        table.add_row(name, orjson.dumps(value).decode())
    console.print(table)


@settings.command("set")
def set_setting(
    name: str,
    value: Annotated[
        str | None, typer.Argument(help='A JSON value (true, 30, "22:00"); leave out to unset.')
    ] = None,
    unit: UnitOption = None,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    """Set one setting at the scope; a plain word that is not JSON is taken as a string."""
    parsed = None if value is None else _json_or_text(value)

    async def work(services: Services) -> dict[str, Any]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.scoped_settings.change(OPERATOR, scope, unit, name, parsed)

    run_with_services(config, work)
    console.print(f"{name}: {'unset' if parsed is None else 'set'}")


def _json_or_text(value: str) -> Any:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


@settings.command("effective")
def effective_settings(
    unit: UnitOption = None,
    user: Annotated[str | None, typer.Option(help="A user's external id: at their unit.")] = None,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    """Every known setting's value, and the scope it came from."""

    async def work(services: Services) -> list[Effective]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        if user is not None:
            _, found = await services.scoped_settings.effective_for_user(OPERATOR, scope, user)
            return found
        return await services.scoped_settings.effective(OPERATOR, scope, unit)

    table = Table("setting", "value", "from")
    for item in run_with_services(config, work):
        table.add_row(item.name, orjson.dumps(item.value).decode(), item.source)
    console.print(table)
