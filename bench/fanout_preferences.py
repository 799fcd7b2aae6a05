"""Fan-out of a typed broadcast while people have preferences: the CPU the page's
preferences, quiet hours and zones cost (docs/preferences.md, "Cost").

    .venv/bin/python -m bench.fanout_preferences [--devices 20000] [--rounds 3]

On a scratch SQLite file (bench/fanout_switches.py's set-up): ``devices`` FCM devices of
as many users. Each round fans out the whole audience (pages of 2000, a row per
delivery, send jobs queued, nothing sent) three times: without a type, with a type, and
with the type while 10% of users (opted out of another type, with quiet hours that hold
nobody) and 5% of devices (muting another type) have preferences, as
bench/typed_broadcast.py's ``*_prefs`` kinds have. Printed: the process's CPU seconds
per fan-out (user + system, every thread: SQLite's included), the least of the rounds,
and the ratio of the last kind to the typed one. CPU rather than wall time, so that other
work on the machine moves the figures less. Run it with ``PYTHONPATH=<other src>`` to
measure another tree in the same sitting.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fanout_switches import fan_out, populate, preferences_off

from pushgate.config import Settings
from pushgate.core.ids import now_ms
from pushgate.core.preferences import Choice, DevicePreferences, TypeChoice, UserPreferences
from pushgate.storage.tables import devices, users
from pushgate.wiring import Services, build_services


def quiet_elsewhere() -> dict[str, object]:
    """An hour's window six hours from now (UTC, every recipient's zone here)."""
    start = datetime.now(UTC) + timedelta(hours=6)
    end = start + timedelta(hours=1)
    return {"start": start.strftime("%H:00"), "end": end.strftime("%H:00"), "urgent_passes": False}


async def preferences_on(services: Services, tenant_id: str) -> None:
    store = services.preference_store
    async with services.engine.connect() as connection:
        user_ids = (await connection.execute(sa.select(users.c.id))).scalars().all()
        device_ids = (await connection.execute(sa.select(devices.c.id))).scalars().all()
    said = UserPreferences(types={"other": TypeChoice(Choice.OUT)}, quiet_hours=quiet_elsewhere())
    for user_id in user_ids[::10]:
        await store.put_user_preferences(tenant_id, user_id, said, now_ms())
    muted = DevicePreferences(muted_types=("other",))
    for device_id in device_ids[1::20]:
        await store.put_device_preferences(tenant_id, device_id, muted, now_ms())
    services.preference_filter.forget()


async def cpu_of(services: Services, tenant_id: str, app_id: str, type_key: str | None) -> float:
    started = time.process_time()
    await fan_out(services, tenant_id, app_id, type_key)
    return time.process_time() - started


async def main(count: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        services = await build_services(Settings(data_dir=Path(folder)))
        try:
            tenant_id, app_id = await populate(services, count)
            kinds = {"no type": None, "type": "global", "type, preferences": "global"}
            best = dict.fromkeys(kinds, float("inf"))
            for _ in range(rounds):
                for label, type_key in kinds.items():
                    if label == "type, preferences":
                        await preferences_on(services, tenant_id)
                    took = await cpu_of(services, tenant_id, app_id, type_key)
                    if label == "type, preferences":
                        await preferences_off(services)
                    best[label] = min(best[label], took)
            print(f"{count} devices, pages of 2000, least CPU of {rounds}")
            for label, took in best.items():
                print(f"  {label:18} {took:6.3f} s  x{took / best['type']:.2f}")
        finally:
            await services.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.devices, arguments.rounds))
