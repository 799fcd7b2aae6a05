"""End-to-end delivery benchmark: one broadcast to N APNs devices, and one-device latency.

Modes, each a fresh instance with N devices registered by ``pushgate devices import``
before the clock starts:

- embedded: ``pushgate serve`` (API + worker, SQLite, queue in the same database), pinned
  to CPU 0;
- scale: ``pushgate serve --no-worker`` + 2 ``pushgate worker`` on PostgreSQL
  (127.0.0.1:5432, scratch database) and Redis (127.0.0.1:6379, own key prefix), unpinned.

Targets: the APNs simulator (``pushgate simulate --apns 0``, pinned to CPU 1) and, when
installed, h2o answering 200 + apns-id (bench/transport.py's sink, CPU 1), because the
Python simulator bounds the rate. The clock runs from the send request to the last
receipt: the simulator's ``accepted`` counter reaching N (polled every 20 ms), or, for
the sink, which counts nothing, the notification reading ``completed`` with N sent
(polled every 250 ms). In the same run the APNs provider client alone
(bench/provider_clients.py, pinned to CPU 0, the pipeline's 2 connections and batches)
sends N messages to each target: the ceiling. Peak RSS is VmHWM of each pushgate process.
Latency: ``--latency-sends`` sequential sends to one device, from the request to the
simulator's receipt time. ``--records failures`` sends every notification keeping rows only
for deliveries that did not go out (the ``delivery_records`` setting).

    .venv/bin/python bench/e2e.py [--devices 100000] [--modes embedded,scale]
        [--targets simulator,sink] [--latency-sends 1000] [--profile FILE]
        [--records all|failures]
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds scripts, not modules: keep its files (queue.py…) from shadowing the stdlib.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "bench"))
import e2e_processes as proc  # noqa: E402

sys.path.pop(0)

BROADCAST_TIMEOUT = 900.0
LATENCY_TIMEOUT = 5.0
REDIS_URL = "redis://127.0.0.1:6379/14"


@dataclass
class Targets:
    """The URLs deliveries can go to, and the material to reach them."""

    folder: Path
    key: dict[str, str]
    simulator: str
    sink: str | None


@dataclass
class ModeResult:
    mode: str
    devices: int
    import_seconds: float
    broadcasts: dict[str, float] = field(default_factory=dict)  # target -> seconds
    cpu_us: dict[str, float] = field(default_factory=dict)  # target -> CPU µs per delivery
    rss_mb: dict[str, float] = field(default_factory=dict)  # process -> VmHWM
    latency_ms: list[float] = field(default_factory=list)


class Instance:
    """A running pushgate (API URL + admin key) and the HTTP client talking to it."""

    def __init__(self, base: str, admin_key: str, ca_file: Path) -> None:
        self.api = httpx.Client(
            base_url=base, headers={"authorization": f"Bearer {admin_key}"}, timeout=30
        )
        self.sim = httpx.Client(verify=str(ca_file), timeout=10)

    def point_at(self, targets: Targets, url: str) -> None:
        body = proc.apns_credentials(targets.key, url)
        self.api.put(f"/v1/apps/{proc.APP}/credentials/apns", json=body).raise_for_status()

    def send(self, audience: dict[str, Any], data: dict[str, str] | None = None) -> str:
        body = {"app": proc.APP, "audience": audience, "title": "Bench", "body": "x" * 60}
        if data:
            body["data"] = data
        answer = self.api.post("/v1/notifications", json=body)
        answer.raise_for_status()
        return str(answer.json()["id"])

    def status(self, notification_id: str) -> dict[str, Any]:
        answer = self.api.get(f"/v1/notifications/{notification_id}")
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result


def wait_for(condition: Any, timeout: float, every: float) -> float:
    """Poll ``condition`` until true; returns the perf_counter time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.perf_counter()
        time.sleep(every)
    raise TimeoutError(f"not done within {timeout:.0f} s")


def broadcast(instance: Instance, targets: Targets, target: str, devices: int) -> float:
    """Seconds from the send request to the last delivery of a broadcast to every device."""
    simulator = targets.simulator
    if target == "simulator":
        base = proc.simulator_accepted(instance.sim, simulator)
        started = time.perf_counter()
        notification = instance.send({"everyone": True})
        reached = wait_for(
            lambda: proc.simulator_accepted(instance.sim, simulator) >= base + devices,
            BROADCAST_TIMEOUT,
            0.02,
        )
    else:
        started = time.perf_counter()
        notification = instance.send({"everyone": True})
        reached = wait_for(
            lambda: instance.status(notification)["state"] == "completed",
            BROADCAST_TIMEOUT,
            0.25,
        )
    wait_for(lambda: instance.status(notification)["state"] == "completed", 120, 0.25)
    counts = instance.status(notification)["deliveries"]
    if counts.get("sent") != devices:
        raise RuntimeError(f"broadcast ended with {counts}, expected {devices} sent")
    return reached - started


def warm_up(instance: Instance, targets: Targets) -> None:
    """One send to one device, so connections and provider tokens exist before timing."""
    notification = instance.send({"devices": [proc.device_token(0)]})
    wait_for(lambda: instance.status(notification)["state"] == "completed", 30, 0.05)


def latency(instance: Instance, targets: Targets, sends: int) -> list[float]:
    """Milliseconds from each send request to the simulator's receipt, one at a time."""
    token = proc.device_token(1)
    simulator = targets.simulator
    started: dict[str, float] = {}
    run = uuid.uuid4().hex[:8]  # the simulator outlives a mode: tell this run's sends apart
    for index in range(sends):
        before = proc.simulator_accepted(instance.sim, simulator)
        started[f"{run}-{index}"] = time.time()
        instance.send({"devices": [token]}, {"seq": f"{run}-{index}"})
        try:
            wait_for(
                lambda b=before: proc.simulator_accepted(instance.sim, simulator) > b,
                LATENCY_TIMEOUT,
                0.0005,
            )
        except TimeoutError:
            print(f"  latency send {index}: no receipt within {LATENCY_TIMEOUT:.0f} s", flush=True)
    received = instance.sim.get(f"{simulator}/_sim/apns/received").json()["received"]
    result = [
        (item["received_at"] - started[item["body"]["seq"]]) * 1000
        for item in received
        if item["token"] == token and item["body"].get("seq") in started
    ]
    if len(result) != sends:
        print(f"  only {len(result)} of {sends} latency sends reached the simulator", flush=True)
    return result


@dataclass
class Ceiling:
    """The APNs provider alone against one target: its rate and CPU per message."""

    rate: float
    cpu_us: float


def client_alone(targets: Targets, url: str, count: int) -> Ceiling:
    """The APNs provider alone (bench/provider_clients.py) against ``url``."""
    command = [sys.executable, str(ROOT / "bench" / "provider_clients.py"), "--client", "apns"]
    command += ["--url", url, "--folder", str(targets.folder), "--connections", "2"]
    command += ["--count", str(count), "--batch", "500", "--window", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    if result.get("outcomes", {}).get("sent") != count:
        raise RuntimeError(f"client alone: {result}")
    return Ceiling(float(result["rate"]), float(result["cpu_us"]))


def mode_settings(mode: str, data_dir: Path, ca_file: Path, args: argparse.Namespace) -> dict:
    settings = {
        "PUSHGATE_DATA_DIR": str(data_dir),
        "PUSHGATE_BIND": f"127.0.0.1:{proc.free_port()}",
        "PUSHGATE_ALLOW_PRIVATE_TARGETS": "true",
        "PUSHGATE_PROVIDER_CA_FILE": str(ca_file),
        "PUSHGATE_LOG_LEVEL": "warning",
    }
    if args.concurrency:
        settings["PUSHGATE_WORKER_CONCURRENCY"] = str(args.concurrency)
    if args.batch:
        settings["PUSHGATE_SEND_BATCH_SIZE"] = str(args.batch)
    if args.records:
        settings["PUSHGATE_DELIVERY_RECORDS"] = args.records
    if mode == "scale":
        settings["PUSHGATE_DATABASE_URL"] = proc.reset_postgres()
        settings["PUSHGATE_QUEUE_URL"] = REDIS_URL
        settings["PUSHGATE_QUEUE_PREFIX"] = f"bench-e2e-{uuid.uuid4().hex[:8]}"
    return settings


def start_roles(
    processes: proc.Processes, mode: str, env: dict[str, str], log: Path
) -> dict[str, Any]:
    """The pushgate processes of ``mode``, by name."""
    if mode == "embedded":
        return {"serve": proc.start_pushgate(processes, env, ["serve"], True, log)}
    roles = {"serve": proc.start_pushgate(processes, env, ["serve", "--no-worker"], False, log)}
    for index in (1, 2):
        roles[f"worker {index}"] = proc.start_pushgate(processes, env, ["worker"], False, log)
    return roles


def profiling(path: Path | None, mode: str, first: bool, pid: int) -> Any:
    """py-spy sampling the embedded server during its first broadcast (--profile)."""
    if path is None or mode != "embedded" or not first:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200"]
    return subprocess.Popen([*command, "--output", str(path)], stdout=subprocess.DEVNULL)


def run_mode(mode: str, targets: Targets, args: argparse.Namespace) -> ModeResult:
    folder = targets.folder / mode
    folder.mkdir()
    env = proc.clean_env(**mode_settings(mode, folder, targets.folder / "ca.pem", args))
    admin_key, imported = proc.set_up_instance(
        env, folder, targets.key, targets.simulator, args.devices
    )
    result = ModeResult(mode, args.devices, imported)
    processes = proc.Processes()
    try:
        roles = start_roles(processes, mode, env, folder / "pushgate.log")
        base = f"http://{env['PUSHGATE_BIND']}"
        proc.wait_healthy(base, roles["serve"])
        instance = Instance(base, admin_key, targets.folder / "ca.pem")
        for target in args.targets:
            url = targets.simulator if target == "simulator" else targets.sink
            if url is None:
                continue
            instance.point_at(targets, url)
            warm_up(instance, targets)
            profiler = profiling(args.profile, mode, target == args.targets[0], roles["serve"].pid)
            cpu_before = sum(proc.cpu_seconds(p.pid) for p in roles.values())
            try:
                result.broadcasts[target] = broadcast(instance, targets, target, args.devices)
            finally:
                if profiler is not None:
                    profiler.send_signal(signal.SIGINT)
                    profiler.wait(timeout=60)
            cpu = sum(proc.cpu_seconds(p.pid) for p in roles.values()) - cpu_before
            result.cpu_us[target] = cpu / args.devices * 1e6
            print(
                f"  {mode} → {target}: {args.devices / result.broadcasts[target]:,.0f}/s, "
                f"{result.cpu_us[target]:.0f} µs CPU per delivery",
                flush=True,
            )
        if args.latency_sends:
            instance.point_at(targets, targets.simulator)
            warm_up(instance, targets)
            result.latency_ms = latency(instance, targets, args.latency_sends)
            print(
                f"  {mode} latency: p50 {statistics.median(result.latency_ms):.1f} ms, "
                f"p99 {percentile(result.latency_ms, 0.99):.1f} ms",
                flush=True,
            )
        result.rss_mb = {name: proc.peak_rss_mb(p.pid) for name, p in roles.items()}
    finally:
        processes.stop_all()
        if mode == "scale":
            proc.drop_postgres()
            proc.drop_redis_prefix(REDIS_URL, env["PUSHGATE_QUEUE_PREFIX"])
    return result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def print_table(results: list[ModeResult], ceilings: dict[str, Ceiling]) -> None:
    """Rates, and CPU per delivery summed over the mode's pushgate processes: on a shared
    machine the CPU figures and their ratio are steadier than the rates."""
    print(
        "\n| mode | target | devices | deliveries/s | ÷ client alone | CPU µs/delivery "
        "| client CPU ÷ pipeline CPU | peak RSS (VmHWM) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for target, ceiling in ceilings.items():
        print(
            f"| APNs client alone | {target} | — | {ceiling.rate:,.0f} | 1.00 "
            f"| {ceiling.cpu_us:.0f} | 1.00 | — |"
        )
    for r in results:
        rss = ", ".join(f"{name} {mb:.0f} MB" for name, mb in r.rss_mb.items())
        for target, seconds in r.broadcasts.items():
            rate = r.devices / seconds
            found = ceilings.get(target)
            ratio = f"{rate / found.rate:.2f}" if found else "—"
            cpu = r.cpu_us[target]
            cpu_ratio = f"{found.cpu_us / cpu:.2f}" if found else "—"
            print(
                f"| {r.mode} | {target} | {r.devices:,} | {rate:,.0f} | {ratio} | {cpu:.0f} "
                f"| {cpu_ratio} | {rss} |"
            )
    print("\n| mode | device import | latency sends | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for r in results:
        if r.latency_ms:
            print(
                f"| {r.mode} | {r.import_seconds:.1f} s | {len(r.latency_ms)} | "
                f"{statistics.median(r.latency_ms):.1f} | {percentile(r.latency_ms, 0.99):.1f} | "
                f"{max(r.latency_ms):.1f} |"
            )
        else:
            print(f"| {r.mode} | {r.import_seconds:.1f} s | — | — | — | — |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--modes", default="embedded,scale")
    parser.add_argument("--targets", default="simulator,sink")
    parser.add_argument("--latency-sends", type=int, default=1000)
    parser.add_argument("--client-count", type=int, help="ceiling messages (default: --devices)")
    parser.add_argument("--concurrency", type=int, help="PUSHGATE_WORKER_CONCURRENCY")
    parser.add_argument("--batch", type=int, help="PUSHGATE_SEND_BATCH_SIZE")
    parser.add_argument("--profile", type=Path, help="py-spy profile (collapsed stacks) here")
    parser.add_argument(
        "--records", choices=("all", "failures"), help="PUSHGATE_DELIVERY_RECORDS (default all)"
    )
    args = parser.parse_args()
    args.targets = [t for t in args.targets.split(",") if t in ("simulator", "sink")]
    with tempfile.TemporaryDirectory(prefix="pushgate-e2e-") as tmp:
        run_all(Path(tmp), args)


def run_all(folder: Path, args: argparse.Namespace) -> None:
    processes = proc.Processes()
    try:
        simulator = proc.start_simulator(processes, folder)
        key = proc.make_apns_key(folder)
        proc.register_key(simulator, key, folder / "ca.pem")
        sink = None
        if "sink" in args.targets and shutil.which("h2o"):
            sink = proc.start_h2o_sink(processes, folder)
        targets = Targets(folder, key, simulator, sink)
        ceilings = {
            "simulator": client_alone(targets, simulator, args.client_count or args.devices)
        }
        if sink is not None:
            ceilings["sink"] = client_alone(targets, sink, args.client_count or args.devices)
        results = [run_mode(mode, targets, args) for mode in args.modes.split(",")]
        print_table(results, ceilings)
    finally:
        processes.stop_all()


if __name__ == "__main__":
    main()
