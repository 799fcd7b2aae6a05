"""``pushgate serve`` and ``pushgate migrate``."""

from __future__ import annotations

import asyncio

import typer
import uvicorn

from pushgate.api.app import create_app
from pushgate.cli.runtime import (
    ConfigOption,
    configure_logging,
    console,
    run_with_services,
    settings_or_exit,
)
from pushgate.config import Settings
from pushgate.core.access import CreatedKey
from pushgate.storage import migrate as migrations
from pushgate.wiring import Services, build_services, first_start


def _announce(settings: Settings, bootstrap: CreatedKey | None) -> None:
    base = f"http://{settings.bind}"
    if bootstrap is not None:
        console.print(
            "[bold yellow]First start: this instance-wide admin API key is shown once; "
            "store it now:[/bold yellow]"
        )
        console.print(f"  [bold]{bootstrap.plaintext}[/bold]", soft_wrap=True)
    console.print(f"pushgate listening on {base}")
    console.print(f"  console:   {base}/console")
    console.print(f"  API docs:  {base}/docs")
    console.print(f"  OpenAPI:   {base}/openapi.json")
    console.print(f"  database:  {settings.effective_database_url.split('@')[-1]}")


async def _serve(settings: Settings) -> None:
    services = await build_services(settings)
    try:
        _announce(settings, await first_start(services))
        config = uvicorn.Config(
            create_app(services),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            access_log=settings.log_level == "debug",
            server_header=False,
        )
        await uvicorn.Server(config).serve()
    finally:
        await services.close()


def serve(config: ConfigOption = None) -> None:
    """Migrate the database and run the API server."""
    settings = settings_or_exit(config)
    configure_logging(settings)
    try:
        import uvloop

        uvloop.run(_serve(settings))
    except ImportError:
        asyncio.run(_serve(settings))


def migrate(config: ConfigOption = None) -> None:
    """Apply database migrations and exit."""

    async def work(services: Services) -> str | None:
        return await migrations.current_revision(services.engine)

    revision = run_with_services(config, work)
    console.print(f"database at revision {revision}")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(migrate)
