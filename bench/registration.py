"""Registration benchmark: devices registered per second through the API and bulk import.

    .venv/bin/python bench/registration.py [--count N] [--import-count N] [--postgres]
        [--only api|import] [--repeat N] [--baseline-src DIR]

The API server runs in its own process pinned to core 0; the load generator runs on core 1
with 64 keep-alive connections. Bulk import runs in a child process pinned to core 1. Each
line prints the rate, the CPU time per registration of the process that did the work (and
of the PostgreSQL backends serving it), and its peak RSS.

``--baseline-src`` names another pushgate source tree (a directory holding the ``pushgate``
package, e.g. ``src`` of an earlier commit exported with ``git archive``); it is measured in
the same sitting, interleaved with this tree, and the ratios are printed. Numbers are for
this machine and run: compare within one run, and prefer the CPU figures on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import gc
import json
import os
import re
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import build_request, run_load

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/"
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    rate: float
    cpu_us: float  # CPU of the working process per registration
    db_cpu_us: float  # CPU of the PostgreSQL backends per registration (0 on SQLite)
    rss_mb: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def cpu_seconds(pid: int) -> float:
    """user + system CPU of one process, from /proc (the process may be a child)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


class BackendWatch:
    """CPU seconds of the PostgreSQL backends serving one database, by process id."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.seen: dict[int, bool] = {}  # pid → serves the database (titles are read once)

    def read(self) -> dict[int, float]:
        found: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            if pid not in self.seen:
                try:
                    title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                self.seen[pid] = title.startswith("postgres: ") and f" {self.database} " in title
            if self.seen[pid]:
                found[pid] = cpu_seconds(pid)
        return found


@contextmanager
def database_cpu(database: str | None) -> Iterator[list[float]]:
    """Measures the CPU the database's backends spend inside the block (into the list).

    Backends come and go with the connection pool's overflow, so they are sampled every
    50 ms and one that exited counts with its last reading.
    """
    spent: list[float] = []
    if database is None:
        yield spent
        spent.append(0.0)
        return
    watch = BackendWatch(database)
    before = watch.read()
    latest = dict(before)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            latest.update(watch.read())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield spent
    finally:
        done.set()
        sampler.join()
        latest.update(watch.read())
        spent.append(sum(cpu - before.get(pid, 0.0) for pid, cpu in latest.items()))


def fresh_postgres() -> str:
    import asyncpg

    name = f"pushgate_bench_{secrets.token_hex(3)}"

    async def create() -> None:
        connection = await asyncpg.connect(host="127.0.0.1", user="postgres", database="test")
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()

    asyncio.run(create())
    return PG_ADMIN + name


def drop_postgres(url: str) -> None:
    import asyncpg

    async def drop() -> None:
        connection = await asyncpg.connect(host="127.0.0.1", user="postgres", database="test")
        await connection.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')
        await connection.close()

    asyncio.run(drop())


def database_name(url: str | None) -> str | None:
    return url.rsplit("/", 1)[1] if url else None


def child_env(source: Path | None, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHGATE_")}
    env.update(settings)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


def start_server(
    data_dir: Path, database_url: str | None, source: Path | None
) -> tuple[subprocess.Popen[str], str, str]:
    port = free_port()
    env = child_env(
        source,
        PUSHGATE_DATA_DIR=str(data_dir),
        PUSHGATE_BIND=f"127.0.0.1:{port}",
        PUSHGATE_LOG_LEVEL="warning",
    )
    if database_url:
        env["PUSHGATE_DATABASE_URL"] = database_url
    process = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, "-m", "pushgate", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    key = ""
    for line in process.stdout:
        found = re.search(r"pgk_[0-9a-f]{12}_[A-Za-z0-9_-]+", line)
        if found:
            key = found.group(0)
        if "listening on" in line:
            break
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    return process, base, key


def registration_body(number: int) -> bytes:
    return orjson.dumps(
        {
            "provider": "apns",
            "token": f"{number:064x}",
            "user": f"user-{number % 5000}",
            "locale": "de-DE",
            "topics": ["news"],
        }
    )


def bench_api(count: int, database_url: str | None, source: Path | None) -> Sample:
    data_dir = Path(tempfile.mkdtemp(prefix="pushgate-bench-"))
    process, base, key = start_server(data_dir, database_url, source)
    try:
        auth = {"Authorization": f"Bearer {key}"}
        httpx.post(f"{base}/v1/apps", json={"name": "bench"}, headers=auth).raise_for_status()
        headers = {**auth, "Content-Type": "application/json"}
        host = base.removeprefix("http://")

        def make(number: int) -> bytes:
            body = registration_body(number)
            return build_request(host, "POST", "/v1/apps/bench/devices", body, headers)

        os.sched_setaffinity(0, {1})
        port = int(host.rsplit(":", 1)[1])
        warm = asyncio.run(run_load("127.0.0.1", port, 500, 16, lambda n: make(10**9 + n)))
        assert set(warm.statuses) == {201}, warm.statuses
        started = cpu_seconds(process.pid)
        with database_cpu(database_name(database_url)) as database_spent:
            result = asyncio.run(run_load("127.0.0.1", port, count, 64, make))
        spent = cpu_seconds(process.pid) - started
        assert set(result.statuses) == {201}, result.statuses
        return Sample(
            result.rate,
            spent / count * 1e6,
            database_spent[0] / count * 1e6,
            peak_rss_mb(process.pid),
        )
    finally:
        process.terminate()
        process.wait(timeout=15)
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        shutil.rmtree(data_dir, ignore_errors=True)


def write_csv(path: Path, count: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["provider", "token", "user", "locale", "topics"])
        for number in range(count):
            writer.writerow(["apns", f"{number:064x}", f"user-{number % 5000}", "de-DE", "news"])


def import_child(source: Path, database_url: str | None) -> None:
    """Runs in the child: import ``source`` into a fresh data directory, print JSON."""
    from pushgate.cli.runtime import OPERATOR
    from pushgate.config import Settings
    from pushgate.core.device_import import DeviceImporter, read_rows
    from pushgate.core.inputs import AppInput
    from pushgate.wiring import build_services

    try:
        from pushgate.cli.runtime import settle_heap
    except ImportError:  # a baseline tree from before it existed
        settle_heap = gc.freeze

    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    settings = Settings(data_dir=source.parent, database_url=database_url, secret_key=key)

    async def run() -> dict[str, float]:
        services = await build_services(settings)
        try:
            tenant = await services.access.ensure_default_tenant()
            app = await services.registry.create_app(OPERATOR, tenant, AppInput(name="bench"))
            importer = DeviceImporter(services.registry, services.people, tenant, app)
            settle_heap()  # as `pushgate devices import` does
            # The backends are measured from here: they close with the engine.
            with database_cpu(database_name(database_url)) as database_spent:
                cpu, started = time.process_time(), time.perf_counter()
                report = await importer.run(read_rows(source))
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            return {
                "seconds": seconds,
                "cpu": cpu,
                "db_cpu": database_spent[0],
                "accepted": report.accepted,
                "rejected": report.rejected,
            }
        finally:
            await services.close()

    result = asyncio.run(run())
    result["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def bench_import(count: int, database_url: str | None, source: Path | None) -> Sample:
    data_dir = Path(tempfile.mkdtemp(prefix="pushgate-bench-"))
    rows = data_dir / "devices.csv"
    write_csv(rows, count)
    command = ["taskset", "-c", "1", sys.executable, __file__, "--import-child", str(rows)]
    if database_url:
        command += ["--database-url", database_url]
    try:
        done = subprocess.run(
            command, env=child_env(source), capture_output=True, text=True, check=True
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    assert (result["accepted"], result["rejected"]) == (count, 0), result
    return Sample(
        count / result["seconds"],
        result["cpu"] / count * 1e6,
        result["db_cpu"] / count * 1e6,
        result["rss"],
    )


def median_sample(samples: list[Sample]) -> Sample:
    return Sample(
        statistics.median(s.rate for s in samples),
        statistics.median(s.cpu_us for s in samples),
        statistics.median(s.db_cpu_us for s in samples),
        max(s.rss_mb for s in samples),
    )


def describe(path: str, backend: str, tree: str, sample: Sample) -> str:
    database = f" + db {sample.db_cpu_us:,.0f}" if backend == "postgres" else ""
    return (
        f"{path}/{backend} [{tree}]: {sample.rate:,.0f}/s, "
        f"CPU {sample.cpu_us:,.0f} µs{database} per registration, peak RSS {sample.rss_mb:.0f} MB"
    )


def measure(
    path: str,
    backend: str,
    trees: dict[str, Path | None],
    repeat: int,
    run: Callable[[str | None, Path | None], Sample],
) -> None:
    samples: dict[str, list[Sample]] = {name: [] for name in trees}
    for _ in range(repeat):
        for name, source in trees.items():  # interleaved, so drifts in load hit both
            url = fresh_postgres() if backend == "postgres" else None
            try:
                sample = run(url, source)
            finally:
                if url:
                    drop_postgres(url)
            samples[name].append(sample)
            print("  " + describe(path, backend, name, sample), flush=True)
    medians = {name: median_sample(found) for name, found in samples.items()}
    for name, sample in medians.items():
        print(f"median {describe(path, backend, name, sample)}", flush=True)
    if "baseline" in medians:
        this, base = medians["this tree"], medians["baseline"]
        print(
            f"ratio {path}/{backend}: rate ×{this.rate / base.rate:.2f}, "
            f"CPU per registration ×{this.cpu_us / base.cpu_us:.2f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--import-count", type=int, default=200_000)
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    parser.add_argument(
        "--backends", default="sqlite", help="comma-separated: sqlite, postgres (default sqlite)"
    )
    parser.add_argument("--only", choices=["api", "import"], default=None)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--baseline-src", type=Path, default=None)
    parser.add_argument("--import-child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_child is not None:
        import_child(args.import_child, args.database_url)
        return
    trees: dict[str, Path | None] = {"this tree": ROOT / "src"}
    if args.baseline_src is not None:
        trees = {"baseline": args.baseline_src.resolve(), **trees}
    backends = args.backends.split(",") + (["postgres"] if args.postgres else [])
    for backend in backends:
        if args.only in (None, "api"):
            measure("api", backend, trees, args.repeat, lambda u, s: bench_api(args.count, u, s))
        if args.only in (None, "import"):
            measure(
                "import",
                backend,
                trees,
                args.repeat,
                lambda u, s: bench_import(args.import_count, u, s),
            )


if __name__ == "__main__":
    main()
