"""Client processes of ``bench/providers.py``: pushgate's APNs and FCM providers, and
aioapns, each sending ``--count`` messages to ``--url`` and printing one JSON line with
messages/s, CPU µs per message and peak RSS. Started by ``providers.py``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds scripts, not modules: keep its files (queue.py…) from shadowing the stdlib.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))

CLIENT_CORE = 0
BUNDLE_ID = "com.example.app"
PROJECT_ID = "pushgate-bench"
DEVICE = "a1" * 32
FCM_DEVICE = "bench-device-token:" + "x" * 140
STREAMS = 100  # concurrent requests per connection for aioapns (as h2load -m)


def bench_message() -> Any:
    from pushgate.core.messages import Message

    return Message(
        title="Appointment booked",
        body="Tuesday 10:00 with Dr. Lee at the north clinic, room 4",
        data={"appointment_id": "12345", "kind": "booking"},
        badge=1,
        sound="default",
    )


def pin_and_install_uvloop(core: int) -> None:
    os.sched_setaffinity(0, {core})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass


def credentials(kind: str, folder: Path, base_url: str, token_uri: str) -> Any:
    from pushgate.providers.base import ProviderCredentials

    if kind == "apns":
        key = json.loads((folder / "apns_key.json").read_text())
        public = {
            "auth_mode": "token",
            "bundle_id": BUNDLE_ID,
            "environment": "production",
            "team_id": key["team_id"],
            "key_id": key["key_id"],
            "base_url": base_url,
        }
        return ProviderCredentials("bench", "apns", public, {"private_key": key["private_pem"]})
    account = json.loads((folder / "account.json").read_text())
    public = {
        "project_id": PROJECT_ID,
        "client_email": account["client_email"],
        "private_key_id": account["private_key_id"],
        "token_uri": token_uri,
        "base_url": base_url,
    }
    return ProviderCredentials("bench", "fcm", public, {"private_key": account["private_key"]})


def make_batch(kind: str, size: int) -> list[Any]:
    from pushgate.core.models import Device, Platform, Provider
    from pushgate.providers.base import Delivery

    provider = Provider.APNS if kind == "apns" else Provider.FCM
    token = DEVICE if kind == "apns" else FCM_DEVICE
    device = Device("d", "t", "a", provider, token, None, Platform.IOS, None, None, None)
    created_at = int(time.time() * 1000)
    expires_at = created_at + 3_600_000
    message = bench_message()
    if "identity" not in Delivery._fields:  # a baseline tree from before payload identity
        return [
            Delivery(str(uuid.uuid4()), device, message, expires_at, created_at)
            for _ in range(size)
        ]
    return [
        Delivery(
            delivery_id, device, message, expires_at, created_at, False, bench_identity(delivery_id)
        )
        for delivery_id in (str(uuid.uuid4()) for _ in range(size))
    ]


def bench_identity(delivery_id: str) -> Any:
    """An identity as an actionable push carries it (token and URL included), the largest
    kind; minting the token is the send path's, not counted here."""
    from pushgate.core.identity import PayloadIdentity
    from pushgate.core.response_tokens import TOKEN_CHARS

    return PayloadIdentity(
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "https://push.example.com",
        "bench",
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c",
        delivery_id,
        "I" * 55,
        "approval",
        "T" * TOKEN_CHARS,
        "https://push.example.com/v1/push/bench/action/",
    )


async def run_provider(args: argparse.Namespace) -> dict[str, Any]:
    from pushgate.providers.apns import ApnsOptions, ApnsProvider
    from pushgate.providers.fcm import FcmOptions, FcmProvider

    folder = Path(args.folder)
    creds = credentials(args.client, folder, args.url, args.token_uri)
    cafiles = (str(folder / "ca.pem"),)
    provider: ApnsProvider | FcmProvider
    if args.client == "apns":
        provider = ApnsProvider(
            creds,
            ApnsOptions(connections=args.connections, ca_files=cafiles, allow_private_targets=True),
        )
    else:
        provider = FcmProvider(
            creds,
            FcmOptions(connections=args.connections, ca_files=cafiles, allow_private_targets=True),
        )
    warmup = await provider.send(make_batch(args.client, 50))
    await asyncio.sleep(0.3)  # let the pool open all its connections
    remaining = args.count
    kinds: dict[str, int] = {}

    # Deliveries come from the queue ready-made: each sender reuses its own prebuilt batch,
    # so building them (ids, dataclasses) is not counted as sending.
    async def sender() -> None:
        nonlocal remaining
        batch = make_batch(args.client, args.batch)
        while remaining > 0:
            size = min(args.batch, remaining)
            remaining -= size
            for outcome in await provider.send(batch[:size]):
                kinds[outcome.kind] = kinds.get(outcome.kind, 0) + 1

    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(args.window * args.connections)))
    result = measured(f"pushgate {args.client}", args.count, time.perf_counter() - started, before)
    await provider.close()
    result["outcomes"] = kinds
    result["warmup"] = sorted({o.kind for o in warmup})
    return result


async def run_aioapns(args: argparse.Namespace) -> dict[str, Any]:
    import ssl

    from aioapns import APNs, NotificationRequest
    from aioapns.connection import APNsProductionClientProtocol

    folder = Path(args.folder)
    key = json.loads((folder / "apns_key.json").read_text())
    port = int(args.url.rsplit(":", 1)[1])
    # aioapns always dials api.push.apple.com:443; its protocol class names the server.
    local = type(
        "LocalProtocol",
        (APNsProductionClientProtocol,),
        {"APNS_SERVER": "localhost", "APNS_PORT": port},
    )
    client = APNs(
        key=key["private_pem"],
        key_id=key["key_id"],
        team_id=key["team_id"],
        topic=BUNDLE_ID,
        max_connections=args.connections,
        ssl_context=ssl.create_default_context(cafile=str(folder / "ca.pem")),
    )
    client.pool.protocol_class = local
    payload = json.loads(bench_payload("apns"))
    remaining = args.count
    kinds: dict[str, int] = {}

    async def sender() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            request = NotificationRequest(device_token=DEVICE, message=payload)
            answer = await client.send_notification(request)
            kinds[str(answer.status)] = kinds.get(str(answer.status), 0) + 1

    await client.send_notification(NotificationRequest(device_token=DEVICE, message=payload))
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(STREAMS * args.connections)))
    result = measured("aioapns", args.count, time.perf_counter() - started, before)
    client.pool.close()
    result["outcomes"] = kinds
    return result


def measured(client: str, count: int, seconds: float, before: Any) -> dict[str, Any]:
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "client": client,
        "count": count,
        "rate": count / seconds,
        "cpu_us": cpu / count * 1e6,
        "rss_mb": after.ru_maxrss / 1024,
    }


def client_main(args: argparse.Namespace) -> None:
    if args.src:
        # Another source tree of pushgate (a checkout of an earlier commit) measured in
        # the same run: nothing of pushgate is imported before this line.
        sys.path.insert(0, str(Path(args.src).resolve()))
    pin_and_install_uvloop(CLIENT_CORE)
    runner = run_aioapns if args.client == "aioapns" else run_provider
    print(json.dumps(asyncio.run(asyncio.wait_for(runner(args), 600))))


def bench_payload(kind: str) -> bytes:
    """The exact body pushgate sends for the bench message, for h2load to send too."""
    from pushgate.providers.apns_payload import render_push
    from pushgate.providers.fcm_payload import render_message

    message = bench_message()
    if kind == "apns":
        return render_push(message, BUNDLE_ID).body
    expires_at = int((time.time() + 3600) * 1000)
    rendered = render_message(message, FCM_DEVICE, expires_at, time.time())
    return json.dumps({"message": rendered}, separators=(",", ":")).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--client", required=True, choices=["apns", "fcm", "aioapns"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--folder", required=True)
    parser.add_argument("--token-uri", default="")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--window", type=int, default=4)
    parser.add_argument("--src", help="import pushgate from this src/ folder instead")
    client_main(parser.parse_args())


if __name__ == "__main__":
    main()
