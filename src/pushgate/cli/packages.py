"""``pushgate packages``: export an app's configuration as a bundle, install or upgrade
it in an app of any tenant, list and uninstall what is installed (docs/packages.md),
through ``/v1/apps/{app}/package`` and ``/v1/packages``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from pushgate.cli.events import json_file
from pushgate.cli.options import TenantOption
from pushgate.cli.output import json_document, json_lines, table
from pushgate.cli.remote import api
from pushgate.cli.runtime import console, parse_input

packages = typer.Typer(
    help="Export an app's configuration as a package; install, list and uninstall packages.",
    no_args_is_help=True,
)

AppOption = Annotated[str, typer.Option("--app", help="The app's name.")]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
]


@packages.command("export")
def export_package(
    app: AppOption,
    name: Annotated[str | None, typer.Option(help="Package name (default: the app's).")] = None,
    version: Annotated[str | None, typer.Option(help="Semantic version (default: 1.0.0).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the bundle here (else stdout).")
    ] = None,
    tenant: TenantOption = None,
) -> None:
    """Write the app's types, actions, action sets, triggers and type switches as a
    bundle; credentials and webhook secrets appear only as named placeholders."""
    bundle = api().get(f"/v1/apps/{app}/package", tenant=tenant, name=name, version=version)
    if output is None:
        json_document(bundle)
        return
    output.write_text(json.dumps(bundle, indent=2) + "\n")
    console.print(f"wrote {bundle['name']} {bundle['version']} to {output}")


@packages.command("install")
def install_package(
    bundle: Annotated[Path, typer.Argument(help="The bundle, a JSON file.")],
    app: AppOption,
    dry_run: DryRunOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, as the API shows it.")] = False,
    tenant: TenantOption = None,
) -> None:
    """Install a bundle into the app, or upgrade the version installed. What the tenant
    changed since the last install is kept and shown as a conflict."""
    from pushgate.core.package_bundle import Bundle

    body = json_file(bundle, "bundle")
    parse_input(Bundle, **body)
    outcome = api().post(
        "/v1/packages:install", {"app": app, "bundle": body, "dry_run": dry_run}, tenant=tenant
    )
    _show(outcome, as_json)


@packages.command("uninstall")
def uninstall_package(
    name: Annotated[str, typer.Argument(help="The package's name.")],
    app: AppOption,
    dry_run: DryRunOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, as the API shows it.")] = False,
    tenant: TenantOption = None,
) -> None:
    """Remove what the package installed; what the tenant changed stays (a conflict)."""
    outcome = api().post(
        "/v1/packages:uninstall", {"app": app, "name": name, "dry_run": dry_run}, tenant=tenant
    )
    _show(outcome, as_json)


@packages.command("list")
def list_packages(
    as_json: Annotated[bool, typer.Option("--json", help="JSON, as the API shows it.")] = False,
    tenant: TenantOption = None,
) -> None:
    """The packages installed in the tenant's apps."""
    found = api().get("/v1/packages", tenant=tenant)["items"]
    if as_json:
        json_lines(found)
        return
    rows = [(p["app"], p["name"], p["version"], len(p["items"]), p["updated_at"]) for p in found]
    table(("app", "package", "version", "items", "updated"), rows)


def _show(outcome: dict[str, Any], as_json: bool) -> None:
    if as_json:
        json_document(outcome)
        return
    rows = [(c["change"], c["kind"], c["key"], c["reason"]) for c in outcome["changes"]]
    table(("change", "kind", "key", "why"), rows)
    unfilled = [p["name"] for p in outcome["placeholders"] if not p["filled"]]
    if unfilled:
        console.print(f"to fill in app {outcome['app']}: {', '.join(unfilled)}")
    word = "would change" if outcome["dry_run"] else "done"
    version = outcome["version"] or f"{outcome['previous_version']} removed"
    console.print(f"{word}: {outcome['name']} {version} in app {outcome['app']}")
