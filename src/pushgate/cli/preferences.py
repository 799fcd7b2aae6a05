"""``pushgate preferences``: a user's or a device's preferences (docs/preferences.md),
through ``/v1/users/{id}/preferences`` and ``/v1/devices/{id}/preferences``; input is
checked first by the API's own models. ``set`` replaces them all, as the PUT does."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pushgate.cli.options import JsonOption, TenantOption
from pushgate.cli.output import json_document, table
from pushgate.cli.remote import api
from pushgate.cli.runtime import checked, console, say_error

preferences = typer.Typer(help="What a user or a device chose to receive.", no_args_is_help=True)
UserOption = Annotated[str | None, typer.Option("--user", help="A user's external id.")]
DeviceOption = Annotated[str | None, typer.Option("--device", help="A device's id.")]


def _path(user: str | None, device: str | None) -> str:
    if (user is None) == (device is None):
        say_error("give --user or --device (one of them)")
        raise typer.Exit(2)
    if user is not None:
        return f"/v1/users/{user}/preferences"
    return f"/v1/devices/{device}/preferences"


def _show(found: dict[str, Any], as_json: bool) -> None:
    if as_json:
        json_document(found)
        return
    if "device" in found:
        muted = ", ".join(found["muted_types"]) or "-"
        row = (found["device"], _yes(found["enabled"]), muted)
        table(("device", "enabled", "muted types"), [row])
        return
    rows = [("(default)", found["default"], "")]
    for key, item in found["types"].items():
        rows.append((key, item["choice"] or "(default)", ", ".join(item["providers_out"])))
    table(("type", "choice", "not on"), rows)
    quiet = found["quiet_hours"]
    if quiet is not None:
        urgent = "; urgent passes" if quiet["urgent_passes"] else ""
        console.print(f"quiet hours {quiet['start']}-{quiet['end']}{urgent}")


def _yes(value: bool) -> str:
    return "yes" if value else "no"


@preferences.command("get")
def get_preferences(
    user: UserOption = None,
    device: DeviceOption = None,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """A user's or a device's preferences (the defaults when none were set)."""
    _show(api().get(_path(user, device), tenant=tenant), as_json)


@preferences.command("set")
def set_preferences(
    user: UserOption = None,
    device: DeviceOption = None,
    default: Annotated[str, typer.Option(help="User: `in` or `out`, for types not named.")] = "in",
    opt_out: Annotated[
        list[str] | None,
        typer.Option(
            "--out", help="User: a type key opted out of; TYPE:PROVIDER only on that channel."
        ),
    ] = None,
    opt_in: Annotated[
        list[str] | None, typer.Option("--in", help="User: a type key received.")
    ] = None,
    quiet_hours: Annotated[
        str | None, typer.Option(help="User: quiet hours as START-END (22:00-07:00).")
    ] = None,
    urgent_passes: Annotated[
        bool, typer.Option("--urgent-passes", help="User: urgent ones pass quiet hours.")
    ] = False,
    off: Annotated[bool, typer.Option("--off", help="Device: switch it off.")] = False,
    mute: Annotated[
        list[str] | None, typer.Option("--mute", help="Device: a type key it mutes.")
    ] = None,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """Replace a user's or a device's preferences with those given."""
    from pushgate.core.preference_inputs import DevicePreferencesInput, UserPreferencesInput

    path = _path(user, device)
    if device is not None:
        body = checked(DevicePreferencesInput, enabled=not off, muted_types=mute or [])
    else:
        body = checked(
            UserPreferencesInput,
            default=default,
            types=_types(opt_in or [], opt_out or []),
            quiet_hours=_quiet(quiet_hours, urgent_passes),
        )
    _show(api().put(path, body, tenant=tenant), as_json)


def _types(opted_in: list[str], opted_out: list[str]) -> dict[str, dict[str, Any]]:
    types: dict[str, dict[str, Any]] = {key: {"choice": "in"} for key in opted_in}
    for item in opted_out:
        key, _, provider = item.partition(":")
        said = types.setdefault(key, {})
        if provider:
            said.setdefault("providers_out", []).append(provider)
        else:
            said["choice"] = "out"
    return types


def _quiet(window: str | None, urgent_passes: bool) -> dict[str, Any] | None:
    if window is None:
        return None
    start, _, end = window.partition("-")
    return {"start": start, "end": end, "urgent_passes": urgent_passes}
