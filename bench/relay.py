"""Relay throughput and added latency: origin → relay → sink against origin → sink, in one run.

The origin side is pushgate's own send path minus the database: the provider client a
worker calls with a batch. Direct, that is the webhook client (``providers/webhook.py``)
posting each delivery to a sink; relayed, it is the relay client (``providers/relay.py``)
posting the batch to a real ``pushgate serve`` acting as relay, whose webhook client posts
each message to the same sink. The sink is a minimal HTTP/1.1 server in its own process
answering ``200`` with keep-alive. So the ratio is what the extra hop costs a worker:
request, the relay's checks (key, origin, quota, claiming ids in its database, counts) and
its answer.

Throughput: ``--count`` deliveries in batches of ``--batch``, ``--in-flight`` batches at
once (as a worker's concurrency does), direct and relayed interleaved ``--repeat`` times,
the median of each. Latency: ``--latency-sends`` single-delivery batches one after another,
p50 and p90 of each, and the added p50.

    .venv/bin/python bench/relay.py [--count 5000] [--batch 500] [--in-flight 4]
        [--repeat 3] [--latency-sends 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402

from pushgate.config import Settings  # noqa: E402
from pushgate.core.access import Caller  # noqa: E402
from pushgate.core.identity import PayloadIdentity  # noqa: E402
from pushgate.core.inputs import KeyInput  # noqa: E402
from pushgate.core.messages import Message  # noqa: E402
from pushgate.core.models import ApiKey, Scope  # noqa: E402
from pushgate.core.notifications import DeviceAddress  # noqa: E402
from pushgate.providers.base import Delivery, Provider, ProviderCredentials  # noqa: E402
from pushgate.providers.options import ProviderOptions  # noqa: E402
from pushgate.providers.relay import RelayPool, RelayProvider  # noqa: E402
from pushgate.providers.webhook import WebhookProvider  # noqa: E402
from pushgate.wiring import build_services  # noqa: E402

SINK_ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n"
ORIGIN_ID = "bench-origin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def sink(port: int) -> None:
    """Answer every request 200, reading each one's headers and body."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                writer.write(SINK_ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


async def admin_key(data_dir: Path) -> str:
    services = await build_services(Settings(data_dir=data_dir))
    try:
        operator = Caller(
            ApiKey("bench", None, "bench", "bench", "", frozenset({Scope.ADMIN}), 0), "bench"
        )
        body = KeyInput(name="bench", scopes=[Scope.ADMIN], instance_wide=True)
        return (await services.access.create_key(operator, body)).plaintext
    finally:
        await services.close()


def start_relay(folder: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHGATE_")}
    env.update(
        PUSHGATE_DATA_DIR=str(folder / "relay"),
        PUSHGATE_BIND=f"127.0.0.1:{port}",
        PUSHGATE_ALLOW_PRIVATE_TARGETS="true",
        PUSHGATE_LOG_LEVEL="warning",
        XDG_CONFIG_HOME=str(folder / "config"),
    )
    log = (folder / "relay.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "pushgate", "serve", "--init", "--no-worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return base, process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the relay did not start; see {folder / 'relay.log'}")


def set_up_relay(base: str, key: str, sink_url: str) -> str:
    """The vendor app with webhook credentials at the sink, and a bench origin; its key."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
        for method, path, body in (
            ("POST", "/v1/apps", {"name": "vendor"}),
            ("PATCH", "/v1/apps/vendor", {"relay": True}),
            ("PUT", "/v1/apps/vendor/credentials/webhook", {"url": sink_url}),
            (
                "POST",
                "/v1/relay/origins",
                {"instance_id": ORIGIN_ID, "instance_name": "http://origin", "apps": ["vendor"]},
            ),
        ):
            answer = client.request(method, path, json=body)
            answer.raise_for_status()
        made = client.post(f"/v1/relay/origins/{ORIGIN_ID}/keys", json={})
        made.raise_for_status()
        relay_key: str = made.json()["key"]
        return relay_key


def deliveries(count: int, run: str) -> list[Delivery]:
    now = int(time.time() * 1000)
    message = Message(title="Bench", body="A notification of ordinary size", data={"n": 1})
    made = []
    for index in range(count):
        delivery_id = f"{run}-{index:08d}"
        identity = PayloadIdentity(
            ORIGIN_ID, "http://origin", "crm", f"{run}-n", delivery_id, "itoken"
        )
        device = DeviceAddress(f"d{index}", f"device-{index}", None, None, None)
        made.append(Delivery(delivery_id, device, message, now + 3_600_000, now, False, identity))
    return made


async def throughput(provider: Provider, count: int, batch: int, in_flight: int, run: str) -> float:
    items = deliveries(count, run)
    batches = [items[i : i + batch] for i in range(0, len(items), batch)]
    gate = asyncio.Semaphore(in_flight)
    sent = 0

    async def one(part: list[Delivery]) -> None:
        nonlocal sent
        async with gate:
            outcomes = await provider.send(part)
            sent += sum(1 for outcome in outcomes if outcome.kind.value == "sent")

    started = time.perf_counter()
    await asyncio.gather(*(one(part) for part in batches))
    elapsed = time.perf_counter() - started
    if sent != count:
        raise SystemExit(f"{run}: only {sent} of {count} sent")
    return count / elapsed


async def latencies(provider: Provider, sends: int, run: str) -> list[float]:
    items = deliveries(sends, run)
    took = []
    for item in items:
        started = time.perf_counter()
        [outcome] = await provider.send([item])
        took.append((time.perf_counter() - started) * 1000)
        if outcome.kind.value != "sent":
            raise SystemExit(f"{run}: {outcome}")
    return took


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def request_floor(base: str, key: str, sends: int) -> list[float]:
    """An authenticated read of the relay (``GET /v1/apps/vendor``) one after another: what
    any request to that pushgate costs on this machine now, the floor under the hop."""
    took = []
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as client:
        for _ in range(sends):
            started = time.perf_counter()
            (await client.get("/v1/apps/vendor")).raise_for_status()
            took.append((time.perf_counter() - started) * 1000)
    return took


async def measure(
    args: argparse.Namespace, relay_base: str, admin: str, relay_key: str, sink_url: str
) -> None:
    options = ProviderOptions(allow_private_targets=True)
    public: dict[str, Any] = {"url": sink_url, "timeout_seconds": 15, "answer_mode": "plain"}
    direct = WebhookProvider(ProviderCredentials("a", "webhook", public, {}), options)
    relay_credentials = ProviderCredentials(
        "a", "relay", {"url": relay_base, "app": "vendor"}, {"key": relay_key}
    )
    relayed = RelayProvider(RelayPool(relay_credentials, options), "webhook", owns_pool=True)
    providers: dict[str, Provider] = {"direct": direct, "relayed": relayed}
    try:
        for name, provider in providers.items():  # warm up connections and caches
            await throughput(provider, args.batch, args.batch, 1, f"warm-{name}")
        rates: dict[str, list[float]] = {name: [] for name in providers}
        for repeat in range(args.repeat):
            for name, provider in providers.items():
                run = f"{name}-{repeat}"
                rates[name].append(
                    await throughput(provider, args.count, args.batch, args.in_flight, run)
                )
        waits = {
            name: await latencies(provider, args.latency_sends, f"lat-{name}")
            for name, provider in providers.items()
        }
        waits["floor: GET /v1/apps/vendor at the relay"] = await request_floor(
            relay_base, admin, args.latency_sends
        )
    finally:
        for provider in providers.values():
            await provider.close()
    direct_rate = statistics.median(rates["direct"])
    relayed_rate = statistics.median(rates["relayed"])
    shape = f"{args.count} deliveries in batches of {args.batch}, {args.in_flight} in flight"
    print(f"throughput, {shape}")
    print("| path | runs (deliveries/s) | median |")
    print("|---|---|---:|")
    for name in providers:
        runs = ", ".join(f"{rate:,.0f}" for rate in rates[name])
        print(f"| {name} | {runs} | {statistics.median(rates[name]):,.0f} |")
    print(f"relayed / direct: {relayed_rate / direct_rate:.2f}")
    print()
    print(f"latency of a one-delivery batch, {args.latency_sends} sends one after another (ms)")
    print("| path | p50 | p90 |")
    print("|---|---:|---:|")
    for name, took in waits.items():
        print(f"| {name} | {percentile(took, 0.5):.2f} | {percentile(took, 0.9):.2f} |")
    added = percentile(waits["relayed"], 0.5) - percentile(waits["direct"], 0.5)
    print(f"added p50: {added:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-sends", type=int, default=300)
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)  # the sink process
    args = parser.parse_args()
    if args.sink is not None:
        asyncio.run(sink(args.sink))
        return
    with tempfile.TemporaryDirectory(prefix="pushgate-bench-relay-") as scratch:
        folder = Path(scratch)
        sink_port = free_port()
        sink_process = subprocess.Popen([sys.executable, __file__, "--sink", str(sink_port)])
        relay_process = None
        try:
            key = asyncio.run(admin_key(folder / "relay"))
            relay_base, relay_process = start_relay(folder)
            sink_url = f"http://127.0.0.1:{sink_port}/hook"
            relay_key = set_up_relay(relay_base, key, sink_url)
            asyncio.run(measure(args, relay_base, key, relay_key, sink_url))
        finally:
            for process in (relay_process, sink_process):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=20)


if __name__ == "__main__":
    main()
