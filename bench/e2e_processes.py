"""Processes of ``bench/e2e.py``: the APNs simulator, the h2o sink, PostgreSQL and Redis
scratch space, the pushgate CLI set-up steps, and ``pushgate serve`` / ``worker``.

Every process listens on 127.0.0.1 only; whoever starts one kills it (see ``Processes``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BUNDLE_ID = "com.example.app"
APP = "bench"
SIMULATOR_CORE, PUSHGATE_CORE = "1", "0"
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_DB = "pushgate_bench_e2e"


def device_token(index: int) -> str:
    return f"{index:064x}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Processes:
    """Everything started for one run, stopped (then killed) in reverse order."""

    started: list[subprocess.Popen[Any]] = field(default_factory=list)

    def add(self, process: subprocess.Popen[Any]) -> subprocess.Popen[Any]:
        self.started.append(process)
        return process

    def stop(self, process: subprocess.Popen[Any]) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in reversed(self.started):
            self.stop(process)
        self.started.clear()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's resident-set high-water mark."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


# -- material ---------------------------------------------------------------------------


def make_apns_key(folder: Path) -> dict[str, str]:
    """An ES256 signing key, stored as bench/provider_clients.py expects (apns_key.json)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    material = {
        "key_id": "BENCHKEY01",
        "team_id": "BENCHTEAM1",
        "public_key_pem": public_pem,
        "private_pem": private_pem,
    }
    (folder / "apns_key.json").write_text(json.dumps(material))
    return material


def write_devices_csv(path: Path, count: int) -> None:
    with path.open("w") as out:
        out.write("provider,token,platform\n")
        for index in range(count):
            out.write(f"apns,{device_token(index)},ios\n")


# -- the APNs simulator and the h2o sink ------------------------------------------------


def start_simulator(processes: Processes, folder: Path) -> str:
    """``pushgate simulate --apns 0`` pinned to its own core; returns its base URL."""
    command = ["taskset", "-c", SIMULATOR_CORE, PYTHON, "-m", "pushgate", "simulate"]
    command += ["--apns", "0", "--tls-dir", str(folder)]
    process = processes.add(
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=clean_env())
    )
    assert process.stdout is not None
    first = process.stdout.readline().split()
    if len(first) != 2 or first[0] != "apns":
        raise RuntimeError(f"simulator did not start: {first}")
    return first[1]


def register_key(simulator_url: str, key: dict[str, str], ca_file: Path) -> None:
    public = {k: key[k] for k in ("key_id", "team_id", "public_key_pem")}
    answer = httpx.post(f"{simulator_url}/_sim/apns/credentials", json=public, verify=str(ca_file))
    answer.raise_for_status()


def simulator_accepted(http: httpx.Client, simulator_url: str) -> int:
    counters = http.get(f"{simulator_url}/_sim/apns/counters").json()
    return int(counters.get("accepted", 0))


def start_h2o_sink(processes: Processes, folder: Path) -> str | None:
    """bench/transport.py's h2o sink (200 + apns-id) with the simulators' certificate."""
    spec = importlib.util.spec_from_file_location("bench_transport", ROOT / "bench/transport.py")
    assert spec is not None
    assert spec.loader is not None
    transport = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(transport)
    process, port = transport.start_h2o_sink(
        folder / "server.pem", folder / "server-key.pem", folder
    )
    processes.add(process)
    return f"https://localhost:{port}"


# -- scale-mode stores ------------------------------------------------------------------


def reset_postgres() -> str:
    """A fresh scratch database; returns pushgate's URL for it."""
    import asyncpg

    async def recreate() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN)
        try:
            await connection.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")
            await connection.execute(f"CREATE DATABASE {POSTGRES_DB}")
        finally:
            await connection.close()

    asyncio.run(recreate())
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{POSTGRES_DB}"


def drop_postgres() -> None:
    import asyncpg

    async def drop() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN)
        try:
            await connection.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")
        finally:
            await connection.close()

    asyncio.run(drop())


def drop_redis_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


# -- pushgate ---------------------------------------------------------------------------


def clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHGATE_")}
    env.update({"COLUMNS": "250", **settings})
    return env


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "-m", "pushgate", *args], env=env, capture_output=True, text=True, timeout=1800
    )
    if done.returncode:
        raise RuntimeError(f"pushgate {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def apns_credentials(key: dict[str, str], base_url: str) -> dict[str, str]:
    return {
        "team_id": key["team_id"],
        "key_id": key["key_id"],
        "private_key": key["private_pem"],
        "bundle_id": BUNDLE_ID,
        "environment": "production",
        "base_url": base_url,
    }


def set_up_instance(
    env: dict[str, str], folder: Path, key: dict[str, str], simulator_url: str, devices: int
) -> tuple[str, float]:
    """App, credentials, devices (``pushgate devices import``) and an admin key.

    Returns the key and the seconds the import took."""
    cli(env, "migrate")
    admin = admin_key(env, folder)
    body = folder / "apns-credentials.json"
    body.write_text(json.dumps(apns_credentials(key, simulator_url)))
    with admin_server(env, folder, admin) as remote:
        cli(remote, "apps", "create", APP)
        cli(remote, "apps", "set-credentials", APP, "apns", "--file", str(body))
    csv = folder / f"devices-{devices}.csv"
    if not csv.exists():
        write_devices_csv(csv, devices)
    started = time.perf_counter()
    cli(env, "devices", "import", str(csv), "--app", APP)
    imported = time.perf_counter() - started
    return admin, imported


def admin_key(env: dict[str, str], folder: Path) -> str:
    """An instance-wide admin key made on the instance's database by ``pushgate profile
    bootstrap`` (the local way to the first key; other administration goes through the
    API), read back from the profile it saves in a config folder of the bench's own."""
    config_home = folder / "cli-config"
    cli({**env, "XDG_CONFIG_HOME": str(config_home)}, "profile", "bootstrap", "bench")
    saved = tomllib.loads((config_home / "pushgate" / "profiles.toml").read_text())
    key: str = saved["profiles"]["bench"]["key"]
    return key


@contextmanager
def admin_server(env: dict[str, str], folder: Path, key: str) -> Iterator[dict[str, str]]:
    """A server (no worker) on a port of its own for the set-up's administration commands,
    which talk to the API; yields the environment that points the CLI at it."""
    base = f"http://127.0.0.1:{free_port()}"
    served = {**env, "PUSHGATE_BIND": base.removeprefix("http://")}
    with (folder / "admin-server.log").open("a") as out:
        process = subprocess.Popen(
            [PYTHON, "-m", "pushgate", "serve", "--no-worker"],
            env=served,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(base, process)
        yield {**env, "PUSHGATE_URL": base, "PUSHGATE_API_KEY": key}
    finally:
        process.terminate()
        process.wait(timeout=30)


def start_pushgate(
    processes: Processes, env: dict[str, str], role: list[str], pin: bool, log: Path
) -> subprocess.Popen[Any]:
    """``pushgate <role>``, its output appended to ``log`` (a pipe could fill and block)."""
    command = [PYTHON, "-m", "pushgate", *role]
    if pin:
        command = ["taskset", "-c", PUSHGATE_CORE, *command]
    with log.open("a") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    return processes.add(process)


def wait_healthy(base: str, process: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"pushgate serve did not start (exit {process.poll()})")
