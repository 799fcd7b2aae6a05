"""The soak's figures as the Markdown pasted into docs/reliability.md "Soak", and as JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from pathlib import Path

from tests.soak.monitor import ReadinessProbe
from tests.soak.schedule import Plan
from tests.soak.stack import Tuning
from tests.soak.tally import Figures


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{platform.machine()}, {os.cpu_count()} cores, load average {load} at the end"


def markdown(plan: Plan, tuning: Tuning, figures: Figures, seconds: float) -> str:
    lines = [
        f"seed {plan.seed}: {figures.broadcasts} broadcasts x {figures.devices} devices, "
        f"{len(plan.strikes)} faults over {figures.chaos_seconds:.0f} s; {machine()}; "
        f"whole run {seconds:.0f} s",
        f"settings: {tuning.workers} workers x {tuning.worker_concurrency} batches of "
        f"{tuning.send_batch_size}, lease {tuning.lease_seconds:g} s, "
        f"reconcile {tuning.reconcile_seconds:g} s",
        "",
        "| figure | value |",
        "|---|---|",
        f"| broadcasts accepted (client got a 2xx) | {figures.accepted} of {figures.broadcasts} "
        f"({figures.answered_again} answered `created: false` on a retry) |",
        f"| client requests, by answer | {figures.client_attempts}: "
        + ", ".join(f"{k} x{v}" for k, v in figures.client_answers.items())
        + " |",
        f"| deliveries received by the provider | {figures.received} "
        f"({figures.provider_faults} requests refused or cut in its outage) |",
        f"| lost (deliveries / notifications) | {figures.lost_deliveries} / "
        f"{figures.lost_notifications} |",
        f"| stranded | {figures.stranded} |",
        f"| duplicates at the provider (same apns-id) | {figures.duplicates} "
        f"(bound: {figures.duplicate_bound} in flight) |",
        f"| a device given one broadcast under two ids | {figures.double_notified} |",
        f"| a broadcast from accepted to final, median / longest | "
        f"{figures.broadcast_seconds[0]:.1f} s / {figures.broadcast_seconds[1]:.1f} s |",
        f"| last fault's end to everything sent before it final | {figures.drain_seconds:.1f} s |",
        "",
        "| t (s) | fault | lasted (s) | /readyz down (s) | in flight | all settled after (s) "
        "| longest stall (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures.faults:
        lines.append(
            f"| {f.at:.1f} | {f.kind} | {f.lasted:.1f} | {f.unready:.1f} | {f.in_flight} "
            f"| {f.settled_after:.1f} | {f.longest_stall:.1f} |"
        )
    if figures.refused:
        lines += ["", "refused: " + "; ".join(figures.refused)]
    return "\n".join(lines)


def write_json(
    path: Path, plan: Plan, tuning: Tuning, figures: Figures, probe: ReadinessProbe
) -> None:
    document = {
        "readyz": [dataclasses.asdict(sample) for sample in probe.samples],
        "plan": dataclasses.asdict(plan),
        "tuning": dataclasses.asdict(tuning),
        "figures": dataclasses.asdict(figures),
        "machine": machine(),
    }
    path.write_text(json.dumps(document, indent=2, default=str))
