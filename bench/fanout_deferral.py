"""Fan-out with quiet hours and local times: what deciding each recipient's send time
costs a broadcast.

    .venv/bin/python -m bench.fanout_deferral [--devices 20000] [--rounds 3]

On a scratch SQLite file: ``devices`` FCM devices of as many users, half of them naming
Europe/Berlin as their zone (the others fall back to UTC). The whole audience is fanned
out (pages of 2000, a row per delivery, send jobs queued, nothing sent) for each kind in
turn, ``rounds`` times: without quiet hours (the baseline), with quiet hours that nobody
is inside (each page reads its devices' zones and decides, nobody held), with quiet hours
that everyone is inside (every delivery held: due times on the rows, batches queued for
the window's end), and with ``deliver_at_local`` (everyone held till their own time).
Printed: seconds per fan-out (best of the rounds) and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pushgate.cli.runtime import OPERATOR
from pushgate.config import Settings
from pushgate.core.device_import import DeviceImporter
from pushgate.core.ids import new_id, now_ms
from pushgate.core.inputs import AppInput
from pushgate.core.models import Tenant
from pushgate.core.notifications import Notification, NotificationState
from pushgate.delivery.jobs import FANOUT, FanoutJob, read_fanout
from pushgate.wiring import Services, build_services, build_worker


async def populate(services: Services, devices: int) -> tuple[Tenant, str]:
    tenant = await services.access.ensure_default_tenant()
    app = await services.registry.create_app(OPERATOR, tenant, AppInput(name="bench"))
    rows = [
        (
            i,
            {"provider": "fcm", "token": f"{i:040d}", "user": f"u{i}"}
            | ({"timezone": "Europe/Berlin"} if i % 2 else {}),
        )
        for i in range(devices)
    ]
    await DeviceImporter(services.registry, services.people, tenant, app).run(iter(rows))
    return tenant, app.id


def hh_mm(hours_from_now: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours_from_now)).strftime("%H:00")


async def quiet(services: Services, tenant: Tenant, window: tuple[str, str] | None) -> None:
    for name, value in zip(
        ("quiet_hours.start", "quiet_hours.end"), window or (None, None), strict=True
    ):
        await services.scoped_settings.change(OPERATOR, tenant, None, name, value)


async def fan_out(
    services: Services, tenant_id: str, app_id: str, content: dict[str, Any]
) -> float:
    at = now_ms()
    item = Notification(
        new_id(),
        tenant_id,
        app_id,
        None,
        {"everyone": True},
        content,
        NotificationState.SENDING,
        0,
        False,
        None,
        at + 86_400_000,
        at,
        at,
    )
    await services.notifications.insert_notification(item)
    handle = build_worker(services)
    try:
        started = time.perf_counter()
        await handle.worker.fanout.run(FanoutJob(item.id))
        while jobs := await services.queue.lease((FANOUT,), 10, 60.0):
            for job in jobs:
                await handle.worker.fanout.run(read_fanout(job.payload))
            await services.queue.ack(jobs)
        return time.perf_counter() - started
    finally:
        await handle.close()


async def main(devices: int, rounds: int) -> None:
    plain = {"title": "t", "priority": "normal"}
    # UTC recipients are at hour h, Berlin ones at h+1 (or h+2 in summer).
    kinds: dict[str, tuple[tuple[str, str] | None, dict[str, Any]]] = {
        "no quiet hours": (None, plain),
        "quiet hours, nobody inside": ((hh_mm(4), hh_mm(5)), plain),
        "quiet hours, everyone inside": ((hh_mm(-1), hh_mm(4)), plain),
        "deliver_at_local, everyone held": (None, plain | {"deliver_at_local": hh_mm(6)}),
    }
    with tempfile.TemporaryDirectory() as folder:
        services = await build_services(Settings(data_dir=Path(folder)))
        try:
            tenant, app_id = await populate(services, devices)
            best = dict.fromkeys(kinds, float("inf"))
            for _ in range(rounds):
                for label, (window, content) in kinds.items():
                    await quiet(services, tenant, window)
                    took = await fan_out(services, tenant.id, app_id, content)
                    best[label] = min(best[label], took)
            base = best["no quiet hours"]
            print(f"{devices} devices, pages of 2000, best of {rounds}")
            for label, took in best.items():
                rate = devices / took
                print(f"  {label:32} {took:7.3f} s  {rate:9.0f} devices/s  x{took / base:.2f}")
        finally:
            await services.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.devices, arguments.rounds))
