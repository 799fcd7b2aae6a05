"""APNs and FCM provider throughput from one process on one core, against h2load.

Targets, each served from another process pinned to CPU 1:

- the APNs simulator (HTTP/2 over TLS, token auth) and the FCM simulator (h2c, OAuth);
- h2o with a one-line mruby handler (200 + apns-id) as a minimal sink, because the Python
  simulators, not the clients, bound the rate against them. FCM's access token still
  comes from the FCM simulator's token endpoint when sending to h2o.

Clients, each in its own process pinned to CPU 0 (uvloop when importable; see
``provider_clients.py``): pushgate's :class:`ApnsProvider` / :class:`FcmProvider`
(``send`` of 50-delivery batches, two in flight per connection: the 100 concurrent
requests per connection h2load gets with ``-m 100``), h2load (the C ceiling, same headers
and body) and aioapns (APNs only, 100 concurrent sends per connection). Each row is the
median of ``--repeat`` interleaved runs. Printed: messages/s, CPU µs per message (user +
system of the client process), peak RSS of the client, and the ratio to h2load against the
same target in the same run. ``--baseline-src DIR`` adds rows for pushgate's clients
imported from another source tree (``mkdir /tmp/base && git archive HEAD~1 src | tar -x
-C /tmp/base``, then ``/tmp/base/src``), interleaved with the others: before and after in
one sitting.

    .venv/bin/python bench/providers.py [--count 50000] [--aioapns-count 5000] [--repeat 3]
        [--only simulators|h2o] [--baseline-src DIR]

h2load comes from Debian's nghttp2-client (``apt-get install -y nghttp2-client``); h2o
from the h2o package. Without them those rows are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds scripts, not modules: keep its files (queue.py…) from shadowing the stdlib.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

CLIENTS_SCRIPT = ROOT / "bench" / "provider_clients.py"


def load_bench_script(name: str, path: Path) -> Any:
    """Another script of bench/ as a module (bench/ is not a package, nor on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


clients = load_bench_script("provider_clients", CLIENTS_SCRIPT)
SERVER_CORE, CLIENT_CORE = 1, clients.CLIENT_CORE
BUNDLE_ID, PROJECT_ID = clients.BUNDLE_ID, clients.PROJECT_ID
DEVICE, FCM_DEVICE = clients.DEVICE, clients.FCM_DEVICE
STREAMS = clients.STREAMS  # h2load -m: concurrent streams per connection
BATCH = 50  # deliveries per Provider.send call (--batch)
WINDOW = 2  # Provider.send calls in flight per connection (--window): with BATCH, the
# 100 concurrent requests per connection h2load gets (-m 100)


# -- material shared by the processes ------------------------------------------------


def make_material(folder: Path) -> None:
    """CA and server certificate, an APNs signing key and an FCM service account."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from pushgate.simulators.fcm_oauth import make_service_account
    from pushgate.simulators.tls import load_or_create_authority

    load_or_create_authority(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    apns_key = {"key_id": "BENCHKEY01", "team_id": "BENCHTEAM1", "public_key_pem": public_pem}
    (folder / "apns_key.json").write_text(json.dumps({**apns_key, "private_pem": private_pem}))
    account = make_service_account(PROJECT_ID, "")
    (folder / "account.json").write_text(json.dumps(account))


# -- the simulator processes ---------------------------------------------------------


def serve(kind: str, folder: Path) -> None:
    """Child process: one simulator on a free port, printing the port, until killed."""
    clients.pin_and_install_uvloop(SERVER_CORE)
    from pushgate.simulators.apns import ApnsSimulator
    from pushgate.simulators.fcm import FcmSimulator
    from pushgate.simulators.server import start
    from pushgate.simulators.tls import load_or_create_authority

    async def main() -> None:
        simulator: ApnsSimulator | FcmSimulator
        context = None
        if kind == "apns":
            simulator = ApnsSimulator(max_received_per_token=100)
            key = json.loads((folder / "apns_key.json").read_text())
            key.pop("private_pem")
            simulator.register_credentials(key)
            context = load_or_create_authority(folder).server_context()
        else:
            simulator = FcmSimulator(max_received_per_token=100)
            simulator.register_credentials(json.loads((folder / "account.json").read_text()))
        running = await start(simulator, ssl_context=context)
        print(running.port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the orchestrating process -------------------------------------------------------


def h2load_request(kind: str, folder: Path, url: str, token_uri: str) -> tuple[str, list[str]]:
    """The URL and headers h2load sends: what pushgate sends, minus per-message ids."""
    if kind == "apns":
        import jwt

        key = json.loads((folder / "apns_key.json").read_text())
        token = jwt.encode(
            {"iss": key["team_id"], "iat": int(time.time())},
            key["private_pem"],
            algorithm="ES256",
            headers={"kid": key["key_id"]},
        )
        headers = [
            f"authorization: bearer {token}",
            f"apns-topic: {BUNDLE_ID}",
            "apns-push-type: alert",
            "apns-priority: 10",
            f"apns-expiration: {int(time.time()) + 3600}",
            f"apns-id: {uuid.uuid4()}",
        ]
        return f"{url}/3/device/{DEVICE}", headers
    access_token = fetch_access_token(folder, token_uri)
    headers = [
        f"authorization: Bearer {access_token}",
        "content-type: application/json; charset=UTF-8",
    ]
    return f"{url}/v1/projects/{PROJECT_ID}/messages:send", headers


def fetch_access_token(folder: Path, token_uri: str) -> str:
    import httpx

    from pushgate.providers.google_oauth import ServiceAccountKey, ServiceAccountTokens

    account = json.loads((folder / "account.json").read_text())
    key = ServiceAccountKey(
        account["client_email"], account["private_key"], account["private_key_id"], token_uri
    )

    async def fetch() -> str:
        async with httpx.AsyncClient() as http:
            token = await ServiceAccountTokens(key, http).current()
        return token.authorization.removeprefix("Bearer ")

    return asyncio.run(fetch())


def run_h2load(
    kind: str, folder: Path, url: str, token_uri: str, connections: int, count: int
) -> dict[str, Any]:
    target, headers = h2load_request(kind, folder, url, token_uri)
    body = folder / f"{kind}-body.json"
    body.write_bytes(clients.bench_payload(kind))
    command = ["taskset", "-c", str(CLIENT_CORE), "h2load", "-n", str(count)]
    command += ["-c", str(connections), "-m", str(STREAMS), "-d", str(body)]
    for header in headers:
        command += ["-H", header]
    command.append(target)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    match = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", output.stdout)
    statuses = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", output.stdout)
    if match is None:
        raise RuntimeError(f"unexpected h2load output:\n{output.stdout}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "client": "h2load",
        "count": count,
        "rate": float(match.group(1)),
        "cpu_us": cpu / count * 1e6,
        "rss_mb": None,  # RUSAGE_CHILDREN's peak is over every child so far, not h2load's
        "outcomes": {"2xx": int(statuses.group(1))} if statuses else {},
    }


def run_client(
    kind: str,
    folder: Path,
    url: str,
    token_uri: str,
    connections: int,
    count: int,
    args: argparse.Namespace,
    src: str | None = None,
) -> dict[str, Any]:
    command = [sys.executable, str(CLIENTS_SCRIPT), "--client", kind, "--url", url]
    command += ["--folder", str(folder)]
    command += ["--token-uri", token_uri, "--connections", str(connections)]
    command += ["--count", str(count), "--batch", str(args.batch), "--window", str(args.window)]
    if src:
        command += ["--src", src]
    done = subprocess.run(command, capture_output=True, text=True, timeout=700)
    if done.returncode:
        return {"client": kind, "count": count, "error": done.stderr.strip().splitlines()[-1]}
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    if src:
        result["client"] += " (baseline)"
    return result


def spawn_simulator(kind: str, folder: Path) -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, __file__, "--serve", kind, "--folder", str(folder)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def load_transport_bench() -> Any:
    """bench/transport.py, for its h2o sink (same handler, same settings)."""
    return load_bench_script("bench_transport", ROOT / "bench" / "transport.py")


def print_rows(target: str, rows: list[dict[str, Any]]) -> None:
    ceilings = {
        r["connections"]: r["rate"] for r in rows if r["client"] == "h2load" and "rate" in r
    }
    for r in rows:
        if "error" in r:
            print(
                f"| {target} | {r['client']} | {r.get('connections', '')} | failed: {r['error']} |"
            )
            continue
        ceiling = ceilings.get(r["connections"])
        ratio = f"{r['rate'] / ceiling:.2f}" if ceiling else "—"
        rss = f"{r['rss_mb']:.0f} MB" if r["rss_mb"] else "—"
        print(
            f"| {target} | {r['client']} | {r['connections']} | {r['rate']:,.0f} | "
            f"{r['cpu_us']:.1f} | {rss} | {ratio} | {r.get('outcomes', '')} |",
            flush=True,
        )


def print_peer_ratios(target: str, rows: list[dict[str, Any]]) -> None:
    """pushgate's rate over aioapns's and its CPU per message over the baseline's, per
    connection count (all against ``target``)."""
    for connections in (1, 4):
        done = [r for r in rows if r["connections"] == connections and "rate" in r]
        ours = [r for r in done if r["client"].startswith("pushgate") and "(" not in r["client"]]
        peer = [r for r in done if r["client"] == "aioapns"]
        base = [r for r in done if r["client"].endswith("(baseline)")]
        if ours and peer:
            ratio = ours[0]["rate"] / peer[0]["rate"]
            print(f"<!-- {target}, {connections} conns: pushgate ÷ aioapns = {ratio:.1f} -->")
        if ours and base:
            cpu = ours[0]["cpu_us"] / base[0]["cpu_us"]
            rate = ours[0]["rate"] / base[0]["rate"]
            print(
                f"<!-- {target}, {connections} conns: ÷ baseline: CPU per message {cpu:.2f}, "
                f"msg/s {rate:.2f} -->"
            )


def bench_target(
    target: str, kind: str, folder: Path, url: str, token_uri: str, args: argparse.Namespace
) -> None:
    """Every client against ``target``, interleaved ``--repeat`` times; the median run of
    each is printed (the machine is shared, so ratios within a round matter most)."""
    rows: list[dict[str, Any]] = []
    for connections in (1, 4):
        runs: dict[str, list[dict[str, Any]]] = {}
        for _ in range(args.repeat):
            if shutil.which("h2load"):
                h2load = run_h2load(kind, folder, url, token_uri, connections, args.count)
                runs.setdefault("h2load", []).append(h2load)
            ours = run_client(kind, folder, url, token_uri, connections, args.count, args)
            runs.setdefault("pushgate", []).append(ours)
            if args.baseline_src:
                base = run_client(
                    kind, folder, url, token_uri, connections, args.count, args, args.baseline_src
                )
                runs.setdefault("baseline", []).append(base)
            if kind == "apns" and args.aioapns_count:
                peer = run_client("aioapns", folder, url, "", connections, args.aioapns_count, args)
                runs.setdefault("aioapns", []).append(peer)
        for results in runs.values():
            rows.append({**median_run(results), "connections": connections})
    print_rows(target, rows)
    print_peer_ratios(target, rows)


def median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate; a failed run is reported only if all failed."""
    good = sorted((r for r in results if "rate" in r), key=lambda r: r["rate"])
    if not good:
        return results[0]
    return {**good[len(good) // 2], "runs": len(good)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--aioapns-count", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (median shown)")
    parser.add_argument("--batch", type=int, default=BATCH, help="deliveries per send()")
    parser.add_argument("--window", type=int, default=WINDOW, help="send() calls per connection")
    parser.add_argument("--only", choices=["simulators", "h2o"], help="run one group of targets")
    parser.add_argument(
        "--baseline-src",
        help="also run pushgate's clients from this src/ folder (an earlier commit's), "
        "interleaved, as a same-run baseline",
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, Path(args.folder))
        return
    if not shutil.which("h2load"):
        print("h2load not found: apt-get install -y nghttp2-client (no ceiling measured)")
    with tempfile.TemporaryDirectory() as tmp:
        run_all(Path(tmp), args)


def run_all(folder: Path, args: argparse.Namespace) -> None:
    make_material(folder)
    processes: list[subprocess.Popen[Any]] = []
    try:
        apns_process, apns_port = spawn_simulator("apns", folder)
        fcm_process, fcm_port = spawn_simulator("fcm", folder)
        processes += [apns_process, fcm_process]
        token_uri = f"http://127.0.0.1:{fcm_port}/token"
        print("| target | client | conns | msg/s | CPU µs / msg | peak RSS | ÷ h2load | outcomes |")
        print("|---|---|---|---|---|---|---|---|")
        if args.only in (None, "simulators"):
            bench_target(
                "APNs simulator", "apns", folder, f"https://localhost:{apns_port}", token_uri, args
            )
            bench_target(
                "FCM simulator", "fcm", folder, f"http://127.0.0.1:{fcm_port}", token_uri, args
            )
        if args.only in (None, "h2o") and shutil.which("h2o"):
            transport_bench = load_transport_bench()
            h2o_process, h2o_port = transport_bench.start_h2o_sink(
                folder / "server.pem", folder / "server-key.pem", folder
            )
            processes.append(h2o_process)
            sink = f"https://localhost:{h2o_port}"
            bench_target("h2o sink", "apns", folder, sink, token_uri, args)
            bench_target("h2o sink", "fcm", folder, sink, token_uri, args)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
