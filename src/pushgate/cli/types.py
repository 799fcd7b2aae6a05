"""``pushgate types``: an app's notification types from a terminal (docs/types.md). Each
command goes through the same catalog as the API, as the instance's operator, and takes
its input through the API's own models."""

from __future__ import annotations

import json
from pathlib import Path
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
    from pushgate.core.type_inputs import NotificationType
    from pushgate.wiring import Services

types = typer.Typer(
    help="Define, list, change, preview and remove an app's notification types.",
    no_args_is_help=True,
)

TenantOption = Annotated[str | None, typer.Option(help="Tenant name (default: default).")]
NameOption = Annotated[str | None, typer.Option(help="A name for people.")]
DescriptionOption = Annotated[str | None, typer.Option()]
PriorityOption = Annotated[str | None, typer.Option(help="Default priority: high or normal.")]
TtlOption = Annotated[int | None, typer.Option(help="Default TTL, seconds.")]
CollapseOption = Annotated[str | None, typer.Option(help="Default collapse key.")]
ActionSetOption = Annotated[str | None, typer.Option(help="Default action set (its key).")]
ProviderOption = Annotated[
    list[str] | None, typer.Option("--provider", help="A provider kind it may use; repeat.")
]
TemplateOption = Annotated[
    Path | None,
    typer.Option(help="A JSON file: {title, subtitle, body, data, overrides, locales}."),
]
TitleOption = Annotated[str | None, typer.Option(help="The template's title (Jinja2).")]
BodyOption = Annotated[str | None, typer.Option(help="The template's body (Jinja2).")]


def _template(path: Path | None, title: str | None, body: str | None) -> dict[str, Any] | None:
    """The template from a JSON file, with ``--title``/``--body`` on top; None: none given."""
    found: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            err_console.print(f"[red]error:[/red] --template {path}: {exc}")
            raise typer.Exit(2) from exc
        if not isinstance(loaded, dict):
            err_console.print(f"[red]error:[/red] --template {path}: not a JSON object")
            raise typer.Exit(2)
        found.update(loaded)
    found.update({k: v for k, v in (("title", title), ("body", body)) if v is not None})
    return found or None


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _table(found: list[NotificationType]) -> Table:
    table = Table("key", "name", "enabled", "providers", "template")
    for item in found:
        table.add_row(
            item.key,
            item.name,
            "yes" if item.enabled else "no",
            ", ".join(item.providers) or "all",
            "yes" if item.template else "",
        )
    return table


def _show(item: NotificationType) -> None:
    from pushgate.api.type_schemas import TypeOut

    print(TypeOut.of(item).model_dump_json(indent=2))


@types.command("create")
def create_type(
    app: str,
    key: str,
    name: NameOption = None,
    description: DescriptionOption = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Switched off by default.")] = False,
    priority: PriorityOption = None,
    ttl: TtlOption = None,
    collapse_key: CollapseOption = None,
    action_set: ActionSetOption = None,
    provider: ProviderOption = None,
    no_opt_out: Annotated[
        bool, typer.Option("--no-opt-out", help="People may not opt out (a security alert).")
    ] = False,
    template: TemplateOption = None,
    title: TitleOption = None,
    body: BodyOption = None,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    """Define a type; its template must compile."""
    from pushgate.core.type_inputs import TypeInput

    data = parse_input(
        TypeInput,
        **_given(
            key=key,
            name=name,
            description=description,
            enabled=not disabled,
            priority=priority,
            ttl=ttl,
            collapse_key=collapse_key,
            action_set=action_set,
            providers=provider,
            opt_out_allowed=not no_opt_out,
            template=_template(template, title, body),
        ),
    )

    async def work(services: Services) -> NotificationType:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.types.create(OPERATOR, scope, app, data)

    made = run_with_services(config, work)
    console.print(f"created type {made.key} ({made.id})")


@types.command("list")
def list_types(
    app: str,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, as the API shows it.")] = False,
    after: Annotated[str | None, typer.Option(help="Start after this key.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    from pushgate.api.type_schemas import TypeOut

    async def work(services: Services) -> list[NotificationType]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.types.list_types(OPERATOR, scope, app, after, limit)

    found = run_with_services(config, work)
    if as_json:
        for item in found:
            print(TypeOut.of(item).model_dump_json())
        return
    console.print(_table(found))


@types.command("show")
def show_type(app: str, key: str, tenant: TenantOption = None, config: ConfigOption = None) -> None:
    """One type, as JSON."""

    async def work(services: Services) -> NotificationType:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.types.read(OPERATOR, scope, app, key)

    _show(run_with_services(config, work))


@types.command("update")
def update_type(
    app: str,
    key: str,
    name: NameOption = None,
    description: DescriptionOption = None,
    enabled: Annotated[
        bool | None, typer.Option("--enabled/--disabled", help="The type's default switch.")
    ] = None,
    priority: PriorityOption = None,
    ttl: TtlOption = None,
    collapse_key: CollapseOption = None,
    action_set: ActionSetOption = None,
    provider: ProviderOption = None,
    opt_out: Annotated[bool | None, typer.Option("--opt-out/--no-opt-out")] = None,
    template: TemplateOption = None,
    title: TitleOption = None,
    body: BodyOption = None,
    clear_template: Annotated[bool, typer.Option("--clear-template")] = False,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    """Change what is given; the rest stays."""
    from pushgate.core.type_inputs import TypePatch

    values = _given(
        name=name,
        description=description,
        enabled=enabled,
        priority=priority,
        ttl=ttl,
        collapse_key=collapse_key,
        action_set=action_set,
        providers=provider,
        opt_out_allowed=opt_out,
        template=_template(template, title, body),
    )
    if clear_template:
        values["template"] = None
    data = parse_input(TypePatch, **values)

    async def work(services: Services) -> NotificationType:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.types.update(OPERATOR, scope, app, key, data)

    changed = run_with_services(config, work)
    console.print(f"updated type {changed.key} (version {changed.version})")


@types.command("delete")
def delete_type(
    app: str, key: str, tenant: TenantOption = None, config: ConfigOption = None
) -> None:
    """Delete a type; notifications sent as it keep their content."""

    async def work(services: Services) -> None:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        await services.types.delete(OPERATOR, scope, app, key)

    run_with_services(config, work)
    console.print(f"deleted type {key}")


@types.command("preview")
def preview_type(
    app: str,
    key: str,
    data: Annotated[
        str | None, typer.Option(help="A JSON object: the notification's data.")
    ] = None,
    user: Annotated[str | None, typer.Option(help="A user's external id.")] = None,
    device: Annotated[str | None, typer.Option(help="A device id.")] = None,
    locale: Annotated[str | None, typer.Option(help="Only the variant it chooses.")] = None,
    tenant: TenantOption = None,
    config: ConfigOption = None,
) -> None:
    """Render the type's template, as JSON."""
    from pushgate.core.type_inputs import PreviewInput

    try:
        given = json.loads(data) if data is not None else {}
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] --data: {exc}")
        raise typer.Exit(2) from exc
    body = parse_input(PreviewInput, **_given(data=given, user=user, device=device, locale=locale))

    async def work(services: Services) -> dict[str, Any]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.types.preview(OPERATOR, scope, app, key, body)

    print(json.dumps(run_with_services(config, work), indent=2, ensure_ascii=False))
