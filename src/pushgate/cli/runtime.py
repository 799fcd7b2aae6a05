"""What every command shares: settings from the environment, services, clean errors."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape

from pushgate import logs
from pushgate.config import CONFIG_FILE_ENV, ENV_PREFIX, Settings, load_settings
from pushgate.core.access import Caller
from pushgate.core.ids import now_ms
from pushgate.core.models import ApiKey, Scope
from pushgate.errors import PushgateError

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    from pushgate.wiring import Services

T = TypeVar("T")
# Lines are not wrapped at the console's width (the terminal wraps them; a script reading
# a pipe gets whole lines); tables still fit a terminal (cli/output.py).
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings file (else PUSHGATE_CONFIG)."),
]
InitOption = Annotated[
    bool,
    typer.Option(
        "--init",
        help="Create a new instance when the data folder has none (else this is refused).",
    ),
]
# What pydantic puts before the text of an error a validator raised.
_VALIDATOR_PREFIXES = ("Value error, ", "Assertion failed, ")

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
        say_error(f"{field}: {plain_message(first)}" if field else plain_message(first))
        raise typer.Exit(2) from exc
    except PushgateError as exc:  # a validator that raised the domain's own error
        named = str(exc.details.get("field") or "")
        where = f"{named}: " if named and not exc.message.startswith(named) else ""
        say_error(f"{where}{exc.message}")
        raise typer.Exit(2) from exc


def say_error(message: str, code: str | None = None) -> None:
    """``error: message`` (or ``error (code): message``) on stderr, on one line, the
    message printed as it is (a pattern's brackets are not markup)."""
    label = "error" if code is None else f"error ({code})"
    err_console.print(f"[red]{label}:[/red] {escape(message)}", soft_wrap=True, highlight=False)


def plain_message(error: ErrorDetails) -> str:
    """A validation error in words: without pydantic's prefix (``Value error, ...``)."""
    message = error["msg"]
    if error["type"] == "string_pattern_mismatch":
        return f"not allowed here; it must match {error.get('ctx', {}).get('pattern')}"
    for prefix in _VALIDATOR_PREFIXES:
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def settings_or_exit(config: Path | None) -> Settings:
    try:
        return load_settings(config_file=config)
    except PushgateError as exc:
        say_error(exc.message)
        raise typer.Exit(2) from exc


def configure_logging(settings: Settings, *, server: bool = False) -> None:
    """Log at the settings' level in a server or worker; a one-off command says only
    warnings and errors. Migrations are applied silently either way (alembic says each
    step at INFO): ``pushgate migrate`` prints the revision reached."""
    logs.configure(settings.log_level if server else "warning", settings.log_format)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite database URL; None for another database or an in-memory one."""
    scheme, separator, rest = database_url.partition(":///")
    path = rest.partition("?")[0]
    if not scheme.startswith("sqlite") or not separator or not path or ":memory:" in path:
        return None
    return Path(path)


def is_placed_explicitly(config: Path | None) -> bool:
    """Whether the settings name where the instance lives (a config file, PUSHGATE_DATA_DIR
    or PUSHGATE_DATABASE_URL), rather than it being ./var of the current folder."""
    named = (CONFIG_FILE_ENV, f"{ENV_PREFIX}DATA_DIR", f"{ENV_PREFIX}DATABASE_URL")
    return config is not None or any(os.environ.get(name) for name in named)


def require_instance(settings: Settings, config: Path | None, init: bool) -> None:
    """Refuse to make a new SQLite instance by accident: a command run in the wrong folder
    would otherwise start an empty one in its ./var. A data folder or database the
    settings name on purpose (a container's PUSHGATE_DATA_DIR, a service's --config) is
    used, and created, as given."""
    found = sqlite_file(settings.effective_database_url)
    if init or found is None or found.exists() or is_placed_explicitly(config):
        return
    say_error(
        f"no pushgate instance at {found.resolve()}: run this in the instance's folder (its "
        "data folder is ./var), or set PUSHGATE_DATA_DIR or --config; to create a new "
        "instance here, add --init"
    )
    raise typer.Exit(2)


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


def local_settings(config: Path | None, init: bool = False, *, server: bool = False) -> Settings:
    """The settings of a command that opens the database itself (docs/cli.md, "Local
    commands"), once the instance is known to exist."""
    settings = settings_or_exit(config)
    require_instance(settings, config, init)
    configure_logging(settings, server=server)
    return settings


def run_with_services(
    config: Path | None,
    work: Callable[[Services], Awaitable[T]],
    *,
    migrate: bool = True,
    init: bool = False,
) -> T:
    """Build the services on the local database, run ``work``, close; a pushgate error
    ends with its message."""
    # Imported when a command runs, not when the CLI loads: the services bring the storage,
    # queue and provider code, which ``--help`` and input refused early never need.
    from pushgate.wiring import build_services

    settings = local_settings(config, init)

    async def main() -> T:
        services = await build_services(settings, run_migrations=migrate)
        try:
            return await work(services)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except PushgateError as exc:
        say_error(exc.message, exc.code)
        raise typer.Exit(1) from exc


def checked(model: type[BaseModel], **values: object) -> dict[str, object]:
    """``values`` as a request body, once the API's own model accepts them here (so bad
    input ends with exit 2 before anything is sent; the server checks again)."""
    parse_input(model, **values)
    return values
