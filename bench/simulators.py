"""Throughput of the APNs and FCM simulators under h2load, one core each.

The simulator runs in its own process pinned to one core (``os.sched_setaffinity``);
h2load runs pinned to another. A minimal sink (Node's ``http2`` server answering 200 +
apns-id) is measured in the same sitting and reported as the baseline ratio.

    .venv/bin/python bench/simulators.py [--requests 100000] [--clients 4] [--streams 100]

Needs h2load: ``apt-get install -y nghttp2-client``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SERVER_CORE, CLIENT_CORE = 0, 1
DEVICE = "a1" * 32
BODY = json.dumps({"aps": {"alert": {"title": "Hello", "body": "x" * 200}}, "id": 1}).encode()
NODE_SINK = """
const http2 = require('http2');
const server = http2.createServer();
server.on('stream', (stream) => {
  stream.on('data', () => {});
  stream.on('end', () => stream.respond({':status': 200, 'apns-id': 'x'}, {endStream: true}));
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
"""


def serve(kind: str, folder: Path) -> None:
    """Child process: one simulator on a free port, printing the port, until killed."""
    os.sched_setaffinity(0, {SERVER_CORE})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    from pushgate.simulators.apns import ApnsSimulator
    from pushgate.simulators.fcm import FcmSimulator
    from pushgate.simulators.server import start
    from pushgate.simulators.tls import load_or_create_authority

    async def main() -> None:
        simulator: ApnsSimulator | FcmSimulator
        if kind.startswith("apns"):
            simulator = ApnsSimulator(max_received_per_token=100)
            simulator.register_credentials(json.loads((folder / "key.json").read_text()))
        else:
            simulator = FcmSimulator(max_received_per_token=100)
            simulator.register_credentials(json.loads((folder / "account.json").read_text()))
        context = None
        if kind.endswith("tls"):
            context = load_or_create_authority(folder).server_context()
        running = await start(simulator, ssl_context=context)
        print(running.port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def spawn(command: list[str]) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, port


def h2load(url: str, headers: list[str], body: Path, args: argparse.Namespace) -> float:
    command = ["h2load", "-n", str(args.requests), "-c", str(args.clients), "-m", str(args.streams)]
    command += ["-d", str(body)]
    for header in headers:
        command += ["-H", header]
    process = subprocess.Popen([*command, url], stdout=subprocess.PIPE, text=True)
    os.sched_setaffinity(process.pid, {CLIENT_CORE})
    out, _ = process.communicate(timeout=600)
    succeeded = re.search(r"(\d+) succeeded", out)
    rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    if rate is None or succeeded is None or int(succeeded.group(1)) != args.requests:
        raise SystemExit(f"h2load did not complete against {url}:\n{out}")
    return float(rate.group(1))


def prepare(folder: Path) -> dict[str, str]:
    """Keys, tokens and the body file; returns the headers per simulator."""
    from tests.simulators.conftest import make_apns_key

    from pushgate.simulators.fcm_oauth import make_service_account

    key = make_apns_key()
    (folder / "key.json").write_text(json.dumps(key.registration()))
    (folder / "body.json").write_bytes(BODY)
    account = make_service_account("bench", "http://127.0.0.1/token")
    (folder / "account.json").write_text(json.dumps(account))
    fcm_body = {"message": {"token": DEVICE, "data": {"k": "v" * 200}}}
    (folder / "fcm.json").write_bytes(json.dumps(fcm_body).encode())
    return {"apns_token": key.token(), "account": json.dumps(account)}


def fcm_access_token(port: int, account: dict[str, str]) -> str:
    import jwt
    import requests

    now = int(time.time())
    uri = f"http://127.0.0.1:{port}/token"
    claims = {"iss": account["client_email"], "aud": uri, "iat": now, "exp": now + 3600}
    claims["scope"] = "https://www.googleapis.com/auth/firebase.messaging"
    assertion = jwt.encode(claims, account["private_key"], algorithm="RS256")
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    answer = requests.post(uri, data={"grant_type": grant, "assertion": assertion}, timeout=10)
    return str(answer.json()["access_token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, Path(args.folder))
        return
    if shutil.which("h2load") is None:
        raise SystemExit("h2load not found: apt-get install -y nghttp2-client")
    folder = Path(tempfile.mkdtemp(prefix="pushgate-bench-"))
    secrets = prepare(folder)
    apns_headers = [
        f"authorization: bearer {secrets['apns_token']}",
        "apns-topic: com.example.app",
        "apns-push-type: alert",
    ]
    results: dict[str, float] = {}
    if shutil.which("node"):
        sink, port = spawn(["node", "-e", NODE_SINK])
        os.sched_setaffinity(sink.pid, {SERVER_CORE})
        results["node http2 sink (h2c)"] = h2load(
            f"http://127.0.0.1:{port}/3/device/{DEVICE}", apns_headers, folder / "body.json", args
        )
        sink.kill()
    for kind in ("apns-h2c", "apns-tls", "fcm-h2c"):
        server, port = spawn([sys.executable, __file__, "--serve", kind, "--folder", str(folder)])
        try:
            scheme = "https" if kind.endswith("tls") else "http"
            if kind.startswith("apns"):
                url, headers, body = (
                    f"{scheme}://127.0.0.1:{port}/3/device/{DEVICE}",
                    apns_headers,
                    "body.json",
                )
            else:
                token = fcm_access_token(port, json.loads(secrets["account"]))
                url = f"{scheme}://127.0.0.1:{port}/v1/projects/bench/messages:send"
                headers, body = (
                    [f"authorization: Bearer {token}", "content-type: application/json"],
                    "fcm.json",
                )
            results[f"{kind} simulator"] = h2load(url, headers, folder / body, args)
        finally:
            server.kill()
    baseline = results.get("node http2 sink (h2c)")
    print(
        f"{args.requests} requests, {args.clients} connections x {args.streams} streams,"
        " one core each"
    )
    for name, rate in results.items():
        ratio = f"  ratio to sink {rate / baseline:.2f}" if baseline else ""
        print(f"{name:28s} {rate:10.0f} req/s{ratio}")


if __name__ == "__main__":
    main()
