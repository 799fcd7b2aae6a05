"""Reading an HMS ``messages:send`` answer (docs/providers.md §5.3): the result code of the
request, and for a partial success the ``illegal_tokens`` inside the ``msg`` string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from pushgate.core.outcomes import (
    Outcome,
    RetryClass,
    auth_failed,
    invalid_token,
    rejected,
    retry,
    sent,
)
from pushgate.providers.http_client import Answer, retry_after, short_reason

SUCCESS = "80000000"
PARTIAL_SUCCESS = "80100000"
INVALID_TOKENS = "80300007"
TOO_LARGE = "80300008"
INTERNAL_ERROR = "81000001"
AUTH_CODES = frozenset({"80200001", "80200003", "80300002"})
# §5.3: 502 is a connection problem and 503 flow control; both mean "later".
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
FLOW_CONTROL_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class SendResult:
    """The answer to one request: an outcome for every token in it."""

    code: str
    outcome: Outcome
    illegal_tokens: frozenset[str] = field(default_factory=frozenset)

    def outcome_for(self, token: str) -> Outcome:
        if token in self.illegal_tokens:
            return invalid_token("HMS listed the token as illegal", status=self.outcome.status)
        return self.outcome


def read_result(answer: Answer, now: float) -> SendResult:
    """Map the HTTP status and result code to outcomes (§5.3 table)."""
    body = _json(answer.body)
    code = str(body.get("code", ""))
    msg = str(body.get("msg", ""))
    status = answer.status
    request_id = body.get("requestId")
    message_id = str(request_id) if request_id is not None else None
    if code == SUCCESS:
        return SendResult(code, sent(message_id, status))
    if code == PARTIAL_SUCCESS:
        return SendResult(code, sent(message_id, status), _illegal_tokens(msg))
    reason = short_reason(f"HMS {code or status}", msg)
    if code == INVALID_TOKENS:
        return SendResult(code, invalid_token(reason, status=status))
    if code in AUTH_CODES:
        return SendResult(code, auth_failed(reason, status))
    if code == INTERNAL_ERROR or status in RETRY_STATUSES or status >= 500:
        pace = (
            RetryClass.HMS_FLOW_CONTROL if status in FLOW_CONTROL_STATUSES else RetryClass.DEFAULT
        )
        return SendResult(code, retry(reason, retry_after(answer, now), status, pace))
    if code == TOO_LARGE:
        return SendResult(code, rejected(short_reason("message too large", reason), status))
    return SendResult(code, rejected(reason, status))


def _json(data: bytes) -> dict[str, Any]:
    try:
        loaded = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _illegal_tokens(msg: str) -> frozenset[str]:
    """§5.3: ``msg`` is a JSON *string* ``{"success", "failure", "illegal_tokens": […]}``."""
    tokens = _json(msg.encode()).get("illegal_tokens", [])
    if not isinstance(tokens, list):
        return frozenset()
    return frozenset(str(token) for token in tokens)
