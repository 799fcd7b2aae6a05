"""The demo's devices tell pushgate what was done with their pushes (docs/reports.md): each
reports ``received`` for what reached it, ``opened`` when its person opened it, and the
action tapped, through ``POST /v1/interactions`` with the ``itoken`` the push carried and
no API key, as a device's app does. Then the funnel of each notification, read back from
``GET /v1/notifications/{id}``, as a Rich table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from rich.table import Table

from pushgate.demo.provisioning import APP, DemoDevice
from pushgate.demo.stack import DemoFailed
from pushgate.simulators.identity import identity_of
from pushgate.simulators.runner import SimulatorGroup

STEPS = ("targeted", "sent", "received", "opened", "actioned")


@dataclass(frozen=True, slots=True)
class Engagement:
    """What one device's person did with a push: opened it, and which actions were tapped."""

    device: DemoDevice
    opened: bool = False
    taps: tuple[str, ...] = field(default=())

    def events(self) -> list[tuple[str, str | None]]:
        """(event, action key) in the order a device reports them."""
        found: list[tuple[str, str | None]] = [("received", None)]
        if self.opened or self.taps:
            found.append(("opened", None))
        found += [("action", key) for key in self.taps]
        return found


class Reporter:
    """Reports for the demo's devices: ``base_url`` is pushgate's, reached with no key."""

    def __init__(self, base_url: str, simulators: SimulatorGroup) -> None:
        self.base_url = base_url
        self.simulators = simulators

    def identity(self, device: DemoDevice, notification: str) -> dict[str, str]:
        """The identity of the push of ``notification`` that ``device`` received."""
        recorded = self.simulators.simulator(device.provider).received
        for item in recorded.get(device.received_key, []):
            found = identity_of(device.provider, item.body)
            if found is not None and found.fields.get("notification") == notification:
                return found.fields
        raise DemoFailed(f"{device.provider} ({device.user}) has no push of {notification}")

    async def report(self, notification: str, engaged: Iterable[Engagement]) -> int:
        """Every device's events, a batch per device; how many pushgate recorded."""
        recorded = 0
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as device_side:
            for engagement in engaged:
                fields = self.identity(engagement.device, notification)
                at = datetime.now(UTC).isoformat()
                events = [
                    {
                        "notification": notification,
                        "delivery": fields["delivery"],
                        "token": fields["itoken"],
                        "event": event,
                        "at": at,
                        **({"action_key": key} if key is not None else {}),
                    }
                    for event, key in engagement.events()
                ]
                answer = await device_side.post(
                    "/v1/interactions", json={"app": fields.get("app", APP), "events": events}
                )
                if answer.status_code != 200:
                    raise DemoFailed(
                        f"POST /v1/interactions answered {answer.status_code}: {answer.text}"
                    )
                recorded += int(answer.json()["recorded"])
        return recorded


def funnel_of(status: dict[str, Any]) -> dict[str, int]:
    """targeted, sent, received, opened, actioned, and ``action <key>`` per action tapped,
    from a notification as ``GET /v1/notifications/{id}`` answers it."""
    seen = status.get("interactions") or {}
    funnel = {
        "targeted": int(status["targeted"]),
        "sent": int(status["deliveries"].get("sent", 0)),
        **{step: int(seen.get(step, 0)) for step in ("received", "opened", "actioned")},
    }
    for key, count in sorted((seen.get("actions") or {}).items()):
        funnel[f"action {key}"] = int(count)
    return funnel


def _with_rate(count: int, sent: int) -> str:
    return f"{count} ({round(100 * count / sent)}%)" if sent else str(count)


def funnel_table(rows: list[tuple[str, dict[str, int]]]) -> Table:
    """One row per notification: each step's count, with its rate over the sent."""
    table = Table("notification", *STEPS, "actions", caption="Rates are over the deliveries sent.")
    for title, funnel in rows:
        sent = funnel["sent"]
        taps = ", ".join(
            f"{name.removeprefix('action ')} {count}"
            for name, count in funnel.items()
            if name.startswith("action ")
        )
        table.add_row(
            title,
            str(funnel["targeted"]),
            str(sent),
            *(_with_rate(funnel[step], sent) for step in ("received", "opened", "actioned")),
            taps or "—",
        )
    return table
