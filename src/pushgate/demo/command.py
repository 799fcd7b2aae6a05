"""``pushgate demo``: run the whole demo and print what every simulated device received."""

from __future__ import annotations

import asyncio
import logging
import signal
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    import httpx

    from pushgate.demo.provisioning import DemoDevice
    from pushgate.demo.stack import Server
    from pushgate.simulators.runner import SimulatorGroup
    from pushgate.simulators.server import RunningServer

console = Console()
err_console = Console(stderr=True)
FINAL_STATES = ("completed", "expired", "canceled")
# What the demo sends, to its app (``demo.provisioning.APP``, added when it runs).
NOTIFICATION = {
    "audience": {"everyone": True},
    "title": "Hello from pushgate",
    "body": "One notification, every provider.",
    "data": {"demo": "true"},
}


def demo_command(
    keep: Annotated[
        bool, typer.Option(help="Keep everything running afterwards; Ctrl-C stops it.")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(file_okay=False, help="Keep the demo's data here (else a temporary dir)."),
    ] = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="The server's port on 127.0.0.1 (0: free).")
    ] = 0,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for the notification to complete.")
    ] = 60,
) -> None:
    """Start the simulators and a server, send to a device of every kind, show what arrived."""
    # The demo's modules (simulators, provisioning) load when it runs: the CLI imports this
    # command to list it, and ``pushgate --help`` or any other command needs none of them.
    from pushgate.demo.stack import DemoFailed

    # The server logs to its own file; in this process only errors are worth showing.
    logging.basicConfig(level=logging.ERROR)
    try:
        if data_dir is None:
            with tempfile.TemporaryDirectory(prefix="pushgate-demo-") as temporary:
                code = asyncio.run(_main(Path(temporary), port, keep, timeout))
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            code = asyncio.run(_main(data_dir.resolve(), port, keep, timeout))
    except DemoFailed as exc:
        err_console.print(f"[red]demo failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    raise typer.Exit(code)


async def _main(data_dir: Path, port: int, keep: bool, within: float) -> int:
    """Run the demo; SIGINT or SIGTERM stops it cleanly, the server process included."""
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("the demo runs outside an asyncio task")
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    try:
        return await _run(data_dir, port, keep, within)
    except asyncio.CancelledError:
        err_console.print("stopped")
        return 130


async def _run(data_dir: Path, port: int, keep: bool, within: float) -> int:
    from pushgate.demo.desk import ChangeDesk
    from pushgate.demo.stack import (
        create_admin_key,
        server_port,
        start_all_simulators,
        start_server,
    )
    from pushgate.simulators.server import start

    chosen = server_port(port)
    simulators = await start_all_simulators(data_dir)
    # The host system's receiver, plain http on loopback like pushgate itself here.
    desk = await start(ChangeDesk(), host="127.0.0.1")
    try:
        _step(f"simulators running: {', '.join(simulators.urls)}; change desk on {desk.base_url}")
        key = await create_admin_key(data_dir)
        server = await start_server(data_dir, chosen, simulators.ca_path)
        try:
            _step(f"pushgate serve running on {server.base_url} (log: {server.log_path})")
            code = await _demonstrate(server, key, simulators, desk, within)
            if keep:
                _show_running(server, key, simulators, data_dir)
                await asyncio.Event().wait()  # until a signal cancels this task
            return code
        finally:
            await server.stop()
    finally:
        await desk.close()
        await simulators.close()


async def _demonstrate(
    server: Server, key: str, simulators: SimulatorGroup, desk: RunningServer, within: float
) -> int:
    import httpx

    from pushgate.demo.answers import AnswerLoop, show_the_loop
    from pushgate.demo.desk import ChangeDesk
    from pushgate.demo.funnel import Engagement, Reporter, funnel_of, funnel_table
    from pushgate.demo.provisioning import APP, Provisioner
    from pushgate.demo.stack import DemoFailed

    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=10) as client:
        devices = await Provisioner(client, simulators).run()
        kinds = sorted({device.provider for device in devices})
        _step(f"app {APP!r}: credentials for {', '.join(kinds)}; {len(devices)} devices")
        sent = await _call(client, "POST", "/v1/notifications", {"app": APP, **NOTIFICATION})
        _step(f"sent notification {sent['id']} to everyone ({sent['targeted']} devices)")
        final = await _wait_until_final(client, str(sent["id"]), within)
        deliveries = await _call(
            client, "GET", f"/v1/notifications/{sent['id']}/deliveries?limit=100"
        )
        counts = ", ".join(f"{n} {state}" for state, n in final["deliveries"].items() if n)
        _step(f"notification {final['state']}: {counts or 'no deliveries'}")
        code = _report(simulators, devices, deliveries["items"])
        reporter = Reporter(server.base_url, simulators)
        # Everyone's device reports the push received; the first person of each provider
        # opens it (it has no actions to tap).
        openers = {device.provider: device for device in reversed(devices)}
        hello = [Engagement(d, opened=d in openers.values()) for d in devices]
        recorded = await reporter.report(str(sent["id"]), hello)
        _step(
            f"the devices reported {recorded} interactions: {len(hello)} received, "
            f"{len(openers)} opened"
        )
        console.print("\n[bold]The loop: a device answers, a handler runs[/bold]")
        if not isinstance(desk.simulator, ChangeDesk):
            raise DemoFailed("the change desk is not running")
        loop = AnswerLoop(client, simulators, desk.simulator, _step)
        looped = await show_the_loop(loop, devices, lambda n: _wait_until_final(client, n, within))
        # The devices that answered opened the push and tapped; all of them received it.
        taps: dict[str, list[str]] = {}
        for device, tapped in loop.tapped:
            taps.setdefault(device.device_id, []).append(tapped)
        approval = [Engagement(d, taps=tuple(taps.get(d.device_id, ()))) for d in devices]
        recorded = await reporter.report(loop.notification_id, approval)
        _step(f"the devices reported {recorded} interactions with the change request")
        rows = []
        for notification in (str(sent["id"]), loop.notification_id):
            status = await _call(client, "GET", f"/v1/notifications/{notification}")
            rows.append((str(status["content"]["title"]), funnel_of(status)))
        console.print("\n[bold]The funnel: what people did with each push[/bold]")
        console.print(funnel_table(rows))
    if looped:
        err_console.print("[red]the answers did not go as expected (see above)[/red]")
    else:
        console.print("[bold green]every answer was handled, and each failure pushed back")
    return code or looped


def _report(
    simulators: SimulatorGroup, devices: list[DemoDevice], deliveries: list[dict[str, Any]]
) -> int:
    from pushgate.demo.report import collect, received_table

    reports = collect(simulators, devices, deliveries)
    console.print(received_table(reports))
    missing = [report for report in reports if not report.is_received]
    if missing:
        names = ", ".join(f"{r.device.provider} ({r.device.user})" for r in missing)
        err_console.print(f"[red]{len(missing)} devices received nothing:[/red] {names}")
        return 1
    console.print(f"[bold green]every device received the notification ({len(reports)})")
    return 0


async def _wait_until_final(
    client: httpx.AsyncClient, notification_id: str, within: float
) -> dict[str, Any]:
    from pushgate.demo.stack import DemoFailed

    deadline = time.monotonic() + within
    while True:
        status = await _call(client, "GET", f"/v1/notifications/{notification_id}")
        if status["state"] in FINAL_STATES:
            return status
        if time.monotonic() >= deadline:
            raise DemoFailed(
                f"the notification is still {status['state']} after {within:g} s: "
                f"{status['deliveries']}"
            )
        await asyncio.sleep(0.1)


async def _call(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    from pushgate.demo.stack import DemoFailed

    answer = await client.request(method, path, json=body)
    if answer.status_code >= 300:
        raise DemoFailed(f"{method} {path} answered {answer.status_code}: {answer.text}")
    found: dict[str, Any] = answer.json()
    return found


def _show_running(server: Server, key: str, simulators: SimulatorGroup, data_dir: Path) -> None:
    console.print("\n[bold]still running; press Ctrl-C to stop[/bold]")
    console.print(f"  API:        {server.base_url}  (docs: {server.base_url}/docs)")
    console.print(f"  console:    {server.base_url}/console")
    console.print(f"  admin key:  {key}", soft_wrap=True)
    for name, url in simulators.urls.items():
        console.print(f"  {name + ':':<11} {url}  (what arrived: {url}/_sim/{name}/received)")
    if simulators.ca_path is not None:
        console.print(f"  CA:         {simulators.ca_path}  (curl --cacert it, or trust it)")
    console.print(f"  data:       {data_dir}")


def _step(text: str, ok: bool = True) -> None:
    console.print(f"[green]✓[/green] {text}" if ok else f"[red]✗[/red] {text}")
