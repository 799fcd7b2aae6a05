"""The demo's second part, the whole loop of an actionable notification (docs/actions.md):
an approval action set, a change request sent to every device, one device per provider
answering Approve through its simulator (``/_sim/<provider>/respond``), the change desk
marking the change approved, and two answers that fail, each pushed back to its device."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from pushgate.demo.desk import APPROVALS_PATH, ESCALATIONS_PATH, ChangeDesk
from pushgate.demo.provisioning import APP, DemoDevice
from pushgate.demo.report import headline
from pushgate.demo.stack import DemoFailed
from pushgate.simulators.identity import app_data
from pushgate.simulators.runner import SimulatorGroup

CHANGE = "CHG0042"
SET = "approval"
# A broken client's body: JSON cut short.
BROKEN_BODY = '{"input": "looks fine'
ERROR_PUSH_SECONDS = 10.0
Say = Callable[[str, bool], None]


@dataclass(frozen=True, slots=True)
class Answered:
    """One simulated device's answer and what pushgate said to it."""

    device: DemoDevice
    action: str
    status: int
    body: dict[str, Any]

    @property
    def is_handled(self) -> bool:
        return self.status == 200 and self.body.get("state") == "succeeded"

    def summary(self) -> str:
        error = self.body.get("error")
        if isinstance(error, dict):
            return f"{self.status} {error.get('code')}: {error.get('message')}"
        result = self.body.get("result") or {}
        said = result.get("message") or result.get("error") or ""
        return f"{self.status} {self.body.get('state')}" + (f" ({said})" if said else "")


class AnswerLoop:
    """Runs the steps against a running demo: ``client`` is the API with the admin key."""

    def __init__(
        self, client: httpx.AsyncClient, simulators: SimulatorGroup, desk: ChangeDesk, say: Say
    ) -> None:
        self.client = client
        self.simulators = simulators
        self.desk = desk
        self.say = say
        # What the loop did, for the devices' reports afterwards (demo/funnel.py): the
        # notification sent and each device's taps on it.
        self.notification_id = ""
        self.tapped: list[tuple[DemoDevice, str]] = []

    async def define_actions(self) -> None:
        """approve → a webhook to the desk, reject → record, escalate → a webhook the
        desk refuses; the set ``approval`` of the three."""
        handlers: dict[str, dict[str, Any]] = {
            "approve": _desk_hook(self.desk, APPROVALS_PATH),
            "reject": {"kind": "record"},
            "escalate": {**_desk_hook(self.desk, ESCALATIONS_PATH), "timeout_seconds": 2},
        }
        for key, handler in handlers.items():
            body = {"key": key, "title": key.title(), "handler": handler, "deadline_seconds": 5}
            made = await self._call("POST", f"/v1/apps/{APP}/actions", body)
            if handler["kind"] == "webhook":
                self.desk.expect(str(made["secret"]))
        await self._call(
            "POST", f"/v1/apps/{APP}/action-sets", {"key": SET, "actions": [*handlers]}
        )
        self.say(
            f"action set {SET!r}: approve → webhook to the change desk "
            f"({self.desk.base_url}{APPROVALS_PATH}), reject → record, "
            f"escalate → webhook the desk refuses",
            True,
        )

    async def send(self) -> str:
        body = {
            "app": APP,
            "audience": {"everyone": True},
            "title": f"Change {CHANGE} needs your approval",
            "body": "Upgrade the mail relay, Saturday 06:00",
            "action_set": SET,
        }
        sent = await self._call("POST", "/v1/notifications", body)
        self.desk.asked(str(sent["id"]), CHANGE)
        self.notification_id = str(sent["id"])
        self.say(f"sent “{body['title']}” with {SET!r} to {sent['targeted']} devices", True)
        return str(sent["id"])

    async def answer(self, device: DemoDevice, action: str, **extra: Any) -> Answered:
        """``device`` taps ``action`` on the latest push it received, through its simulator."""
        simulator = self.simulators.simulator(device.provider)
        self.tapped.append((device, action))
        async with httpx.AsyncClient(verify=self._trust(), timeout=30) as http:
            answer = await http.post(
                f"{simulator.base_url}/_sim/{device.provider}/respond",
                json={"token": device.received_key, "action": action, **extra},
            )
        body = answer.json() if answer.content else {}
        return Answered(device, action, answer.status_code, body)

    async def error_push(self, device: DemoDevice) -> tuple[str, dict[str, Any]]:
        """The push back to ``device`` after its answer failed: (its text, its data)."""
        received = self.simulators.simulator(device.provider).received
        deadline = time.monotonic() + ERROR_PUSH_SECONDS
        while True:
            for item in reversed(received.get(device.received_key, [])):
                data = app_data(device.provider, item.body)
                if data.get("pushgate_kind") == "action_error":
                    return headline(item.body), data
            if time.monotonic() >= deadline:
                raise DemoFailed(f"no error push reached {device.provider} ({device.user})")
            await asyncio.sleep(0.05)

    def _trust(self) -> ssl.SSLContext:
        """The simulators' CA (their control routes are https too)."""
        ca = self.simulators.ca_path
        return ssl.create_default_context(cafile=str(ca) if ca is not None else None)

    async def _call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self.client.request(method, path, json=body)
        if answer.status_code >= 300:
            raise DemoFailed(f"{method} {path} answered {answer.status_code}: {answer.text}")
        found: dict[str, Any] = answer.json()
        return found


def _desk_hook(desk: ChangeDesk, path: str) -> dict[str, Any]:
    return {"kind": "webhook", "url": f"{desk.base_url}{path}", "contract": "success_code_message"}


WaitFinal = Callable[[str], Awaitable[dict[str, Any]]]


async def show_the_loop(loop: AnswerLoop, devices: list[DemoDevice], wait_final: WaitFinal) -> int:
    """Every step, each told with ``loop.say``; 0 when each went as it should, else 1."""
    await loop.define_actions()
    notification_id = await loop.send()
    final = await wait_final(notification_id)
    loop.say(f"notification {final['state']}: {final['deliveries'].get('sent', 0)} sent", True)
    first, second = _first_and_second(devices)
    approvals = [await loop.answer(device, "approve") for device in first.values()]
    for answered in approvals:
        loop.say(
            f"{_who(answered.device)} tapped Approve → {answered.summary()}", answered.is_handled
        )
    record = loop.desk.records[CHANGE]
    approved = record.state == "approved" and len(record.approvals) == len(approvals)
    loop.say(f"change desk: {CHANGE} {record.state} ({len(record.approvals)} approvals)", approved)
    broken = await loop.answer(second["webpush"], "approve", raw_body=BROKEN_BODY)
    loop.say(f"{_who(broken.device)} sent broken JSON → {broken.summary()}", broken.status == 400)
    failed = await loop.answer(second["apns"], "escalate")
    loop.say(f"{_who(failed.device)} tapped Escalate → {failed.summary()}", failed.status >= 400)
    for answered in (broken, failed):
        text, data = await loop.error_push(answered.device)
        kind = data.get("pushgate_kind")
        loop.say(f"error push to {_who(answered.device)}: “{text}” (pushgate_kind {kind})", True)
    fine = all(answered.is_handled for answered in approvals) and approved
    return 0 if fine and broken.status == 400 and failed.status >= 400 else 1


def _first_and_second(
    devices: list[DemoDevice],
) -> tuple[dict[str, DemoDevice], dict[str, DemoDevice]]:
    """Each provider's first device and its second (the demo registers two of each)."""
    first: dict[str, DemoDevice] = {}
    second: dict[str, DemoDevice] = {}
    for device in devices:
        (second if device.provider in first else first).setdefault(device.provider, device)
    return first, second


def _who(device: DemoDevice) -> str:
    return f"{device.provider} ({device.user})"
