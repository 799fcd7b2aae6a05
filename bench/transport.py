"""HTTP/2 send-path benchmark: pushgate's transport against h2load and httpx, same sitting.

Runs POSTs of a ~300-byte JSON body over TLS to a sink answering 200 + ``apns-id`` (the
Node ``http2`` module always; h2o when installed), with 1 and 4 connections × 100 streams.
pushgate's pool is driven two ways: one ``request`` per coroutine (100 coroutines per
connection), and ``request_many`` batches of 50 (two in flight per connection, "batches").
The client under test runs in its own process pinned to CPU 0; sinks are pinned to CPU 1.
Prints req/s, CPU µs per request, peak RSS and the ratio to h2load (the ceiling).

    .venv/bin/python bench/transport.py [--count 100000] [--httpx-count 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_SINK = ROOT / "tests" / "transport" / "node_h2_server.js"
BODY = json.dumps(
    {"aps": {"alert": {"title": "Appointment booked", "body": "x" * 220}, "sound": "default"}}
).encode()
HEADERS = [
    ("authorization", "bearer eyJhbGciOiJFUzI1NiIsImtpZCI6IkFCQzEyMyJ9.eyJpc3MiOiJERUYifQ.sig"),
    ("apns-topic", "com.example.app"),
    ("apns-push-type", "alert"),
    ("apns-priority", "10"),
    ("content-type", "application/json"),
]
PATH = "/3/device/" + "a1" * 32
BATCH = 50  # requests per request_many call of the "batches" client


def make_certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# -- the client processes ------------------------------------------------------------


def measured(run: str, count: int, seconds: float, before: resource.struct_rusage) -> dict:
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "client": run,
        "count": count,
        "req_s": count / seconds,
        "cpu_us": cpu / count * 1e6,
        "rss_mb": after.ru_maxrss / 1024,
    }


async def run_pushgate(port: int, cafile: str, connections: int, count: int, client: str) -> dict:
    from pushgate.transport import (
        Http2Config,
        Http2Pool,
        Response,
        SharedHeaders,
        client_ssl_context,
    )

    decoder, _, mode = client.partition(" ")

    config = Http2Config(compiled_hpack=decoder == "jh2")
    pool = Http2Pool(
        "localhost",
        port,
        size=connections,
        ssl_context=client_ssl_context(cafile),
        config=config,
    )
    shared = SharedHeaders(HEADERS)
    path = PATH.encode()
    await pool.request(b"POST", path, (), BODY, shared=shared)
    await asyncio.sleep(0.3)  # let the pool open all its connections
    remaining = count
    failures = 0

    async def worker() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            response = await pool.request(b"POST", path, (), BODY, shared=shared)
            if response.status != 200 or response.header(b"apns-id") is None:
                failures += 1

    async def batch_worker() -> None:
        nonlocal remaining, failures
        requests = [(path, (), BODY, shared)] * BATCH
        while remaining > 0:
            size = min(BATCH, remaining)
            remaining -= size
            for answer in await pool.request_many(b"POST", requests[:size]):
                if not isinstance(answer, Response) or answer.header(b"apns-id") is None:
                    failures += 1

    # One coroutine per stream, or two batches in flight per connection: either way the
    # 100 concurrent requests per connection h2load gets with -m 100.
    workers = [batch_worker() for _ in range(2 * connections)] if mode else []
    workers = workers or [worker() for _ in range(100 * connections)]
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    await asyncio.gather(*workers)
    seconds = time.perf_counter() - start
    result = measured(f"pushgate ({client})", count, seconds, before)
    await pool.close()
    result["failures"] = failures
    return result


async def run_httpx(port: int, cafile: str, count: int) -> dict:
    import httpx

    async with httpx.AsyncClient(http2=True, verify=cafile) as client:
        url = f"https://localhost:{port}{PATH}"
        await client.post(url, content=BODY, headers=dict(HEADERS))
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                response = await client.post(url, content=BODY, headers=dict(HEADERS))
                assert response.status_code == 200

        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(100)))
        return measured("httpx http2", count, time.perf_counter() - start, before)


def client_main(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {0})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if args.client == "httpx":
        result = asyncio.run(run_httpx(args.port, args.cafile, args.count))
    else:
        result = asyncio.run(
            run_pushgate(args.port, args.cafile, args.connections, args.count, args.client)
        )
    print(json.dumps(result))


# -- the orchestrating process -----------------------------------------------------------


def run_client(kind: str, port: int, cafile: Path, connections: int, count: int) -> dict:
    command = [sys.executable, __file__, "--client", kind, "--port", str(port)]
    command += ["--cafile", str(cafile), "--connections", str(connections)]
    command += ["--count", str(count)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(f"{kind} client failed:\n{done.stderr}")
    result: dict = json.loads(done.stdout.splitlines()[-1])
    result["connections"] = connections
    return result


def run_h2load(port: int, connections: int, count: int, folder: Path) -> dict:
    body = folder / "body.json"
    body.write_bytes(BODY)
    command = ["taskset", "-c", "0", "h2load", "-n", str(count), "-c", str(connections)]
    command += ["-m", "100", "-d", str(body)]
    for name, value in HEADERS:
        command += ["-H", f"{name}: {value}"]
    command.append(f"https://localhost:{port}{PATH}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rate = float(re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", output.stdout).group(1))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "client": "h2load",
        "count": count,
        "connections": connections,
        "req_s": rate,
        "cpu_us": cpu / count * 1e6,
        "rss_mb": after.ru_maxrss / 1024,
    }


def start_node_sink(cert: Path, key: Path) -> tuple[subprocess.Popen[bytes], int]:
    options = json.dumps({"tls": True, "cert": str(cert), "key": str(key)})
    process = subprocess.Popen(
        ["taskset", "-c", "1", "node", str(NODE_SINK), options], stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    port = int(process.stdout.readline().split()[1])
    return process, port


H2O_CONFIG = """
listen:
  host: 127.0.0.1
  port: {port}
  ssl:
    certificate-file: {cert}
    key-file: {key}
num-threads: 1
hosts:
  "localhost:{port}":
    paths:
      /:
        mruby.handler: |
          Proc.new do |env|
            [200, {{"apns-id" => "00000000-0000-0000-0000-000000000000"}}, []]
          end
"""


def start_h2o_sink(cert: Path, key: Path, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = folder / "h2o.conf"
    config.write_text(H2O_CONFIG.format(port=port, cert=cert, key=key))
    process = subprocess.Popen(
        ["taskset", "-c", "1", "h2o", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("h2o did not start")


def print_table(sink: str, results: list[dict]) -> None:
    print(f"\nsink: {sink}")
    print(
        f"{'client':<24} {'conns':>5} {'count':>7} {'req/s':>9} {'CPU µs/req':>11} "
        f"{'peak RSS MB':>11} {'÷ h2load':>9}"
    )
    ceilings = {r["connections"]: r["req_s"] for r in results if r["client"] == "h2load"}
    for r in results:
        ceiling = ceilings.get(r["connections"])
        ratio = f"{r['req_s'] / ceiling:.2f}" if ceiling else "—"
        print(
            f"{r['client']:<24} {r['connections']:>5} {r['count']:>7} {r['req_s']:>9.0f} "
            f"{r['cpu_us']:>11.1f} {r['rss_mb']:>11.1f} {ratio:>9}"
        )


def bench_sink(name: str, port: int, cert: Path, args: argparse.Namespace, folder: Path) -> None:
    results = []
    for connections in (1, 4):
        if shutil.which("h2load"):
            results.append(run_h2load(port, connections, args.count, folder))
        for client in ("jh2", "hpack", "jh2 batches"):
            results.append(run_client(client, port, cert, connections, args.count))
    results.append(run_client("httpx", port, cert, 1, args.httpx_count))
    print_table(name, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--httpx-count", type=int, default=2_000)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cafile", help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args)
        return
    if not shutil.which("h2load"):
        print("h2load not found (apt-get install nghttp2-client): no ceiling measured")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cert, key = make_certificate(folder)
        sinks = [("node http2", start_node_sink(cert, key))]
        if shutil.which("h2o"):
            sinks.append(("h2o (mruby handler)", start_h2o_sink(cert, key, folder)))
        try:
            for name, (_, port) in sinks:
                bench_sink(name, port, cert, args, folder)
        finally:
            for _, (process, _) in sinks:
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    main()
