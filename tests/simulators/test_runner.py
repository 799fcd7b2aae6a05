"""``pushgate simulate`` as a real process, and the in-process runner behind it."""

from __future__ import annotations

import asyncio
import signal
import socket
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pushgate.simulators.runner import (
    DEFAULT_PORTS,
    SimulatorUnavailable,
    find_simulator_class,
    select_ports,
    start_one,
    start_simulators,
)
from pushgate.simulators.server import start
from pushgate.simulators.webhook import WebhookSimulator

LAUNCH = (
    "import typer; from pushgate.simulators.cli import simulate_command; "
    "typer.run(simulate_command)"
)
READY = "simulators running"


def is_available(name: str) -> bool:
    try:
        find_simulator_class(name)
    except SimulatorUnavailable:
        return False
    return True


async def read_until_ready(process: asyncio.subprocess.Process) -> dict[str, str]:
    """The ``name url`` lines the command prints before it reports it is running."""
    assert process.stdout is not None
    printed: dict[str, str] = {}
    async with asyncio.timeout(30):
        while True:
            line = (await process.stdout.readline()).decode()
            if not line:
                raise AssertionError("the simulate command exited before it was ready")
            if line.startswith(READY):
                return printed
            name, value = line.split()
            printed[name] = value


async def start_simulate(tmp_path: Path, *extra: str) -> asyncio.subprocess.Process:
    names = ["webpush", "wns", "hms", "webhook", *(n for n in ("apns", "fcm") if is_available(n))]
    args = [arg for name in names for arg in (f"--{name}", "0")]
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LAUNCH,
        *args,
        "--tls-dir",
        str(tmp_path / "tls"),
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.fixture
async def simulate_process(tmp_path: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await start_simulate(tmp_path)
    yield process
    if process.returncode is None:
        process.kill()
        await process.wait()


async def test_simulate_command_serves_the_printed_urls_until_interrupted(
    simulate_process: asyncio.subprocess.Process,
) -> None:
    """Every simulator over TLS by default, trusted through the printed CA file."""
    printed = await read_until_ready(simulate_process)
    names = set(printed) - {"ca"}
    assert {"webpush", "wns", "hms", "webhook"} <= names
    trust = ssl.create_default_context(cafile=printed["ca"])
    async with httpx.AsyncClient(verify=trust, timeout=10) as http:
        for name in names:
            assert printed[name].startswith("https://127.0.0.1:"), name
            answer = await http.get(f"{printed[name]}/_sim/{name}/counters")
            assert answer.status_code == 200, name
        subscription = await http.post(f"{printed['webpush']}/_sim/webpush/subscriptions")
        assert subscription.json()["endpoint"].startswith(printed["webpush"] + "/wp/")
    simulate_process.send_signal(signal.SIGINT)
    async with asyncio.timeout(15):
        assert await simulate_process.wait() == 0
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(verify=trust, timeout=5) as http:
            await http.get(f"{printed['wns']}/_sim/wns/counters")


async def test_plain_http_is_an_option_but_not_for_apns(tmp_path: Path) -> None:
    process = await start_simulate(tmp_path, "--plain-http")
    try:
        printed = await read_until_ready(process)
        async with httpx.AsyncClient(timeout=10) as http:
            for name in {"webpush", "wns", "hms", "webhook", "fcm"} & set(printed):
                assert printed[name].startswith("http://127.0.0.1:"), name
                assert (await http.get(f"{printed[name]}/_sim/{name}/counters")).status_code == 200
        if "apns" in printed:  # APNs speaks only HTTP/2 over TLS (docs/providers.md §1.1)
            assert printed["apns"].startswith("https://127.0.0.1:")
    finally:
        process.kill()
        await process.wait()


async def test_simulate_command_fails_cleanly_when_a_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            LAUNCH,
            "--webhook",
            "0",
            "--wns",
            str(port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(30):
            stdout, stderr = await process.communicate()
    assert process.returncode == 1
    assert b"error:" in stderr
    assert READY.encode() not in stdout


def test_ports_default_to_all_six_and_narrow_to_the_named() -> None:
    assert select_ports({}) == DEFAULT_PORTS
    assert set(DEFAULT_PORTS) == {"apns", "fcm", "webpush", "wns", "hms", "webhook"}
    assert len(set(DEFAULT_PORTS.values())) == 6
    assert select_ports({"wns": 9000, "hms": None}) == {"wns": 9000}
    with pytest.raises(ValueError, match="unknown"):
        select_ports({"gcm": 1})


async def test_in_process_start_gives_each_simulator_its_own_free_port(tmp_path: Path) -> None:
    group = await start_simulators(
        {"webpush": 0, "wns": 0, "hms": 0, "webhook": 0}, tls_dir=tmp_path
    )
    try:
        ports = {httpx.URL(url).port for url in group.urls.values()}
        assert len(ports) == 4
        assert group.simulator("hms").name == "hms"
        assert group.ca_path == tmp_path / "ca.pem"
        trust = ssl.create_default_context(cafile=str(group.ca_path))
        async with httpx.AsyncClient(verify=trust, timeout=10) as http:
            for name, url in group.urls.items():
                assert (await http.post(f"{url}/_sim/{name}/reset")).status_code == 200
    finally:
        await group.close()
    one = await start_one("webhook", plain_http=True)
    try:
        assert one.simulator.base_url == one.base_url
        assert one.base_url.startswith("http://")
    finally:
        await one.close()


async def test_unknown_module_is_reported_as_unavailable() -> None:
    with pytest.raises(SimulatorUnavailable):
        find_simulator_class("nosuchprovider")


async def test_closing_a_simulator_closes_the_connections_it_accepted() -> None:
    """A client that keeps its connection open must not keep the simulator's side of it
    (and its socket) alive after the simulator is closed."""
    running = await start(WebhookSimulator())
    reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
    try:
        writer.write(b"GET /_sim/webhook/counters HTTP/1.1\r\nhost: x\r\n\r\n")
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        await running.close()
        rest = await asyncio.wait_for(reader.read(), 5)  # EOF once the server's side closed
        assert b"HTTP/1.1" not in rest
        assert running.live == set()
    finally:
        writer.close()
