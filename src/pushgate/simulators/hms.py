"""HMS Push Kit simulator: the OAuth token endpoint and ``POST /v1/{appId}/messages:send``
(docs/providers.md §5), answering with HMS result codes.

Every push token that has not been marked dead is deliverable; dead or empty tokens are the
``illegal_tokens`` of a partial success (80100000) or, when none is left, 80300007.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from typing import Any

import orjson

from pushgate.simulators.base import Fault, SimRequest, SimResponse, Simulator
from pushgate.simulators.client_credentials import (
    ClientCredentialsIssuer,
    GrantError,
    TokenState,
    parse_form,
)
from pushgate.simulators.hms_message import MessageProblem, check_message

LOGIN_PATH = "/oauth2/v3/token"
SEND_PATH = re.compile(r"/v1/(?P<app_id>[^/]+)/messages:send")
TOKEN_LIFETIME = 3600  # §5.1

# HTTP status of each result code answered here (§5.3; the mapping is partly unconfirmed).
STATUS_OF_CODE = {
    "80000000": 200,
    "80100000": 200,
    "80100001": 400,
    "80100003": 400,
    "80100004": 400,
    "80100013": 400,
    "80200001": 401,
    "80200003": 401,
    "80300007": 400,
    "80300008": 400,
    "80300010": 400,
    "81000001": 500,
}


def _make_access_token() -> str:
    # Real HMS tokens are standard base64 and carry '/', which the answer escapes as '\/'.
    encoded = base64.b64encode(secrets.token_bytes(96)).decode("ascii")
    return f"{encoded[:20]}/{encoded[21:]}"


def hms_answer(code: str, msg: str, status: int | None = None) -> SimResponse:
    """The HMS send answer body ``{"code", "msg", "requestId"}``."""
    body = {"code": code, "msg": msg, "requestId": secrets.token_hex(12)}
    status = status if status is not None else STATUS_OF_CODE.get(code, 400)
    return SimResponse.json(status, body)


class HmsSimulator(Simulator):
    """HMS token endpoint plus the v1 send API with token-level results."""

    name = "hms"

    def __init__(self) -> None:
        super().__init__()
        self.issuer = ClientCredentialsIssuer(TOKEN_LIFETIME, make_token=_make_access_token)

    # -- Python API -------------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self.issuer.clear_tokens()

    def register_credentials(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Register an app: its OAuth client id (the appId) and client secret."""
        self.issuer.register(str(payload["client_id"]), str(payload["client_secret"]))
        return {
            "client_id": payload["client_id"],
            "token_url": f"{self.base_url}{LOGIN_PATH}",
            "send_url": f"{self.base_url}/v1/{payload['client_id']}/messages:send",
        }

    def expire_tokens(self) -> None:
        """Every issued access token is expired from now on (80200003 until refreshed)."""
        self.issuer.expire_all()

    # -- HTTP -------------------------------------------------------------------------
    async def handle_control(self, request: SimRequest) -> SimResponse:
        if (request.method, request.path) == ("POST", "/_sim/hms/expire-tokens"):
            self.expire_tokens()
            return SimResponse.json(200, {"ok": True})
        return await super().handle_control(request)

    async def handle_provider(self, request: SimRequest) -> SimResponse:
        path = request.path.split("?", 1)[0]
        if path == LOGIN_PATH and request.method == "POST":
            return self._issue_token(request)
        match = SEND_PATH.fullmatch(path)
        if match is None or request.method != "POST":
            return SimResponse.json(404, {"error": "Not Found", "path": path})
        fault = self.take_fault(None)
        await self.apply_latency(fault)
        if fault is not None and fault.action is not None:
            return SimResponse(500, action=fault.action)
        if fault is not None and fault.status is not None:
            return _fault_answer(fault)
        return self._send(request, match["app_id"])

    def _issue_token(self, request: SimRequest) -> SimResponse:
        outcome = self.issuer.issue(parse_form(request.body))
        if isinstance(outcome, GrantError):
            # Huawei OAuth errors are numeric: error 1101 with a sub_error (per SDKs).
            body = {"sub_error": 20152, "error_description": outcome.value, "error": 1101}
            return SimResponse.json(400, body)
        body = {"access_token": outcome.value, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}
        # §5.1: the token contains '/', which Huawei's JSON escapes as '\/'.
        text = json.dumps(body).replace("/", "\\/").encode()
        return SimResponse(200, [("content-type", "application/json;charset=UTF-8")], text)

    def _send(self, request: SimRequest, app_id: str) -> SimResponse:
        state, token = self.issuer.check(request.header("authorization"))
        if state is TokenState.EXPIRED:
            return hms_answer("80200003", "Oauth token expired")
        if state is not TokenState.VALID or token is None or token.client_id != app_id:
            return hms_answer("80200001", "Oauth authentication error")
        try:
            payload = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            return hms_answer("80100001", "Some request parameters are invalid: body is not JSON")
        checked = check_message(payload)
        if isinstance(checked, MessageProblem):
            return hms_answer(checked.code, checked.msg)
        message, targets = checked
        if payload.get("validate_only") is True:
            return hms_answer("80000000", "Success")
        return self._deliver(message, targets)

    def _deliver(self, message: dict[str, Any], targets: list[str]) -> SimResponse:
        illegal = [t for t in targets if not t or self.is_dead(t) is not None]
        delivered = [t for t in targets if t not in illegal]
        if not delivered:
            return hms_answer("80300007", "All the tokens are invalid")
        content = {k: v for k, v in message.items() if k != "token"}
        for target in delivered:
            self.record(target, {}, content, secrets.token_hex(8))
        if not illegal:
            return hms_answer("80000000", "Success")
        # §5.3: partial success puts a JSON document inside the msg *string*.
        summary = {"success": len(delivered), "failure": len(illegal), "illegal_tokens": illegal}
        return hms_answer("80100000", json.dumps(summary))


def _fault_answer(fault: Fault) -> SimResponse:
    status = fault.status or 503
    # §5.3: 503 is flow control, 502 a connection problem, 500 internal; the body code of a
    # flow-control answer is not documented (unconfirmed), a scripted reason overrides it.
    code = fault.reason or "81000001"
    message = "Flow control, retry later" if status == 503 else "System internal error"
    answer = hms_answer(code, message, status)
    if fault.retry_after is not None:
        answer.headers.append(("retry-after", str(fault.retry_after)))
    return answer
