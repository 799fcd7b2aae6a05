"""``pushgate users``: look up and remove users."""

from __future__ import annotations

from typing import Annotated

import typer

from pushgate.cli.options import TenantOption
from pushgate.cli.output import more, table
from pushgate.cli.remote import api
from pushgate.cli.runtime import console

users = typer.Typer(help="Users known by their external id.", no_args_is_help=True)
ExternalIdArgument = Annotated[str, typer.Argument(help="The user's id in your system.")]


@users.command("list")
def list_users(
    tenant: TenantOption = None,
    after: Annotated[str | None, typer.Option(help="Start after this external id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Rows to show.")] = 100,
    attribute: Annotated[
        list[str] | None,
        typer.Option(help="Only users whose attribute NAME is VALUE (NAME=VALUE; repeatable)."),
    ] = None,
) -> None:
    """Users in external-id order."""
    wanted = {f"attribute.{name}": value for name, value in map(_pair, attribute or [])}
    page = api().get("/v1/users", tenant=tenant, after=after, limit=limit, **wanted)
    rows = [
        (
            user["external_id"],
            user["id"],
            user.get("unit"),
            user["locale"],
            user["timezone"],
            user["updated_at"],
        )
        for user in page["items"]
    ]
    table(("external id", "id", "unit", "locale", "time zone", "updated"), rows)
    more(page)


def _pair(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep:
        raise typer.BadParameter(f"{item!r}: give NAME=VALUE", param_hint="--attribute")
    return name, value


@users.command("set-unit")
def set_unit(
    external_id: ExternalIdArgument,
    unit: Annotated[str | None, typer.Argument(help="The unit's key; leave out for none.")] = None,
    tenant: TenantOption = None,
) -> None:
    """Put a user in a unit (made when missing), or with no unit given, in none."""
    api().put(f"/v1/users/{external_id}", {"unit": unit}, tenant=tenant)
    console.print(f"user {external_id}: unit {unit or '(none)'}")


@users.command("delete")
def delete_user(external_id: ExternalIdArgument, tenant: TenantOption = None) -> None:
    """Delete a user; their devices are unregistered."""
    api().delete(f"/v1/users/{external_id}", tenant=tenant)
    console.print(f"deleted user {external_id}")
