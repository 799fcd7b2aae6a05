"""``pushgate units`` and ``pushgate settings``: a tenant's units and its settings by scope
(docs/settings.md), through ``/v1/units`` and ``/v1/settings``; input is checked first by
the API's own models."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer

from pushgate.cli.options import JsonOption, TenantOption
from pushgate.cli.output import json_document, json_lines, table
from pushgate.cli.remote import api
from pushgate.cli.runtime import checked, console, say_error

units = typer.Typer(
    help="Units: groups of a tenant's users, optionally nested.", no_args_is_help=True
)
settings = typer.Typer(help="Settings of a tenant, globally or per unit.", no_args_is_help=True)
UnitArgument = Annotated[str, typer.Argument(help="The unit's key.")]
UnitOption = Annotated[
    str | None, typer.Option("--unit", help="A unit's key; leave out for the global scope.")
]


def _units_table(found: list[dict[str, Any]]) -> None:
    table(("key", "name", "parent"), [(u["key"], u["name"], u["parent"]) for u in found])


def _settings_path(unit: str | None) -> str:
    return "/v1/settings" if unit is None else f"/v1/units/{unit}/settings"


def _value(value: object) -> str:
    return orjson.dumps(value).decode()


@units.command("list")
def list_units(as_json: JsonOption = False, tenant: TenantOption = None) -> None:
    """The tenant's units."""
    found = api().get("/v1/units", tenant=tenant)
    if as_json:
        json_lines(found)
        return
    _units_table(found)


@units.command("create")
def create_unit(
    key: UnitArgument,
    name: Annotated[str, typer.Option(help="Its display name.")],
    parent: Annotated[str | None, typer.Option(help="The parent unit's key.")] = None,
    tenant: TenantOption = None,
) -> None:
    """Make a unit, at the top or under a parent unit."""
    from pushgate.core.units import UnitInput

    body = checked(UnitInput, key=key, name=name, parent=parent)
    _units_table([api().post("/v1/units", body, tenant=tenant)])


@units.command("update")
def update_unit(
    key: UnitArgument,
    name: Annotated[str | None, typer.Option(help="A new display name.")] = None,
    parent: Annotated[str | None, typer.Option(help="A new parent unit's key.")] = None,
    top: Annotated[bool, typer.Option("--top", help="Make it a top unit (no parent).")] = False,
    tenant: TenantOption = None,
) -> None:
    """Rename a unit or move it; its key stays."""
    from pushgate.core.units import UnitPatch

    fields: dict[str, Any] = {} if name is None else {"name": name}
    if top or parent is not None:
        fields["parent"] = None if top else parent
    body = checked(UnitPatch, **fields)
    _units_table([api().patch(f"/v1/units/{key}", body, tenant=tenant)])


@units.command("delete")
def delete_unit(key: UnitArgument, tenant: TenantOption = None) -> None:
    """Delete a unit and its settings; refused while it has child units or members."""
    api().delete(f"/v1/units/{key}", tenant=tenant)
    console.print(f"deleted unit {key}")


@settings.command("get")
def get_settings(
    unit: UnitOption = None, as_json: JsonOption = False, tenant: TenantOption = None
) -> None:
    """The values set at the scope (secrets masked)."""
    found = api().get(_settings_path(unit), tenant=tenant)
    if as_json:
        json_document(found)
        return
    table(("setting", "value"), [(k, _value(v)) for k, v in sorted(found["values"].items())])


@settings.command("set")
def set_setting(
    name: Annotated[str, typer.Argument(help="The setting's name (docs/settings.md).")],
    value: Annotated[
        str | None, typer.Argument(help='A JSON value (true, 30, "22:00"); leave out to unset.')
    ] = None,
    unit: UnitOption = None,
    tenant: TenantOption = None,
) -> None:
    """Set one setting at the scope; a plain word that is not JSON is taken as a string."""
    from pushgate.api.scope_schemas import SettingIn

    parsed = None if value is None else _json_or_text(value)
    body = checked(SettingIn, name=name, value=parsed)
    api().patch(_settings_path(unit), body, tenant=tenant)
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
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """Every known setting's value, and the scope it came from."""
    if user is not None and unit is not None:
        say_error("give --unit or --user, not both")
        raise typer.Exit(2)
    if user is not None:
        path = f"/v1/users/{user}/settings/effective"
    else:
        path = f"{_settings_path(unit)}/effective"
    found = api().get(path, tenant=tenant)
    if as_json:
        json_document(found)
        return
    rows = [(s["name"], _value(s["value"]), s["source"]) for s in found["settings"]]
    table(("setting", "value", "from"), rows)
