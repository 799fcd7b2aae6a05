"""``pushgate users``: look up and remove users."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pushgate.cli.runtime import OPERATOR, ConfigOption, console, run_with_services

if TYPE_CHECKING:
    from pushgate.core.models import User
    from pushgate.wiring import Services

users = typer.Typer(help="Users known by their external id.", no_args_is_help=True)
TenantOption = Annotated[str | None, typer.Option(help="Tenant (default: default).")]


@users.command("list")
def list_users(
    tenant: TenantOption = None,
    after: Annotated[str | None, typer.Option(help="Start after this external id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    attribute: Annotated[
        list[str] | None,
        typer.Option(help="Only users whose attribute NAME is VALUE (NAME=VALUE; repeatable)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    from pushgate.api.schemas import iso

    wanted = dict(_pair(item) for item in attribute or [])

    async def work(services: Services) -> list[User]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.registry.list_users(OPERATOR, scope, after, limit, wanted)

    table = Table("external id", "id", "unit", "locale", "time zone", "updated")
    for user in run_with_services(config, work):
        table.add_row(
            user.external_id,
            user.id,
            user.unit or "",
            user.locale or "",
            user.timezone or "",
            iso(user.updated_at),
        )
    console.print(table)


def _pair(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep:
        raise typer.BadParameter(f"{item!r}: give NAME=VALUE", param_hint="--attribute")
    return name, value


@users.command("set-unit")
def set_unit(
    external_id: str,
    unit: Annotated[str | None, typer.Argument(help="The unit's key; leave out for none.")] = None,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    """Put a user in a unit (made when missing), or with no unit given, in none."""
    from pushgate.core.inputs import UserInput

    async def work(services: Services) -> None:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        data = UserInput(unit=unit)
        await services.registry.upsert_user(OPERATOR, scope, external_id, data)

    run_with_services(config, work)
    console.print(f"user {external_id}: unit {unit or '(none)'}")


@users.command("delete")
def delete_user(external_id: str, tenant: TenantOption = None, config: ConfigOption = None) -> None:
    """Delete a user; their devices are unregistered."""

    async def work(services: Services) -> None:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        await services.registry.delete_user(OPERATOR, scope, external_id)

    run_with_services(config, work)
    console.print(f"deleted user {external_id}")
