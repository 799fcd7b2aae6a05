"""``pushgate simulate``: run provider simulators on 127.0.0.1 until stopped.

:func:`simulate_command` is a Typer command; the main CLI registers it as ``simulate``.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

PortOption = Annotated[
    int | None, typer.Option(min=0, max=65535, help="Start this simulator on PORT (0 = free).")
]


def simulate_command(
    apns: PortOption = None,
    fcm: PortOption = None,
    webpush: PortOption = None,
    wns: PortOption = None,
    hms: PortOption = None,
    webhook: PortOption = None,
    tls_dir: Annotated[
        Path | None,
        typer.Option(help="Where the simulators' CA and server certificate are kept."),
    ] = None,
    plain_http: Annotated[
        bool,
        typer.Option(
            "--plain-http", help="Serve all but APNs over plain HTTP (h2c) instead of TLS."
        ),
    ] = False,
    pushgate_ca: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Trust this CA (beside the system store) for pushgate's https response URLs "
            "when a simulated device answers a push (/_sim/<name>/respond).",
        ),
    ] = None,
) -> None:
    """Run provider simulators (all on their default ports, or only the named ones)."""
    # The simulators load when this command runs; the CLI imports it only to list it.
    from pushgate.simulators.runner import SimulatorUnavailable, select_ports

    requested = {
        "apns": apns,
        "fcm": fcm,
        "webpush": webpush,
        "wns": wns,
        "hms": hms,
        "webhook": webhook,
    }
    ports = select_ports(requested)
    if all(port is None for port in requested.values()):
        ports = {name: port for name, port in ports.items() if _is_available(name)}
    try:
        asyncio.run(_serve(ports, tls_dir, plain_http, pushgate_ca))
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were installed
        return
    except SimulatorUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except OSError as exc:  # most often: a port is already taken
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def _is_available(name: str) -> bool:
    from pushgate.simulators.runner import SimulatorUnavailable, find_simulator_class

    try:
        find_simulator_class(name)
    except SimulatorUnavailable as exc:
        typer.echo(f"skipping {name}: {exc}", err=True)
        return False
    return True


async def _serve(
    ports: dict[str, int], tls_dir: Path | None, plain_http: bool, pushgate_ca: Path | None
) -> None:
    from pushgate.simulators.runner import start_simulators

    group = await start_simulators(ports, tls_dir=tls_dir, plain_http=plain_http)
    for server in group.servers.values():
        server.simulator.responder.trust(pushgate_ca)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        for name, url in group.urls.items():
            typer.echo(f"{name:<8} {url}")
        if group.ca_path is not None:
            typer.echo(f"{'ca':<8} {group.ca_path}")
        typer.echo("simulators running; press Ctrl-C to stop")
        await stop.wait()
    finally:
        await group.close()
