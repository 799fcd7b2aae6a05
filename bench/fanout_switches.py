"""Fan-out with type switches: what resolving them per recipient costs a broadcast.

    .venv/bin/python -m bench.fanout_switches [--devices 20000] [--rounds 3]

On a scratch SQLite file: ``devices`` FCM devices of as many users, half of them in one of
ten units (under one parent). The whole audience is fanned out (pages of 2000, a row per
delivery, send jobs queued, nothing sent) for three notifications in turn, ``rounds``
times: without a type (the baseline), with a type switched only globally (no unit read),
with a type switched off in two units (every page reads its users' units), and with the
global type while 10% of users and 5% of devices have preferences: once naming another
type (every page reads them, none applies) and once with those users opted out of this
one (10% suppressed). The preferences are stored before their round and removed after
it, so the other kinds meet a tenant without any. Printed: seconds per fan-out (best of
the rounds) and the ratio to the baseline in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pushgate.cli.runtime import OPERATOR
from pushgate.config import Settings
from pushgate.core.device_import import DeviceImporter
from pushgate.core.ids import new_id, now_ms
from pushgate.core.inputs import AppInput
from pushgate.core.notifications import Notification, NotificationState
from pushgate.core.preferences import Choice, DevicePreferences, TypeChoice, UserPreferences
from pushgate.core.units import UnitInput
from pushgate.delivery.jobs import FANOUT, FanoutJob, read_fanout
from pushgate.storage.tables import device_preferences, devices, user_preferences, users
from pushgate.wiring import Services, build_services, build_worker

UNITS = 10


async def populate(services: Services, devices: int) -> tuple[str, str]:
    tenant = await services.access.ensure_default_tenant()
    app = await services.registry.create_app(OPERATOR, tenant, AppInput(name="bench"))
    await services.units.create(OPERATOR, tenant, UnitInput(key="region", name="region"))
    for n in range(UNITS):
        data = UnitInput(key=f"unit-{n}", name=f"unit {n}", parent="region")
        await services.units.create(OPERATOR, tenant, data)
    rows = [(i, {"provider": "fcm", "token": f"{i:040d}", "user": f"u{i}"}) for i in range(devices)]
    keys = frozenset(f"unit-{n}" for n in range(UNITS))
    await DeviceImporter(services.registry, services.people, tenant, app, unit_keys=keys).run(
        iter(rows)
    )
    units = {f"u{i}": f"unit-{i % UNITS}" for i in range(0, devices, 2)}
    await services.people.set_units(tenant.id, units)
    for n in (3, 7):
        await services.scoped_settings.change(
            OPERATOR, tenant, f"unit-{n}", "types.by_unit.enabled", False
        )
    await services.scoped_settings.change(OPERATOR, tenant, None, "types.global.enabled", True)
    return tenant.id, app.id


async def preferences_on(services: Services, tenant_id: str, opted_out_of: str) -> None:
    """Every tenth user opts out of ``opted_out_of``; every twentieth device mutes
    ``other`` (set-up, not timed)."""
    store = services.preference_store
    async with services.engine.connect() as connection:
        user_ids = (await connection.execute(sa.select(users.c.id))).scalars().all()
        device_ids = (await connection.execute(sa.select(devices.c.id))).scalars().all()
    said = UserPreferences(types={opted_out_of: TypeChoice(Choice.OUT)})
    for user_id in user_ids[::10]:
        await store.put_user_preferences(tenant_id, user_id, said, now_ms())
    muted = DevicePreferences(muted_types=("other",))
    for device_id in device_ids[1::20]:
        await store.put_device_preferences(tenant_id, device_id, muted, now_ms())
    services.preference_filter.forget()


async def preferences_off(services: Services) -> None:
    async with services.engine.begin() as connection:
        await connection.execute(sa.delete(user_preferences))
        await connection.execute(sa.delete(device_preferences))
    services.preference_filter.forget()


async def fan_out(services: Services, tenant_id: str, app_id: str, type_key: str | None) -> float:
    at = now_ms()
    item = Notification(
        new_id(),
        tenant_id,
        app_id,
        None,
        {"everyone": True},
        {"title": "t"},
        NotificationState.SENDING,
        0,
        False,
        None,
        at + 3_600_000,
        at,
        at,
        type_key=type_key,
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
    with tempfile.TemporaryDirectory() as folder:
        services = await build_services(Settings(data_dir=Path(folder)))
        try:
            tenant_id, app_id = await populate(services, devices)
            kinds = {
                "no type": None,
                "type, global switch": "global",
                "type, unit switches": "by_unit",
                "type, preferences": "global",
                "type, 10% opted out": "global",
            }
            opting = {"type, preferences": "other", "type, 10% opted out": "global"}
            best = dict.fromkeys(kinds, float("inf"))
            for _ in range(rounds):
                for label, type_key in kinds.items():
                    if label in opting:
                        await preferences_on(services, tenant_id, opting[label])
                    took = await fan_out(services, tenant_id, app_id, type_key)
                    if label in opting:
                        await preferences_off(services)
                    best[label] = min(best[label], took)
            base = best["no type"]
            print(f"{devices} devices, pages of 2000, best of {rounds}")
            for label, took in best.items():
                rate = devices / took
                print(f"  {label:22} {took:7.3f} s  {rate:9.0f} devices/s  x{took / base:.2f}")
        finally:
            await services.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.devices, arguments.rounds))
