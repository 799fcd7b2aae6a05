"""Registration benchmark: devices registered per second through the API and bulk import.

    .venv/bin/python bench/registration.py [--count N] [--import-count N] [--postgres]

The API server runs in its own process pinned to core 0; the load generator runs on core 1
with 64 keep-alive connections. Bulk import runs in this process. Each line prints the rate
and the peak RSS of the process that did the work. Numbers are for this machine and
run; compare runs made in the same sitting.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import os
import re
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import build_request, run_load

PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def fresh_postgres() -> str:
    import asyncpg

    name = f"pushgate_bench_{secrets.token_hex(3)}"

    async def create() -> None:
        connection = await asyncpg.connect(host="127.0.0.1", user="postgres", database="test")
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()

    asyncio.run(create())
    return PG_ADMIN + name


def start_server(
    data_dir: Path, database_url: str | None
) -> tuple[subprocess.Popen[str], str, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHGATE_")}
    env.update(
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


def bench_api(count: int, database_url: str | None, label: str) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="pushgate-bench-"))
    process, base, key = start_server(data_dir, database_url)
    try:
        auth = {"Authorization": f"Bearer {key}"}
        httpx.post(f"{base}/v1/apps", json={"name": "bench"}, headers=auth).raise_for_status()
        headers = {**auth, "Content-Type": "application/json"}
        host = base.removeprefix("http://")

        def make(number: int) -> bytes:
            body = orjson.dumps(
                {
                    "provider": "apns",
                    "token": f"{number:064x}",
                    "user": f"user-{number % 5000}",
                    "locale": "de-DE",
                    "topics": ["news"],
                }
            )
            return build_request(host, "POST", "/v1/apps/bench/devices", body, headers)

        os.sched_setaffinity(0, {1})
        port = int(host.rsplit(":", 1)[1])
        warm = asyncio.run(run_load("127.0.0.1", port, 500, 16, lambda n: make(10**9 + n)))
        assert set(warm.statuses) == {201}, warm.statuses
        result = asyncio.run(run_load("127.0.0.1", port, count, 64, make))
        ok = result.statuses[201] + result.statuses[200]
        print(
            f"api/{label}: {count} registrations in {result.seconds:.2f}s = "
            f"{result.rate:,.0f}/s ({ok} ok, statuses {dict(result.statuses)}); "
            f"server peak RSS {peak_rss_mb(process.pid):.0f} MB"
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


def bench_import(count: int, database_url: str | None, label: str) -> None:
    from pushgate.cli.runtime import OPERATOR
    from pushgate.config import Settings
    from pushgate.core.device_import import DeviceImporter, read_rows
    from pushgate.core.inputs import AppInput
    from pushgate.wiring import build_services

    data_dir = Path(tempfile.mkdtemp(prefix="pushgate-bench-"))
    source = data_dir / "devices.csv"
    write_csv(source, count)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    settings = Settings(data_dir=data_dir, database_url=database_url, secret_key=key)

    async def run() -> tuple[float, int, int]:
        services = await build_services(settings)
        try:
            tenant = await services.access.ensure_default_tenant()
            app = await services.registry.create_app(OPERATOR, tenant, AppInput(name="bench"))
            importer = DeviceImporter(services.registry, services.people, tenant, app)
            started = time.perf_counter()
            report = await importer.run(read_rows(source))
            return time.perf_counter() - started, report.accepted, report.rejected
        finally:
            await services.close()

    os.sched_setaffinity(0, {1})
    seconds, accepted, rejected = asyncio.run(run())
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"import/{label}: {accepted} devices ({rejected} rejected) in {seconds:.2f}s = "
        f"{accepted / seconds:,.0f}/s; peak RSS of this process {rss:.0f} MB"
    )
    shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--import-count", type=int, default=200_000)
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--only", choices=["api", "import"], default=None)
    args = parser.parse_args()
    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    if args.postgres:
        backends.append(("postgres", None))
    for label, _ in backends:
        url = fresh_postgres() if label == "postgres" else None
        if args.only in (None, "api"):
            bench_api(args.count, url, label)
        url = fresh_postgres() if label == "postgres" else None
        if args.only in (None, "import"):
            bench_import(args.import_count, url, label)


if __name__ == "__main__":
    main()
