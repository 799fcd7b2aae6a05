"""``pushgate serve`` and ``pushgate migrate``."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pushgate.cli.runtime import (
    ConfigOption,
    InitOption,
    console,
    err_console,
    local_settings,
    run_with_services,
    settle_heap,
)
from pushgate.errors import PushgateError

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

    from pushgate.config import Settings
    from pushgate.core.access import CreatedKey
    from pushgate.wiring import Services


def _announce(settings: Settings, bootstrap: CreatedKey | None) -> None:
    base = f"http://{settings.bind}"
    if bootstrap is not None:
        console.print(
            "[bold yellow]First start: this instance-wide admin API key is shown once; "
            "store it now:[/bold yellow]"
        )
        console.print(f"  [bold]{bootstrap.plaintext}[/bold]", soft_wrap=True)
        _save_profile(settings, bootstrap.plaintext)
    console.print(f"pushgate listening on {base}")
    console.print(f"  console:   {base}/console")
    console.print(f"  API docs:  {base}/docs")
    console.print(f"  OpenAPI:   {base}/openapi.json")
    console.print(f"  database:  {settings.effective_database_url.split('@')[-1]}")


def _save_profile(settings: Settings, key: str) -> None:
    """Give the command line on this machine the first admin key (docs/cli.md)."""
    from pushgate.cli.profile import LOCAL, save_local_profile

    try:
        where = save_local_profile(settings, key)
    except (OSError, PushgateError) as exc:
        err_console.print(f"could not save the CLI profile {LOCAL!r}: {exc}", soft_wrap=True)
        return
    console.print(
        f"  saved as the CLI profile {LOCAL!r} in {where}: `pushgate` commands on this "
        "machine talk to this server with it",
        soft_wrap=True,
    )


def server_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """uvicorn's configuration, with the bounds on client connections of
    docs/reliability.md (``api/connections.py``; bodies are bounded in the app)."""
    import uvicorn

    from pushgate.api.connections import ConnectionLimits, guarded_protocol

    limits = ConnectionLimits(
        header_seconds=settings.header_timeout_seconds,
        max_header_bytes=settings.max_header_bytes,
        max_connections=settings.max_connections,
    )
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=guarded_protocol(limits),
        timeout_keep_alive=settings.keep_alive_seconds,
        log_level=settings.log_level,
        # The app writes the access log itself (api/access_log.py: request id, route,
        # latency), and uvicorn's own loggers pass their records to the root logger, so
        # they share its format (pushgate/logs.py).
        access_log=False,
        log_config=None,
        server_header=False,
    )


async def _serve(settings: Settings, with_worker: bool) -> None:
    import uvicorn

    from pushgate.api.app import create_app
    from pushgate.wiring import build_services, build_worker

    services = await build_services(settings)
    stop = asyncio.Event()
    handle = build_worker(services) if with_worker else None
    worker = asyncio.create_task(handle.worker.run(stop)) if handle else None
    # Without a worker here, the queue's upkeep (the outbox relay, docs/architecture.md §9)
    # still runs in this process: what it accepted while Redis was down goes out from here.
    upkeep = None if handle else asyncio.create_task(services.queue.keep(stop))
    try:
        _announce(settings, await services.access.bootstrap_admin_key())
        if handle is None:
            console.print("  worker:    off (run `pushgate worker` beside this server)")
        app = create_app(services)
        settle_heap()
        await uvicorn.Server(server_config(app, settings)).serve()
    finally:
        stop.set()
        if worker is not None:
            await worker
        if upkeep is not None:
            await upkeep
        if handle is not None:
            await handle.close()
        await services.close()


def _run(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def serve(
    config: ConfigOption = None,
    worker: Annotated[
        bool, typer.Option(help="Also run a delivery worker in this process (embedded mode).")
    ] = True,
    init: InitOption = False,
) -> None:
    """Migrate the database and run the API server (and, by default, a worker).

    On the very first start of an instance an admin key is printed once and saved as the
    CLI profile 'local'."""
    _run(_serve(local_settings(config, init, server=True), worker))


async def _work(settings: Settings, metrics_port: int | None) -> None:
    from prometheus_client import start_http_server

    from pushgate.wiring import build_services, build_worker

    services = await build_services(settings)
    if metrics_port is not None:
        # A worker serves no API, so its metrics get a small endpoint of their own.
        start_http_server(metrics_port, addr=settings.host, registry=services.metrics.registry)
        console.print(f"  metrics:   http://{settings.host}:{metrics_port}/metrics")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    handle = build_worker(services)
    settle_heap()
    console.print(f"pushgate worker running (queue: {settings.queue_url.split('@')[-1]})")
    try:
        await handle.worker.run(stop)
    finally:
        await handle.close()
        await services.close()


def worker(
    config: ConfigOption = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve this worker's Prometheus metrics on this port (bind host)."),
    ] = None,
    init: InitOption = False,
) -> None:
    """Run a delivery worker only (scale mode: any number beside `serve --no-worker`)."""
    _run(_work(local_settings(config, init, server=True), metrics_port))


def migrate(config: ConfigOption = None, init: InitOption = False) -> None:
    """Apply database migrations and exit."""
    from pushgate.storage import migrate as migrations

    async def work(services: Services) -> str | None:
        return await migrations.current_revision(services.engine)

    revision = run_with_services(config, work, init=init)
    console.print(f"database at revision {revision}")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(worker)
    app.command()(migrate)
