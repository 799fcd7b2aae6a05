"""``pushgate types``: an app's notification types from a terminal (docs/types.md),
through ``/v1/apps/{app}/types``; input is checked first by the API's own models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from pushgate.cli.options import AppArgument, TenantOption
from pushgate.cli.output import json_document, json_lines, more, table
from pushgate.cli.remote import api
from pushgate.cli.runtime import checked, console, say_error

types = typer.Typer(
    help="Define, list, change, preview and remove an app's notification types.",
    no_args_is_help=True,
)

KeyArgument = Annotated[
    str, typer.Argument(help="The type's key: lowercase letters, digits, '.', '-' and '_'.")
]
NameOption = Annotated[str | None, typer.Option(help="A name for people.")]
DescriptionOption = Annotated[str | None, typer.Option(help="What the type is for, for people.")]
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
            say_error(f"--template {path}: {exc}")
            raise typer.Exit(2) from exc
        if not isinstance(loaded, dict):
            say_error(f"--template {path}: not a JSON object")
            raise typer.Exit(2)
        found.update(loaded)
    found.update({k: v for k, v in (("title", title), ("body", body)) if v is not None})
    return found or None


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _table(found: list[dict[str, Any]]) -> None:
    rows = [
        (
            item["key"],
            item["name"],
            "yes" if item["enabled"] else "no",
            ", ".join(item["providers"]) or "all",
            "yes" if item["template"] else "",
        )
        for item in found
    ]
    table(("key", "name", "enabled", "providers", "template"), rows)


@types.command("create")
def create_type(
    app: AppArgument,
    key: KeyArgument,
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
) -> None:
    """Define a type; its template must compile."""
    from pushgate.core.type_inputs import TypeInput

    values = checked(
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
    made = api().post(f"/v1/apps/{app}/types", values, tenant=tenant)
    console.print(f"created type {made['key']} ({made['id']})")


@types.command("list")
def list_types(
    app: AppArgument,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, as the API shows it.")] = False,
    after: Annotated[str | None, typer.Option(help="Start after this key.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Rows to show.")] = 100,
    tenant: TenantOption = None,
) -> None:
    """The app's types in key order."""
    page = api().get(f"/v1/apps/{app}/types", tenant=tenant, after=after, limit=limit)
    if as_json:
        json_lines(page["items"])  # only JSON on stdout; --after the last key pages on
        return
    _table(page["items"])
    more(page)


@types.command("show")
def show_type(app: AppArgument, key: KeyArgument, tenant: TenantOption = None) -> None:
    """One type, as JSON."""
    json_document(api().get(f"/v1/apps/{app}/types/{key}", tenant=tenant))


@types.command("update")
def update_type(
    app: AppArgument,
    key: KeyArgument,
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
    opt_out: Annotated[
        bool | None,
        typer.Option("--opt-out/--no-opt-out", help="Whether people may opt out of it."),
    ] = None,
    template: TemplateOption = None,
    title: TitleOption = None,
    body: BodyOption = None,
    clear_template: Annotated[
        bool, typer.Option("--clear-template", help="Remove the template.")
    ] = False,
    tenant: TenantOption = None,
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
    changed = api().patch(
        f"/v1/apps/{app}/types/{key}", checked(TypePatch, **values), tenant=tenant
    )
    console.print(f"updated type {changed['key']} (version {changed['version']})")


@types.command("delete")
def delete_type(app: AppArgument, key: KeyArgument, tenant: TenantOption = None) -> None:
    """Delete a type; notifications sent as it keep their content."""
    api().delete(f"/v1/apps/{app}/types/{key}", tenant=tenant)
    console.print(f"deleted type {key}")


@types.command("preview")
def preview_type(
    app: AppArgument,
    key: KeyArgument,
    data: Annotated[
        str | None, typer.Option(help="A JSON object: the notification's data.")
    ] = None,
    user: Annotated[str | None, typer.Option(help="A user's external id.")] = None,
    device: Annotated[str | None, typer.Option(help="A device id.")] = None,
    locale: Annotated[str | None, typer.Option(help="Only the variant it chooses.")] = None,
    tenant: TenantOption = None,
) -> None:
    """Render the type's template, as JSON."""
    from pushgate.core.type_inputs import PreviewInput

    try:
        given = json.loads(data) if data is not None else {}
    except ValueError as exc:
        say_error(f"--data: {exc}")
        raise typer.Exit(2) from exc
    body = checked(PreviewInput, **_given(data=given, user=user, device=device, locale=locale))
    rendered = api().post(f"/v1/apps/{app}/types/{key}/preview", body, tenant=tenant)
    print(json.dumps(rendered, indent=2, ensure_ascii=False))
