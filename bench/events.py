"""Record events: how many the API accepts a second, one by one and in batches, and the
time from an event to its trigger's first delivery, against a plain send.

One embedded instance (``pushgate serve``, SQLite, the worker in the process, pinned to
CPU 0) with 100 APNs devices of users ``user-0`` … ``user-99``; the APNs simulator on
CPU 1 (bench/e2e.py's set-up). One app type whose template reads the event, and one
trigger: ``incident.assigned`` with ``event.record.fields.priority <= 2`` to the user at
``record.fields.assigned_to``. In the same run:

- ``single``: events posted one at a time by one client (an event name no trigger takes,
  so what is measured is accepting; each event's job still runs);
- ``batch``: the same events in ``POST /v1/events:batch`` bodies of 1,000;
- ``inbound``: the same number posted one at a time to a ``datanotifier`` source as a
  scheduling system's notifier sends them (its own client, a fresh HS256 JWT each, a body
  the source's mapping turns into the same event), for what verifying and mapping cost;
- ``send``: the baseline, ``POST /v1/notifications`` one at a time, for the ratio;
- ``latency``: one event at a time through the trigger, from the request to the
  simulator's receipt, against a plain send to the same device measured the same way.

    .venv/bin/python bench/events.py [--events 5000] [--batches 10] [--latency 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "bench"))
# typed_broadcast (whose set-up is used) imports e2e and e2e_processes, as this would.
import typed_broadcast  # noqa: E402

e2e = typed_broadcast.e2e
proc = typed_broadcast.proc
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

DEVICES = 100
TEMPLATE = {"title": "{{ data.event.record.id }}", "body": "{{ data.event.name }}"}
TRIGGER = {
    "key": "assigned",
    "events": ["incident.assigned"],
    "condition": "event.record.fields.priority <= 2",
    "recipients": {"kind": "field", "path": "record.fields.assigned_to"},
    "type": "incident",
}


def event(name: str, index: int, data: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "operation": "update",
        "record": {
            "type": "incident",
            "id": f"INC{index}",
            "fields": {"priority": 1, "assigned_to": f"user-{index % DEVICES}"},
        },
        "actor": "bench",
        "data": data or {},
    }


def accept_single(instance: e2e.Instance, count: int) -> float:
    started = time.perf_counter()
    for index in range(count):
        instance.api.post("/v1/events", json=event("bench.ignored", index)).raise_for_status()
    return count / (time.perf_counter() - started)


def accept_batches(instance: e2e.Instance, batches: int) -> float:
    started = time.perf_counter()
    for round_ in range(batches):
        body = {"events": [event("bench.ignored", round_ * 1000 + i) for i in range(1000)]}
        instance.api.post("/v1/events:batch", json=body).raise_for_status()
    return batches * 1000 / (time.perf_counter() - started)


NOTIFIER_SECRET = "bench-secret-of-the-scheduling-system-0123456789"  # noqa: S105 - a bench's own
SOURCE = {
    "key": "scheduler",
    "kind": "datanotifier",
    "verification": {"alg": "HS256", "secret": NOTIFIER_SECRET},
    "mapping": {
        "name": "NotificationType",
        "record_type": "incident",
        "record_id": "Record.Id",
        "fields": "Record",
        "actor": "Actor",
    },
}


def accept_inbound(instance: e2e.Instance, base: str, count: int) -> float:
    """Notifier bodies one at a time to a datanotifier source, each with a fresh JWT."""
    import jwt

    made = instance.api.post("/v1/sources", json=SOURCE)
    made.raise_for_status()
    path = made.json()["path"]
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=30) as notifier:
        for index in range(count):
            body = {
                "NotificationType": "bench.ignored",
                "Record": {"Id": f"INC{index}", "priority": 1, "assigned_to": "user-0"},
                "Actor": "bench",
            }
            token = jwt.encode({"iat": int(time.time())}, NOTIFIER_SECRET, algorithm="HS256")
            headers = {"User-Agent": "DataNotifier", "Authorization": token}
            answer = notifier.post(path, json=body, headers=headers)
            answer.raise_for_status()
            assert answer.json()["Code"] == 0, answer.text
    return count / (time.perf_counter() - started)


def send_single(instance: e2e.Instance, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        instance.send({"users": ["user-0"]})
    return count / (time.perf_counter() - started)


def queue_empty(instance: e2e.Instance) -> bool:
    kinds = instance.api.get("/v1/queue").json()["kinds"]
    return all(d["ready"] + d["leased"] == 0 for d in kinds.values())


def event_latency(instance: e2e.Instance, targets: e2e.Targets, sends: int) -> list[float]:
    """Milliseconds from each event's request to the simulator's receipt, one at a time."""
    token = proc.device_token(1)
    simulator = targets.simulator
    started: dict[str, float] = {}
    run = uuid.uuid4().hex[:8]
    for index in range(sends):
        before = proc.simulator_accepted(instance.sim, simulator)
        seq = f"{run}-{index}"
        started[seq] = time.time()
        body = event("incident.assigned", 1, {"seq": seq})
        instance.api.post("/v1/events", json=body).raise_for_status()
        e2e.wait_for(
            lambda b=before: proc.simulator_accepted(instance.sim, simulator) > b, 60, 0.0005
        )
    received = instance.sim.get(f"{simulator}/_sim/apns/received").json()["received"]
    return [
        (item["received_at"] - started[item["body"]["seq"]]) * 1000
        for item in received
        if item["token"] == token and item["body"].get("seq") in started
    ]


def run(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
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
        # The devices each of its own user, user-0 … (bench/typed_broadcast.py's set-up).
        admin = typed_broadcast.set_up(env, data_dir, targets, DEVICES)
        serve = proc.start_pushgate(processes, env, ["serve"], True, data_dir / "pushgate.log")
        base = f"http://{env['PUSHGATE_BIND']}"
        proc.wait_healthy(base, serve)
        instance = e2e.Instance(base, admin, folder / "ca.pem")
        instance.api.post(
            f"/v1/apps/{proc.APP}/types", json={"key": "incident", "template": TEMPLATE}
        ).raise_for_status()
        instance.api.post(f"/v1/apps/{proc.APP}/triggers", json=TRIGGER).raise_for_status()
        instance.point_at(targets, simulator)
        e2e.warm_up(instance, targets)
        out: dict[str, Any] = {}
        out["send"] = send_single(instance, args.events)
        print(f"  send: {out['send']:,.0f}/s", flush=True)
        e2e.wait_for(lambda: queue_empty(instance), 900, 0.5)
        started = time.perf_counter()
        out["single"] = accept_single(instance, args.events)
        print(f"  single: {out['single']:,.0f}/s", flush=True)
        out["batch"] = accept_batches(instance, args.batches)
        print(f"  batch: {out['batch']:,.0f}/s", flush=True)
        out["inbound"] = accept_inbound(instance, base, args.events)
        print(f"  inbound: {out['inbound']:,.0f}/s", flush=True)
        drained = e2e.wait_for(lambda: queue_empty(instance), 900, 0.5) - started
        out["drain"] = (2 * args.events + args.batches * 1000) / drained
        print(f"  processed (accept to last job done): {out['drain']:,.0f}/s", flush=True)
        out["send_latency"] = e2e.latency(instance, targets, args.latency)
        out["event_latency"] = event_latency(instance, targets, args.latency)
        return out
    finally:
        processes.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--latency", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pushgate-events-") as tmp:
        found = run(Path(tmp), args)
    print("\n| accepted | per second | ÷ send |")
    print("|---|---|---|")
    for name in ("send", "single", "batch", "inbound"):
        print(f"| {name} | {found[name]:,.0f} | {found[name] / found['send']:.2f} |")
    print("\n| to first delivery | p50 ms | p99 ms | p50 ÷ send |")
    print("|---|---|---|---|")
    base = statistics.median(found["send_latency"])
    for name in ("send_latency", "event_latency"):
        values = found[name]
        p50, p99 = statistics.median(values), e2e.percentile(values, 0.99)
        print(f"| {name.split('_')[0]} | {p50:.1f} | {p99:.1f} | {p50 / base:.2f} |")


if __name__ == "__main__":
    main()
