"""Interactions ingested per second and the cost of reading reports, embedded mode
(docs/reports.md; aims: at least 20,000 interactions/s in batches of 100, and a
notification's report read in under 20 ms with 1,000,000 deliveries).

One process, SQLite in a temporary folder, the API as pushgate serves it (the ASGI app,
its gates and routes) called in-process over ``httpx.ASGITransport``: what is measured is
pushgate's work per request; the HTTP server's parsing (uvicorn) is left out, as is the
network. Set-up, before any clock runs:

- an app with one notification of ``--deliveries`` deliveries, written straight into the
  tables with their kept counts (the fan-out and sending are measured elsewhere);
- an interaction token per delivery, minted with the instance key as the send path does.

Then:

1. ``ingest``: ``--events`` events (two thirds of them deliveries ``received``, then every
   second of those ``opened``, in that order) posted in batches of 100 by
   ``--concurrency`` devices at once; events/s over the wall time, and CPU µs per event.
   A second pass posts the same batches again (all duplicates), since repeats are what a
   retrying client sends;
2. ``read``: ``GET /v1/notifications/{id}`` (its status with the interactions) and
   ``GET /v1/reports/apps/{app}`` (a week by hour and the top notifications), ``--reads``
   each, median and p95 ms; beside ``GET /v1/apps/{app}``, a plain keyed read, as the
   baseline of the sitting.

    .venv/bin/python bench/interactions.py [--deliveries 1000000] [--events 200000]
        [--concurrency 8] [--reads 200]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402

from pushgate.api.app import create_app  # noqa: E402
from pushgate.config import Settings  # noqa: E402
from pushgate.core import interaction_tokens  # noqa: E402
from pushgate.core.ids import new_ids  # noqa: E402
from pushgate.storage.tables import deliveries, delivery_counts  # noqa: E402
from pushgate.wiring import Services, build_services  # noqa: E402

BATCH = 100


async def _setup(services: Services, client: httpx.AsyncClient, count: int) -> dict[str, Any]:
    """An app, a notification of ``count`` deliveries (rows and counts written directly),
    and each delivery's interaction token."""
    assert (await client.post("/v1/apps", json={"name": "bench"})).status_code == 201
    hook = {"url": "https://hooks.example.com/push"}
    assert (await client.put("/v1/apps/bench/credentials/webhook", json=hook)).is_success
    device = await client.post(
        "/v1/apps/bench/devices",
        json={"provider": "webhook", "token": "https://hooks.example.com/d/1"},
    )
    assert device.status_code == 201, device.text
    body = {"app": "bench", "audience": {"everyone": True}, "title": "Doors open"}
    sent = await client.post("/v1/notifications", json=body)
    assert sent.status_code == 202, sent.text
    notification = sent.json()["id"]
    stored = await services.notifications.notification(notification)
    assert stored is not None
    ids = new_ids(count)
    devices = new_ids(count)
    now = services.clock.now_ms()
    rows = [
        {
            "id": delivery,
            "notification_id": notification,
            "device_id": device_id,
            "app_id": stored.app_id,
            "provider": "webhook",
            "state": "sent",
            "attempts": 1,
            "next_attempt_at": None,
            "reason": None,
            "status": 200,
            "provider_message_id": None,
            "created_at": now,
            "updated_at": now,
        }
        for delivery, device_id in zip(ids, devices, strict=True)
    ]
    async with services.engine.begin() as connection:
        for start in range(0, count, 50_000):
            await connection.execute(deliveries.insert(), rows[start : start + 50_000])
        await connection.execute(
            delivery_counts.insert(),
            {"notification_id": notification, "provider": "webhook", "state": "sent", "n": count},
        )
    expires = stored.created_at // 1000 + 30 * 86_400
    minter = interaction_tokens.Minter(services.box, notification, expires)
    # A device reports its own pushes: each batch of 100 comes from one device, as a
    # device sending its backlog does (the token names it; the rows above are written
    # only to be read), so the rate limits cost what they cost a real batch.
    reporters = new_ids(count // BATCH + 1)
    tokens = [minter.mint(d, reporters[i // BATCH]) for i, d in enumerate(ids)]
    return {"notification": notification, "ids": ids, "tokens": tokens}


def _batches(scene: dict[str, Any], events: int) -> list[dict[str, Any]]:
    at = datetime.now(UTC).isoformat()
    wanted: list[dict[str, Any]] = []
    # Two thirds received, every second of those opened: the opens fill the histogram.
    reach = min(len(scene["ids"]), max(1, events * 2 // 3))
    pairs = list(zip(scene["ids"][:reach], scene["tokens"][:reach], strict=True))
    for kind, step in (("received", 1), ("opened", 2)):
        for delivery, token in pairs[::step]:
            wanted.append(
                {
                    "notification": scene["notification"],
                    "delivery": delivery,
                    "token": token,
                    "event": kind,
                    "at": at,
                }
            )
            if len(wanted) == events:
                break
        if len(wanted) == events:
            break
    return [{"app": "bench", "events": wanted[i : i + BATCH]} for i in range(0, len(wanted), BATCH)]


async def _ingest(
    device: httpx.AsyncClient, batches: list[dict[str, Any]], concurrency: int
) -> dict[str, float]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    totals = {"recorded": 0, "duplicates": 0, "late": 0, "expired": 0}

    async def one() -> None:
        while not queue.empty():
            answer = await device.post("/v1/interactions", json=queue.get_nowait())
            assert answer.status_code == 200, answer.text
            for name, n in answer.json().items():
                totals[name] += n

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    events = sum(len(b["events"]) for b in batches)
    return {
        "events": events,
        "events_per_s": round(events / wall),
        "cpu_us_per_event": round(cpu / events * 1e6, 1),
        **totals,
    }


async def _reads(client: httpx.AsyncClient, path: str, count: int) -> dict[str, float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        answer = await client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.text
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
    }


async def run(args: argparse.Namespace, folder: Path) -> None:
    settings = Settings(data_dir=folder, allow_private_targets=True, log_level="warning")
    services = await build_services(settings)
    made = await services.access.bootstrap_admin_key()
    assert made is not None
    app = create_app(services)
    headers = {"Authorization": f"Bearer {made.plaintext}"}
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://b", headers=headers) as admin,
            httpx.AsyncClient(transport=transport, base_url="http://b") as device,
        ):
            started = time.perf_counter()
            scene = await _setup(services, admin, args.deliveries)
            batches = _batches(scene, args.events)
            # The set-up's objects (a million delivery rows built, every token and event
            # body) are the bench's, not a server's: moved out of the collector's sight, so
            # its full collections during the runs cost what they cost a server.
            gc.collect()
            gc.freeze()
            print(f"set-up: {args.deliveries} deliveries in {time.perf_counter() - started:.0f} s")
            print("ingest", await _ingest(device, batches, args.concurrency))
            print("ingest again (duplicates)", await _ingest(device, batches, args.concurrency))
            notification = scene["notification"]
            for name, path in (
                ("baseline GET /v1/apps/{app}", "/v1/apps/bench"),
                ("GET /v1/notifications/{id}", f"/v1/notifications/{notification}"),
                ("GET /v1/reports/apps/{app}", "/v1/reports/apps/bench"),
            ):
                print(name, await _reads(admin, path, args.reads))
            status = (await admin.get(f"/v1/notifications/{notification}")).json()
            print("interactions", status["interactions"])
    finally:
        await services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pushgate-bench-interactions-") as folder:
        asyncio.run(run(args, Path(folder)))


if __name__ == "__main__":
    main()
