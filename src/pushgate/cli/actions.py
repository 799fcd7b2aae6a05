"""``pushgate actions`` and ``pushgate action-sets``: an app's actions from a terminal
(docs/actions.md, "Managing actions"), through ``/v1/apps/{app}/actions`` and
``/action-sets``; input is checked first by the API's own models."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pushgate.cli.options import AppArgument, JsonOption, TenantOption
from pushgate.cli.output import json_document, json_lines, table
from pushgate.cli.remote import api
from pushgate.cli.runtime import checked, console, say_error

actions = typer.Typer(
    help="Define, list, change and remove an app's actions.", no_args_is_help=True
)
action_sets = typer.Typer(
    help="Define, list and remove an app's action sets.", no_args_is_help=True
)

ActionArgument = Annotated[str, typer.Argument(help="The action's id or key.")]
KeyArgument = Annotated[str, typer.Argument(help="A key: letters, digits, - and _.")]
HandlerOption = Annotated[
    str | None, typer.Option("--handler", help="record, webhook (with --url) or python (--name).")
]
UrlOption = Annotated[str | None, typer.Option(help="The webhook handler's URL.")]
NameOption = Annotated[str | None, typer.Option(help="The Python handler's entry point name.")]
ContractOption = Annotated[
    str | None, typer.Option(help="Webhook answer contract: status or success_code_message.")
]
TimeoutOption = Annotated[float | None, typer.Option(help="Handler timeout, 1-30 seconds.")]
LocaleTitles = Annotated[
    list[str] | None, typer.Option("--locale-title", help="LOCALE=TITLE, e.g. de=Genehmigen.")
]


def _handler(
    kind: str | None,
    url: str | None,
    name: str | None,
    contract: str | None,
    timeout: float | None,
) -> dict[str, Any] | None:
    """The handler as the API takes it, from only the options given."""
    if kind is None:
        return None
    given = {"url": url, "name": name, "contract": contract, "timeout_seconds": timeout}
    return {"kind": kind, **{k: v for k, v in given.items() if v is not None}}


def _titles(pairs: list[str] | None) -> dict[str, str] | None:
    if pairs is None:
        return None
    titles = {}
    for pair in pairs:
        locale, sep, title = pair.partition("=")
        if not sep:
            say_error(f"--locale-title {pair!r}: give LOCALE=TITLE")
            raise typer.Exit(2)
        titles[locale] = title
    return titles


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _show_saved(made: dict[str, Any], verb: str) -> None:
    console.print(f"{verb} action {made['key']} ({made['id']})")
    if made["secret"] is not None:
        console.print(f"webhook signing secret (shown once): {made['secret']}", soft_wrap=True)


def _table(found: list[dict[str, Any]]) -> None:
    flags = ("foreground", "destructive", "authentication_required", "allow_repeats")
    rows = [
        (
            item["id"],
            item["key"],
            item["title"],
            item["handler"]["kind"],
            ", ".join(name for name in flags if item[name]),
        )
        for item in found
    ]
    table(("id", "key", "title", "handler", "options"), rows)


@actions.command("add")
def add_action(
    app: AppArgument,
    key: KeyArgument,
    title: Annotated[str, typer.Option(help="The button's label.")],
    handler: HandlerOption = "record",
    url: UrlOption = None,
    name: NameOption = None,
    contract: ContractOption = None,
    timeout: TimeoutOption = None,
    locale_title: LocaleTitles = None,
    foreground: Annotated[bool, typer.Option("--foreground", help="Opens the app.")] = False,
    destructive: Annotated[
        bool, typer.Option("--destructive", help="Shown as destructive (red).")
    ] = False,
    authentication_required: Annotated[
        bool,
        typer.Option("--authentication-required", help="Only on an unlocked device."),
    ] = False,
    text_input: Annotated[
        bool, typer.Option("--text-input", help="Let the person type an answer.")
    ] = False,
    allow_repeats: Annotated[
        bool, typer.Option("--allow-repeats", help="Take more than one answer per device.")
    ] = False,
    deadline: Annotated[int | None, typer.Option(help="Handler deadline, seconds.")] = None,
    tenant: TenantOption = None,
) -> None:
    """Define an action; a webhook handler's signing secret is printed this once."""
    from pushgate.core.action_inputs import ActionInput

    body = checked(
        ActionInput,
        **_given(
            key=key,
            title=title,
            titles=_titles(locale_title),
            handler=_handler(handler, url, name, contract, timeout),
            foreground=foreground,
            destructive=destructive,
            authentication_required=authentication_required,
            text_input={} if text_input else None,
            allow_repeats=allow_repeats,
            deadline_seconds=deadline,
        ),
    )
    _show_saved(api().post(f"/v1/apps/{app}/actions", body, tenant=tenant), "created")


@actions.command("list")
def list_actions(
    app: AppArgument, as_json: JsonOption = False, tenant: TenantOption = None
) -> None:
    """The app's actions."""
    found = api().get(f"/v1/apps/{app}/actions", tenant=tenant)
    if as_json:
        json_lines(found)
        return
    _table(found)


@actions.command("show")
def show_action(app: AppArgument, action: ActionArgument, tenant: TenantOption = None) -> None:
    """One action (by id or key), as JSON."""
    json_document(api().get(f"/v1/apps/{app}/actions/{action}", tenant=tenant))


@actions.command("update")
def update_action(
    app: AppArgument,
    action: ActionArgument,
    title: Annotated[str | None, typer.Option(help="A new label.")] = None,
    handler: HandlerOption = None,
    url: UrlOption = None,
    name: NameOption = None,
    contract: ContractOption = None,
    timeout: TimeoutOption = None,
    locale_title: LocaleTitles = None,
    deadline: Annotated[int | None, typer.Option(help="Handler deadline, seconds.")] = None,
    rotate_secret: Annotated[
        bool, typer.Option("--rotate-secret", help="A new webhook signing secret, shown once.")
    ] = False,
    tenant: TenantOption = None,
) -> None:
    """Change an action; options left out stay as they are."""
    from pushgate.core.action_inputs import ActionPatch

    body = checked(
        ActionPatch,
        **_given(
            title=title,
            titles=_titles(locale_title),
            handler=_handler(handler, url, name, contract, timeout),
            deadline_seconds=deadline,
            rotate_secret=rotate_secret,
        ),
    )
    path = f"/v1/apps/{app}/actions/{action}"
    _show_saved(api().patch(path, body, tenant=tenant), "updated")


@actions.command("remove")
def remove_action(app: AppArgument, action: ActionArgument, tenant: TenantOption = None) -> None:
    """Remove an action no action set uses."""
    api().delete(f"/v1/apps/{app}/actions/{action}", tenant=tenant)
    console.print(f"removed action {action}")


@action_sets.command("add")
def add_set(
    app: AppArgument,
    key: KeyArgument,
    keys: Annotated[list[str], typer.Argument(help="1-4 action keys, in display order.")],
    tenant: TenantOption = None,
) -> None:
    """Group 1-4 actions, in display order, under a key a send can name."""
    from pushgate.core.action_inputs import ActionSetInput

    body = checked(ActionSetInput, key=key, actions=keys)
    made = api().post(f"/v1/apps/{app}/action-sets", body, tenant=tenant)
    console.print(f"created action set {made['key']}: {', '.join(made['actions'])}")


@action_sets.command("list")
def list_sets(app: AppArgument, as_json: JsonOption = False, tenant: TenantOption = None) -> None:
    """The app's action sets."""
    found = api().get(f"/v1/apps/{app}/action-sets", tenant=tenant)
    if as_json:
        json_lines(found)
        return
    table(("key", "actions"), [(item["key"], ", ".join(item["actions"])) for item in found])


@action_sets.command("show")
def show_set(app: AppArgument, key: KeyArgument, tenant: TenantOption = None) -> None:
    """One action set, as JSON."""
    json_document(api().get(f"/v1/apps/{app}/action-sets/{key}", tenant=tenant))


@action_sets.command("remove")
def remove_set(app: AppArgument, key: KeyArgument, tenant: TenantOption = None) -> None:
    """Remove an action set (notifications already sent keep their buttons)."""
    api().delete(f"/v1/apps/{app}/action-sets/{key}", tenant=tenant)
    console.print(f"removed action set {key}")
