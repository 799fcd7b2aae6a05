"""The relay hop of this tree against another tree's, one send at a time, in one sitting.

Two relays (``pushgate serve --no-worker``, SQLite), one running this tree's code and one
the tree given as ``--other`` (a ``git archive`` of main, say), post to the same sink as
``bench/relay.py``'s. One-delivery batches go to the other relay, to this tree's and
straight to the sink in turn, so the three see the same load on a shared machine; then an
authenticated ``GET /v1/apps/vendor`` at each relay, the floor of any request to it.

    git archive main | tar -x -C /tmp/main
    .venv/bin/python bench/relay_against.py --other /tmp/main [--sends 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import relay as bench  # bench/relay.py, beside this file
from pushgate.providers.base import Provider, ProviderCredentials
from pushgate.providers.options import ProviderOptions
from pushgate.providers.relay import RelayPool, RelayProvider
from pushgate.providers.webhook import WebhookProvider

HERE = Path(__file__).resolve().parent


def _env(folder: Path, source: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHGATE_")}
    env.pop("PYTHONPATH", None)
    if source is not None:
        env["PYTHONPATH"] = str(source / "src")
    env.update(
        PUSHGATE_DATA_DIR=str(folder / "relay"),
        PUSHGATE_ALLOW_PRIVATE_TARGETS="true",
        PUSHGATE_LOG_LEVEL="warning",
        XDG_CONFIG_HOME=str(folder / "config"),
    )
    return env


def start(folder: Path, source: Path | None) -> tuple[str, str, subprocess.Popen[bytes]]:
    """A relay of ``source``'s code (None: this tree's); its URL and an admin key."""
    bench_dir = (source or HERE.parent) / "bench"
    make_key = (
        f"import asyncio, pathlib, sys; sys.path.insert(0, {str(bench_dir)!r}); import relay; "
        f"print(asyncio.run(relay.admin_key(pathlib.Path({str(folder / 'relay')!r}))))"
    )
    env = _env(folder, source)
    made = subprocess.run(
        [sys.executable, "-c", make_key], env=env, capture_output=True, text=True, check=True
    )
    key = made.stdout.strip().splitlines()[-1]
    port = bench.free_port()
    env["PUSHGATE_BIND"] = f"127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "pushgate", "serve", "--init", "--no-worker"],
        env=env,
        stdout=(folder / "relay.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if bench.httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return base, key, process
        except bench.httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the relay did not start; see {folder / 'relay.log'}")


async def measure(relays: dict[str, tuple[str, str, str]], sink_url: str, sends: int) -> None:
    options = ProviderOptions(allow_private_targets=True)
    providers: dict[str, Provider] = {}
    for name, (base, _admin, relay_key) in relays.items():
        credentials = ProviderCredentials(
            "a", "relay", {"url": base, "app": "vendor"}, {"key": relay_key}
        )
        providers[name] = RelayProvider(RelayPool(credentials, options), "webhook", owns_pool=True)
    public = {"url": sink_url, "timeout_seconds": 15, "answer_mode": "plain"}
    providers["direct"] = WebhookProvider(ProviderCredentials("a", "webhook", public, {}), options)
    took: dict[str, list[float]] = {name: [] for name in providers}
    try:
        for name, provider in providers.items():  # warm up connections and caches
            await bench.latencies(provider, 30, f"warm-{name}")
        items = {name: bench.deliveries(sends, f"against-{name}") for name in providers}
        for index in range(sends):
            for name, provider in providers.items():
                started = time.perf_counter()
                [outcome] = await provider.send([items[name][index]])
                took[name].append((time.perf_counter() - started) * 1000)
                if outcome.kind.value != "sent":
                    raise SystemExit(f"{name}: {outcome}")
        for name, (base, admin, _key) in relays.items():
            took[f"floor, {name}: GET /v1/apps/vendor"] = await bench.request_floor(
                base, admin, sends
            )
    finally:
        for provider in providers.values():
            await provider.close()
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"one-delivery batches in turn, {sends} each (ms); load average at the end {load}")
    print("| path | p50 | p90 |")
    print("|---|---:|---:|")
    for name, values in took.items():
        p50, p90 = bench.percentile(values, 0.5), bench.percentile(values, 0.9)
        print(f"| {name} | {p50:.2f} | {p90:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--other", type=Path, required=True, help="the other tree's root")
    parser.add_argument("--sends", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pushgate-bench-relay-against-") as scratch:
        folder = Path(scratch)
        sink_port = bench.free_port()
        sink = subprocess.Popen([sys.executable, bench.__file__, "--sink", str(sink_port)])
        processes: list[subprocess.Popen[bytes]] = []
        try:
            sink_url = f"http://127.0.0.1:{sink_port}/hook"
            relays: dict[str, tuple[str, str, str]] = {}
            for name, source in (("other", args.other.resolve()), ("this tree", None)):
                (folder / name).mkdir()
                base, admin, process = start(folder / name, source)
                processes.append(process)
                relays[name] = (base, admin, bench.set_up_relay(base, admin, sink_url))
            asyncio.run(measure(relays, sink_url, args.sends))
        finally:
            for process in [*processes, sink]:
                process.terminate()
                process.wait(timeout=20)


if __name__ == "__main__":
    main()
