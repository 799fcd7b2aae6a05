"""What every command shares: settings from the environment, services, clean errors."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console

from pushgate import logs
from pushgate.config import Settings, load_settings
from pushgate.core.access import Caller
from pushgate.core.ids import now_ms
from pushgate.core.models import ApiKey, Scope
from pushgate.errors import PushgateError

if TYPE_CHECKING:
    from pushgate.wiring import Services

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings file (else PUSHGATE_CONFIG)."),
]

# The CLI runs on the instance's own database, so it acts as its operator.
OPERATOR = Caller(
    ApiKey("cli", None, "command line", "cli", "", frozenset({Scope.ADMIN}), now_ms()), "cli"
)


M = TypeVar("M", bound=BaseModel)


def parse_input(model: type[M], **values: object) -> M:
    """Validate command-line input with the API's own model; exit 2 naming the field."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        err_console.print(f"[red]error:[/red] {field}: {first['msg']}")
        raise typer.Exit(2) from exc
    except PushgateError as exc:  # a validator that raised the domain's own error
        named = str(exc.details.get("field") or "")
        where = f"{named}: " if named and not exc.message.startswith(named) else ""
        err_console.print(f"[red]error:[/red] {where}{exc.message}")
        raise typer.Exit(2) from exc


def settings_or_exit(config: Path | None) -> Settings:
    try:
        return load_settings(config_file=config)
    except PushgateError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc


def configure_logging(settings: Settings) -> None:
    logs.configure(settings.log_level, settings.log_format)


def settle_heap() -> None:
    """Set the cyclic garbage collector up for a long-running server, once it is built.

    What exists at this point (modules, the app, the services) lives as long as the
    process: ``gc.freeze()`` moves it to the permanent generation, so collections stop
    walking it again and again. The young-generation threshold goes from 700 to 10,000
    allocations: on the send path nearly everything is freed by reference counting, and
    at 700 the collector's passes cost about a fifth of a delivery's CPU (bench/README.md,
    "End to end"). https://docs.python.org/3/library/gc.html#gc.freeze
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)


def run_with_services(
    config: Path | None, work: Callable[[Services], Awaitable[T]], *, migrate: bool = True
) -> T:
    """Build the services, run ``work``, close; a pushgate error ends with its message."""
    # Imported when a command runs, not when the CLI loads: the services bring the storage,
    # queue and provider code, which ``--help`` and input refused early never need.
    from pushgate.wiring import build_services

    settings = settings_or_exit(config)
    configure_logging(settings)

    async def main() -> T:
        services = await build_services(settings, run_migrations=migrate)
        try:
            return await work(services)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except PushgateError as exc:
        err_console.print(f"[red]error ({exc.code}):[/red] {exc.message}")
        raise typer.Exit(1) from exc
