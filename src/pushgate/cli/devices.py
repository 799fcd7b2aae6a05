"""``pushgate devices import``: bulk registration from CSV or JSON lines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pushgate.cli.runtime import (
    OPERATOR,
    ConfigOption,
    console,
    err_console,
    run_with_services,
    settle_heap,
)

if TYPE_CHECKING:
    from pushgate.core.device_import import ImportReport
    from pushgate.core.models import Device
    from pushgate.wiring import Services

devices = typer.Typer(help="Device administration.", no_args_is_help=True)


def _count_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


@devices.command("import")
def import_devices(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    app: Annotated[str, typer.Option("--app", help="App the devices belong to.")],
    tenant: Annotated[str | None, typer.Option(help="Tenant (default: default).")] = None,
    fmt: Annotated[
        Literal["csv", "jsonl"] | None,
        typer.Option("--format", help="csv or jsonl; by default from the file name."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Validate only; write nothing.")] = False,
    config: ConfigOption = None,
) -> None:
    """Register devices in bulk; bad rows are reported with their line and never written.

    CSV columns: provider, token, platform, user, user_alias, locale, timezone, topics,
    tags (space-separated lists), app_version; Web Push rows give endpoint, p256dh, auth.
    JSON lines: one registration object per line, as the API takes it.
    """
    from pushgate.core.device_import import DeviceImporter, read_rows

    total = _count_rows(file) - (1 if (fmt or file.suffix.lower().lstrip(".")) == "csv" else 0)

    async def work(services: Services) -> ImportReport:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        target = await services.registry.app(scope, app)
        unit_keys = frozenset(u.key for u in await services.units.list(OPERATOR, scope))
        importer = DeviceImporter(
            services.registry, services.people, scope, target, dry_run=dry_run, unit_keys=unit_keys
        )
        # The collector's passes over what is loaded by now cost about a tenth of an
        # import's CPU, with a full collection every few batches of rows.
        settle_heap()
        with Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("rows", total=max(total, 0))
            return await importer.run(read_rows(file, fmt), lambda n: bar.advance(task, n))

    report = run_with_services(config, work)
    verb = "would be accepted" if dry_run else "accepted"
    console.print(f"{report.accepted} rows {verb}, {report.rejected} rejected")
    for line, reason in report.rejections:
        console.print(f"  line {line}: {reason}", highlight=False, soft_wrap=True)
    if report.rejected > len(report.rejections):
        console.print(f"  … and {report.rejected - len(report.rejections)} more")
    if report.rejected:
        raise typer.Exit(1)


def _device_table(items: list[Device]) -> Table:
    from pushgate.api.schemas import iso

    table = Table("id", "provider", "platform", "token", "user", "state", "updated")
    for item in items:
        token = item.token if len(item.token) <= 40 else item.token[:37] + "…"
        table.add_row(
            item.id,
            item.provider,
            item.platform,
            token,
            item.user_id or "",
            item.state + (f" ({item.state_reason})" if item.state_reason else ""),
            iso(item.updated_at),
        )
    return table


@devices.command("list")
def list_devices(
    app: Annotated[str | None, typer.Option("--app", help="Only this app.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this user.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant (default: default).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    config: ConfigOption = None,
) -> None:
    """List devices, newest registrations last."""

    async def work(services: Services) -> list[Device]:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        filters: dict[str, str] = {}
        if app:
            filters["app_id"] = (await services.registry.app(scope, app)).id
        if user:
            filters["user_id"] = (await services.registry.user(OPERATOR, scope, user)).id
        return await services.registry.list_devices(OPERATOR, scope, filters, None, limit)

    console.print(_device_table(run_with_services(config, work)))


@devices.command("unregister")
def unregister_device(
    device_id: str,
    tenant: Annotated[str | None, typer.Option(help="Tenant (default: default).")] = None,
    config: ConfigOption = None,
) -> None:
    """Unregister a device: it is kept, and gets nothing more."""

    async def work(services: Services) -> Device:
        scope = await services.access.tenant_for(OPERATOR, tenant)
        return await services.registry.unregister_device(OPERATOR, scope, device_id)

    console.print(_device_table([run_with_services(config, work)]))
