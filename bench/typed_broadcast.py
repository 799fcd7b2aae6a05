"""A broadcast sent as a notification type, against the same broadcast sent plain.

One embedded instance (``pushgate serve``, SQLite, pinned to CPU 0) with N APNs devices,
each of its own user whose attributes carry a ``name``, imported before the clock starts;
the APNs simulator on CPU 1 (bench/e2e.py's set-up and clock: from the send request to
the simulator's ``accepted`` counter reaching N). In the same run, rounds alternate:

- ``plain``: title and body in the request, no type;
- ``data``: a type whose template reads only ``data`` (rendered once, at accept);
- ``recipient``: a type whose title is ``Hi {{ user.attributes.name }}`` (rendered per
  delivery, the users read once per send batch);
- ``data_prefs`` and ``recipient_prefs``: the same types while 10% of users and 5% of
  devices have preferences (written before the round and removed after it, so the other
  kinds meet a tenant without any). They name another type, so every device is still
  sent the broadcast and the clock ends as before: what is measured is the fan-out's read
  and check of the page's preferences.

Each figure is the median of ``--rounds`` broadcasts; ratios are against ``plain``.

    .venv/bin/python bench/typed_broadcast.py [--devices 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "bench"))
import e2e  # noqa: E402
import e2e_processes as proc  # noqa: E402

sys.path.pop(0)

KINDS = ("plain", "data", "recipient", "data_prefs", "recipient_prefs")
TYPES = {
    "data": {"title": "Bench {{ data.n }}", "body": "{{ data.text }}"},
    "recipient": {"title": "Hi {{ user.attributes.name }}", "body": "{{ data.text }}"},
}
PREFS_SUFFIX = "_prefs"
# The preference cache (core/preferences.py PreferenceFilter) keeps a tenant's flag 2 s.
FLAG_SECONDS = 2.5
USER_PREFERENCES = json.dumps(
    {"default": "in", "types": {"other": {"choice": "out", "providers_out": []}}}
)


def quiet_hours_elsewhere() -> str:
    """Quiet hours (an hour, six hours from now in UTC, the zone of every recipient here)
    that the fan-out reads and checks but that hold nobody back: a round ends when every
    device got the broadcast, and a deferred one would never come in time."""
    start = time.gmtime(time.time() + 6 * 3600)
    end = time.gmtime(time.time() + 7 * 3600)
    window = {
        "start": f"{start.tm_hour:02d}:{start.tm_min:02d}",
        "end": f"{end.tm_hour:02d}:{end.tm_min:02d}",
        "urgent_passes": False,
    }
    return json.dumps(window)


class TypedInstance(e2e.Instance):
    """Sends as one of KINDS (``kind``), else as bench/e2e.py does."""

    kind = "plain"

    def __init__(self, base: str, admin_key: str, ca_file: Path) -> None:
        super().__init__(base, admin_key, ca_file)
        # The simulator answers its counters slowly while it takes a broadcast on a busy
        # machine: wait for it rather than fail the run.
        self.sim.timeout = httpx.Timeout(60)

    def send(self, audience: dict[str, Any], data: dict[str, str] | None = None) -> str:
        if self.kind == "plain":
            return super().send(audience, data)
        body = {
            "app": proc.APP,
            "audience": audience,
            "type": self.kind.removesuffix(PREFS_SUFFIX),
            "data": {"n": "1", "text": "x" * 60, **(data or {})},
        }
        answer = self.api.post("/v1/notifications", json=body)
        answer.raise_for_status()
        return str(answer.json()["id"])


def write_devices(path: Path, count: int) -> None:
    """The devices, each of its own user (created by the import)."""
    with path.open("w") as out:
        out.write("provider,token,platform,user\n")
        for index in range(count):
            out.write(f"apns,{proc.device_token(index)},ios,user-{index}\n")


def name_every_user(database: Path) -> None:
    """Give every user a ``name`` attribute, in one statement (set-up, not timed)."""
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE users SET attributes = json_object('name', external_id)")


def preferences_on(database: Path) -> None:
    """Preferences for every tenth user and every twentieth device (set-up, not timed)."""
    at = int(time.time() * 1000)
    with sqlite3.connect(database, timeout=60) as connection:
        connection.execute(
            "INSERT INTO user_preferences (user_id, tenant_id, document, quiet_hours, updated_at)"
            " SELECT id, tenant_id, ?, ?, ? FROM users WHERE rowid % 10 = 0",
            (USER_PREFERENCES, quiet_hours_elsewhere(), at),
        )
        connection.execute(
            "INSERT INTO device_preferences (device_id, tenant_id, enabled, muted_types,"
            " updated_at) SELECT id, tenant_id, 1, '[\"other\"]', ? FROM devices"
            " WHERE rowid % 20 = 1",
            (at,),
        )
    time.sleep(FLAG_SECONDS)


def preferences_off(database: Path) -> None:
    with sqlite3.connect(database, timeout=60) as connection:
        connection.execute("DELETE FROM user_preferences")
        connection.execute("DELETE FROM device_preferences")
    time.sleep(FLAG_SECONDS)


def set_up(env: dict[str, str], folder: Path, targets: e2e.Targets, devices: int) -> str:
    proc.cli(env, "migrate")
    admin = proc.admin_key(env, folder)
    credentials = folder / "apns-credentials.json"
    credentials.write_text(json.dumps(proc.apns_credentials(targets.key, targets.simulator)))
    with proc.admin_server(env, folder, admin) as remote:
        proc.cli(remote, "apps", "create", proc.APP)
        proc.cli(remote, "apps", "set-credentials", proc.APP, "apns", "--file", str(credentials))
    csv = folder / "devices.csv"
    write_devices(csv, devices)
    proc.cli(env, "devices", "import", str(csv), "--app", proc.APP)
    name_every_user(folder / "pushgate.db")
    return admin


def run(folder: Path, args: argparse.Namespace) -> dict[str, list[float]]:
    processes = proc.Processes()
    try:
        simulator = proc.start_simulator(processes, folder)
        key = proc.make_apns_key(folder)
        proc.register_key(simulator, key, folder / "ca.pem")
        targets = e2e.Targets(folder, key, simulator, None)
        data_dir = folder / "embedded"
        data_dir.mkdir()
        args.concurrency = args.batch = args.records = None
        env = proc.clean_env(**e2e.mode_settings("embedded", data_dir, folder / "ca.pem", args))
        admin_key = set_up(env, data_dir, targets, args.devices)
        serve = proc.start_pushgate(processes, env, ["serve"], True, data_dir / "pushgate.log")
        base = f"http://{env['PUSHGATE_BIND']}"
        proc.wait_healthy(base, serve)
        instance = TypedInstance(base, admin_key, folder / "ca.pem")
        for kind, template in TYPES.items():
            made = instance.api.post(
                f"/v1/apps/{proc.APP}/types", json={"key": kind, "template": template}
            )
            made.raise_for_status()
        instance.point_at(targets, simulator)
        e2e.warm_up(instance, targets)
        seconds: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for round_ in range(args.rounds):
            for kind in KINDS:
                instance.kind = kind
                if kind.endswith(PREFS_SUFFIX):
                    preferences_on(data_dir / "pushgate.db")
                took = e2e.broadcast(instance, targets, "simulator", args.devices)
                if kind.endswith(PREFS_SUFFIX):
                    preferences_off(data_dir / "pushgate.db")
                seconds[kind].append(took)
                print(
                    f"  round {round_ + 1} {kind}: {args.devices / took:,.0f}/s",
                    flush=True,
                )
                time.sleep(1)
        return seconds
    finally:
        processes.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pushgate-typed-") as tmp:
        seconds = run(Path(tmp), args)
    plain = args.devices / statistics.median(seconds["plain"])
    print("\n| broadcast | devices | deliveries/s (median) | ÷ plain |")
    print("|---|---|---|---|")
    for kind in KINDS:
        rate = args.devices / statistics.median(seconds[kind])
        print(f"| {kind} | {args.devices:,} | {rate:,.0f} | {rate / plain:.2f} |")


if __name__ == "__main__":
    main()
