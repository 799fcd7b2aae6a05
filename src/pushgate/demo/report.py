"""What each simulated device received, read back from the simulators, as a Rich table."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from rich.markup import escape
from rich.table import Table

from pushgate.demo.provisioning import DemoDevice
from pushgate.simulators.runner import SimulatorGroup

MAX_SHOWN = 60
MAX_DEVICE_SHOWN = 24


@dataclass(frozen=True, slots=True)
class DeviceReport:
    """One device: pushgate's delivery state and the messages its simulator recorded."""

    device: DemoDevice
    state: str
    reason: str | None
    received: list[Any]

    @property
    def is_received(self) -> bool:
        return bool(self.received)


def collect(
    simulators: SimulatorGroup, devices: list[DemoDevice], deliveries: list[dict[str, Any]]
) -> list[DeviceReport]:
    """Join pushgate's deliveries with what each device's simulator recorded for it."""
    by_device = {item["device_id"]: item for item in deliveries}
    reports = []
    for device in devices:
        recorded = simulators.simulator(device.provider).received.get(device.received_key, [])
        delivery = by_device.get(device.device_id, {})
        reports.append(
            DeviceReport(
                device,
                str(delivery.get("state", "not targeted")),
                delivery.get("reason"),
                [item.body for item in recorded],
            )
        )
    return reports


def headline(body: Any) -> str:
    """The title and body as the device shows them, wherever its provider puts them."""
    if isinstance(body, str) and body.lstrip().startswith("<"):
        return _toast_text(body)  # WNS toasts are XML (docs/providers.md §4)
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return str(body)
    title, text = _find(body, "title"), _find(body, "body")
    if title is None and text is None:
        return json.dumps(body, separators=(",", ":"))
    return " / ".join(str(part) for part in (title, text) if part is not None)


def _find(value: Any, key: str) -> Any:
    """The first ``key`` in a nested JSON value, depth first."""
    if isinstance(value, dict):
        if isinstance(value.get(key), str):
            return value[key]
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        return None
    for child in children:
        found = _find(child, key)
        if found is not None:
            return found
    return None


def _toast_text(xml: str) -> str:
    try:
        root = ET.fromstring(xml)  # noqa: S314 -- our own simulator's record of our payload
    except ET.ParseError:
        return xml
    return " / ".join(node.text or "" for node in root.iter("text"))


def _shorten(text: str, limit: int = MAX_SHOWN) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def received_table(reports: list[DeviceReport]) -> Table:
    """One row per device; Web Push shows the payload as the browser decrypted it."""
    table = Table(
        "provider",
        "user",
        "device",
        "delivery",
        "received",
        "what arrived (title / body)",
        caption="Web Push payloads travel encrypted (RFC 8291); shown decrypted.",
    )
    for report in reports:
        arrived = _shorten("; ".join(headline(body) for body in report.received))
        if not report.is_received:
            arrived = f"[red]{escape(_shorten(report.reason or ''))}[/red]"
        table.add_row(
            report.device.provider,
            report.device.user,
            _shorten(report.device.received_key, MAX_DEVICE_SHOWN),
            report.state,
            "[green]yes[/green]" if report.is_received else "[red]no[/red]",
            escape(arrived) if report.is_received else arrived,
        )
    return table
