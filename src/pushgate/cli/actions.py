"""``pushgate actions`` and ``pushgate action-sets``: an app's actions from a terminal
(docs/actions.md, "Managing actions"). Each command goes through the same catalog as the
API, as the instance's operator, and takes its input through the API's own models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

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

if TYPE_CHECKING:
    # A command imports the API's models and the services when it runs (cli/runtime.py).
    from pushgate.core.action_catalog import SavedAction
    from pushgate.core.actions import ActionDefinition, ActionSet
    from pushgate.wiring import Services

actions = typer.Typer(
    help="Define, list, change and remove an app's actions.", no_args_is_help=True
)
action_sets = typer.Typer(
    help="Define, list and remove an app's action sets.", no_args_is_help=True
)

TenantOption = Annotated[str | None, typer.Option(help="Tenant name (default: default).")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON, as the API shows it.")]
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
            err_console.print(f"[red]error:[/red] --locale-title {pair!r}: give LOCALE=TITLE")
            raise typer.Exit(2)
        titles[locale] = title
    return titles


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _show_saved(made: SavedAction, verb: str) -> None:
    console.print(f"{verb} action {made.action.key} ({made.action.id})")
    if made.secret is not None:
        console.print(f"webhook signing secret (shown once): {made.secret}", soft_wrap=True)


def _table(found: list[ActionDefinition]) -> Table:
    table = Table("id", "key", "title", "handler", "options")
    for item in found:
        options = [
            name
            for name in ("foreground", "destructive", "authentication_required", "allow_repeats")
            if getattr(item, name)
        ]
        table.add_row(item.id, item.key, item.title, item.handler.kind, ", ".join(options))
    return table


@actions.command("add")
def add_action(
    app: str,
    key: str,
    title: Annotated[str, typer.Option(help="The button's label.")],
    handler: HandlerOption = "record",
    url: UrlOption = None,
    name: NameOption = None,
    contract: ContractOption = None,
    timeout: TimeoutOption = None,
    locale_title: LocaleTitles = None,
    foreground: Annotated[bool, typer.Option("--foreground", help="Opens the app.")] = False,
    destructive: Annotated[bool, typer.Option("--destructive")] = False,
    authentication_required: Annotated[bool, typer.Option("--authentication-required")] = False,
    text_input: Annotated[
        bool, typer.Option("--text-input", help="Let the person type an answer.")
    ] = False,
    allow_repeats: Annotated[bool, typer.Option("--allow-repeats")] = False,
    deadline: Annotated[int | None, typer.Option(help="Handler deadline, seconds.")] = None,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    """Define an action; a webhook handler's signing secret is printed this once."""
    from pushgate.core.action_inputs import ActionInput

    body = parse_input(
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

    async def work(services: Services) -> SavedAction:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.catalog.create_action(OPERATOR, scope, app, body)

    _show_saved(run_with_services(config, work), "created")


@actions.command("list")
def list_actions(
    app: str, as_json: JsonOption = False, tenant: TenantOption = None, config: ConfigOption = None
) -> None:
    from pushgate.api.action_schemas import ActionOut

    async def work(services: Services) -> list[ActionDefinition]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.catalog.list_actions(OPERATOR, scope, app)

    found = run_with_services(config, work)
    if as_json:
        for item in found:
            print(ActionOut.of(item).model_dump_json())
        return
    console.print(_table(found))


@actions.command("show")
def show_action(
    app: str, action: str, tenant: TenantOption = None, config: ConfigOption = None
) -> None:
    """One action (by id or key), as JSON."""
    from pushgate.api.action_schemas import ActionOut

    async def work(services: Services) -> ActionDefinition:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.catalog.action(OPERATOR, scope, app, action)

    print(ActionOut.of(run_with_services(config, work)).model_dump_json(indent=2))


@actions.command("update")
def update_action(
    app: str,
    action: str,
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
    config: ConfigOption = None,
) -> None:
    """Change an action; options left out stay as they are."""
    from pushgate.core.action_inputs import ActionPatch

    body = parse_input(
        ActionPatch,
        **_given(
            title=title,
            titles=_titles(locale_title),
            handler=_handler(handler, url, name, contract, timeout),
            deadline_seconds=deadline,
            rotate_secret=rotate_secret,
        ),
    )

    async def work(services: Services) -> SavedAction:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.catalog.update_action(OPERATOR, scope, app, action, body)

    _show_saved(run_with_services(config, work), "updated")


@actions.command("remove")
def remove_action(
    app: str, action: str, tenant: TenantOption = None, config: ConfigOption = None
) -> None:
    """Remove an action no action set uses."""

    async def work(services: Services) -> None:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        await services.catalog.delete_action(OPERATOR, scope, app, action)

    run_with_services(config, work)
    console.print(f"removed action {action}")


@action_sets.command("add")
def add_set(
    app: str,
    key: str,
    keys: Annotated[list[str], typer.Argument(help="1-4 action keys, in display order.")],
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    from pushgate.core.action_inputs import ActionSetInput

    body = parse_input(ActionSetInput, key=key, actions=keys)

    async def work(services: Services) -> ActionSet:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.catalog.create_set(OPERATOR, scope, app, body)

    made = run_with_services(config, work)
    console.print(f"created action set {made.key}: {', '.join(made.action_keys)}")


@action_sets.command("list")
def list_sets(
    app: str, as_json: JsonOption = False, tenant: TenantOption = None, config: ConfigOption = None
) -> None:
    from pushgate.api.action_schemas import ActionSetOut

    async def work(services: Services) -> list[ActionSet]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.catalog.list_sets(OPERATOR, scope, app)

    found = run_with_services(config, work)
    if as_json:
        for item in found:
            print(ActionSetOut.of(item).model_dump_json())
        return
    table = Table("key", "actions")
    for item in found:
        table.add_row(item.key, ", ".join(item.action_keys))
    console.print(table)


@action_sets.command("show")
def show_set(app: str, key: str, tenant: TenantOption = None, config: ConfigOption = None) -> None:
    from pushgate.api.action_schemas import ActionSetOut

    async def work(services: Services) -> ActionSet:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.catalog.action_set(OPERATOR, scope, app, key)

    print(ActionSetOut.of(run_with_services(config, work)).model_dump_json(indent=2))


@action_sets.command("remove")
def remove_set(
    app: str, key: str, tenant: TenantOption = None, config: ConfigOption = None
) -> None:
    async def work(services: Services) -> None:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        await services.catalog.delete_set(OPERATOR, scope, app, key)

    run_with_services(config, work)
    console.print(f"removed action set {key}")
