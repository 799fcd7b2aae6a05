"""Webhook receiver simulator: an endpoint a signed webhook is delivered to (docs/providers.md §6).

Any ``POST`` outside ``/_sim/`` is a delivery; the path is the "token" its messages and faults
are filed under. It verifies Standard Webhooks signatures against the registered secrets
(several at once for rotation; none registered means unsigned requests are accepted), checks
the ``Authorization`` and ``User-Agent`` values it was told to expect, dedupes on
``webhook-id`` and answers a plain 2xx or the contract body
``{"Success": true, "Code": "0", "Message": "OK"}``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from typing import Any

import orjson

from pushgate.simulators import webhook_signature
from pushgate.simulators.base import Fault, SimRequest, SimResponse, Simulator

REPLY_MODES = ("plain", "contract")


@dataclass(slots=True)
class ReceiverReply:
    """How an accepted delivery is answered: ``plain`` (status, empty body) or ``contract``."""

    mode: str = "plain"
    status: int = 200
    success: bool = True
    code: str = "0"
    message: str = "OK"

    def response(self) -> SimResponse:
        if self.mode == "contract":
            body = {"Success": self.success, "Code": self.code, "Message": self.message}
            return SimResponse.json(self.status, body)
        return SimResponse(self.status)


class WebhookSimulator(Simulator):
    """A receiving endpoint for signed webhooks, with scriptable answers."""

    name = "webhook"

    def __init__(self) -> None:
        super().__init__()
        self.secret_keys: dict[str, bytes] = {}
        self.expected_authorization: str | None = None
        self.expected_user_agent: str | None = None
        self.reply = ReceiverReply()
        self.seen_ids: set[str] = set()
        # Every delivery request as it arrived, answered with a fault or not, to compare the
        # attempts of one webhook-id (a retry must carry the first attempt's body, §6.1).
        self.attempts: list[SimRequest] = []

    # -- Python API -------------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self.seen_ids.clear()
        self.attempts.clear()

    def register_credentials(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Add a ``whsec_`` secret and/or set the expected Authorization and User-Agent."""
        if "secret" in payload:
            secret = str(payload["secret"])
            self.secret_keys[secret] = webhook_signature.decode_secret(secret)
        if "authorization" in payload:
            self.expected_authorization = payload["authorization"]
        if "user_agent" in payload:
            self.expected_user_agent = payload["user_agent"]
        return {"secrets": len(self.secret_keys), "url": f"{self.base_url}/hooks/default"}

    def remove_secret(self, secret: str) -> None:
        """Stop accepting a rotated-out secret."""
        self.secret_keys.pop(secret, None)

    def configure_reply(self, **changes: Any) -> ReceiverReply:
        """Change how accepted deliveries are answered (see :class:`ReceiverReply`)."""
        reply = ReceiverReply(**{**asdict(self.reply), **changes})
        if reply.mode not in REPLY_MODES or not 200 <= reply.status < 300:
            raise ValueError("mode must be plain or contract, status a 2xx")
        self.reply = reply
        return reply

    # -- HTTP -------------------------------------------------------------------------
    async def handle_control(self, request: SimRequest) -> SimResponse:
        if (request.method, request.path) == ("POST", "/_sim/webhook/reply"):
            payload = request.json() if request.body else {}
            known = {f.name for f in fields(ReceiverReply)}
            try:
                reply = self.configure_reply(**{k: v for k, v in payload.items() if k in known})
            except (ValueError, TypeError) as exc:
                return SimResponse.json(400, {"error": str(exc)})
            return SimResponse.json(200, asdict(reply))
        return await super().handle_control(request)

    async def handle_provider(self, request: SimRequest) -> SimResponse:
        path = request.path.split("?", 1)[0]
        if request.method != "POST":
            return SimResponse.json(405, {"error": "webhooks are delivered with POST"})
        self.attempts.append(request)
        fault = self.take_fault(path)
        await self.apply_latency(fault)
        if fault is not None and fault.action is not None:
            return SimResponse(500, action=fault.action)
        if fault is not None and fault.status is not None:
            return self._fault_answer(fault)
        if self.is_dead(path) is not None:
            return SimResponse(410)  # §6.3: 410 Gone tells the sender to disable the endpoint
        refusal = self._check_request(request)
        if refusal is not None:
            self.counters["refused"] += 1
            return refusal
        webhook_id = request.header("webhook-id") or ""
        if webhook_id and webhook_id in self.seen_ids:
            self.counters["duplicates"] += 1
            return self.reply.response()
        if webhook_id:
            self.seen_ids.add(webhook_id)
        headers = {name: value for name, value in request.headers if name.startswith("webhook-")}
        self.record(path, headers, request.json(), webhook_id)
        return self.reply.response()

    def _check_request(self, request: SimRequest) -> SimResponse | None:
        if self.expected_authorization is not None and (
            request.header("authorization") != self.expected_authorization
        ):
            return SimResponse.json(401, {"error": "Authorization does not match"})
        if self.expected_user_agent is not None and (
            request.header("user-agent") != self.expected_user_agent
        ):
            return SimResponse.json(400, {"error": "User-Agent does not match"})
        if self.secret_keys:
            try:
                webhook_signature.verify(
                    list(self.secret_keys.values()),
                    webhook_id=request.header("webhook-id"),
                    timestamp=request.header("webhook-timestamp"),
                    signature_header=request.header("webhook-signature"),
                    body=request.body,
                    now=time.time(),
                )
            except webhook_signature.SignatureError as exc:
                return SimResponse.json(400, {"error": str(exc)})
        try:
            orjson.loads(request.body)
        except orjson.JSONDecodeError:
            return SimResponse.json(400, {"error": "body is not JSON"})
        return None

    def _fault_answer(self, fault: Fault) -> SimResponse:
        status = fault.status or 500
        headers: list[tuple[str, str]] = []
        if 300 <= status < 400:
            headers.append(("location", f"{self.base_url}/moved"))  # §6.3: never followed
        if fault.retry_after is not None:
            headers.append(("retry-after", str(fault.retry_after)))
        if fault.reason == "abort-message":
            headers.append(("webhook-delivery", "abort-message"))  # Svix, §6.4
        return SimResponse(status, headers, (fault.reason or "").encode())
