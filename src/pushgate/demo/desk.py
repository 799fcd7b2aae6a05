"""The demo's host system: a change desk on 127.0.0.1 that pushgate's webhook handlers post
answers to (docs/actions.md, "Handlers"). It keeps change records, marks one approved when
an approval for it arrives, and refuses escalations (a change freeze), so the demo shows a
handler that fails.

It is served by the simulators' HTTP server (any loopback receiver would do); it checks
each request's Standard Webhooks signature with the action's secret, and keys its effect on
the response id (the ``webhook-id``), since handlers run at least once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from pushgate.simulators import webhook_signature
from pushgate.simulators.base import SimRequest, SimResponse, Simulator

APPROVALS_PATH = "/approvals"
ESCALATIONS_PATH = "/escalations"
FREEZE_MESSAGE = "escalations are closed during the change freeze"


@dataclass
class ChangeRecord:
    """One change request: its state and who approved it (by response id)."""

    number: str
    state: str = "awaiting approval"
    approvals: dict[str, str] = field(default_factory=dict)  # response id -> device id


class ChangeDesk(Simulator):
    """The host system's receiver; answers in the ``success_code_message`` contract."""

    name = "desk"

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, ChangeRecord] = {}
        self.about: dict[str, str] = {}  # notification id -> the change it asks about
        self.secrets: list[bytes] = []

    def expect(self, secret: str) -> None:
        """Accept answers signed with ``secret`` (an action's webhook secret)."""
        self.secrets.append(webhook_signature.decode_secret(secret))

    def asked(self, notification_id: str, number: str) -> ChangeRecord:
        """Remember that ``notification_id`` asks for approval of change ``number``."""
        self.about[notification_id] = number
        return self.records.setdefault(number, ChangeRecord(number))

    async def handle_provider(self, request: SimRequest) -> SimResponse:
        try:
            webhook_signature.verify(
                self.secrets,
                webhook_id=request.header("webhook-id"),
                timestamp=request.header("webhook-timestamp"),
                signature_header=request.header("webhook-signature"),
                body=request.body,
                now=time.time(),
            )
            answer = orjson.loads(request.body)["data"]
        except (webhook_signature.SignatureError, orjson.JSONDecodeError, KeyError) as exc:
            return SimResponse.json(400, {"error": str(exc)})
        self.record(request.path, {}, answer, str(answer.get("id")))
        if request.path == ESCALATIONS_PATH:
            return _contract(False, "FROZEN", FREEZE_MESSAGE)
        return self._approve(answer)

    def _approve(self, answer: dict[str, Any]) -> SimResponse:
        number = self.about.get(str(answer.get("notification_id")))
        record = self.records.get(number) if number is not None else None
        if record is None:
            return _contract(False, "UNKNOWN", "no change request for that notification")
        record.approvals[str(answer["id"])] = str(answer.get("device_id"))
        record.state = "approved"
        return _contract(True, "0", f"{record.number} approved")


def _contract(success: bool, code: str, message: str) -> SimResponse:
    return SimResponse.json(200, {"Success": success, "Code": code, "Message": message})
