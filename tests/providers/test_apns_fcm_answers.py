"""Answer shapes the simulators do not produce (a 410 timestamp as a string, an FcmError of
UNSPECIFIED_ERROR, a token field violation, Retry-After as an HTTP date), and payload rules
that need no server."""

from __future__ import annotations

import email.utils

import orjson
import pytest

from pushgate.core.messages import Message
from pushgate.core.outcomes import OutcomeKind
from pushgate.providers import apns_answers, fcm_answers
from pushgate.providers.apns_payload import PayloadRefused, render_push
from pushgate.providers.fcm_payload import payload_size, render_message
from pushgate.providers.retry_after import parse_retry_after
from pushgate.transport import Response

NOW = 1_800_000_000.0
APNS_ID = "0a0b0c0d-0000-4000-8000-000000000001"


def apns_error(
    status: int, body: object, headers: list[tuple[bytes, bytes]] | None = None
) -> Response:
    return Response(status, headers or [], orjson.dumps(body))


def google_error(status: int, details: list[dict[str, object]], message: str = "m") -> Response:
    body = {"error": {"code": status, "message": message, "status": "X", "details": details}}
    return Response(status, [], orjson.dumps(body))


@pytest.mark.parametrize("timestamp", [1_700_000_000_123, "1700000000123"])
def test_apns_410_timestamp_as_number_or_string(timestamp: object) -> None:
    answer = apns_error(410, {"reason": "Unregistered", "timestamp": timestamp})
    outcome = apns_answers.outcome_of(answer, APNS_ID, NOW)
    assert (outcome.kind, outcome.invalid_since) == (OutcomeKind.INVALID_TOKEN, 1_700_000_000_123)


def test_apns_unreadable_bodies_fall_back_on_the_status() -> None:
    assert apns_answers.outcome_of(Response(502, [], b"<html>"), APNS_ID, NOW).kind is (
        OutcomeKind.RETRY
    )
    rejected = apns_answers.outcome_of(Response(400, [], b""), APNS_ID, NOW)
    assert (rejected.kind, rejected.reason) == (OutcomeKind.REJECTED, "HTTP 400")


def test_retry_after_as_an_http_date() -> None:
    date = email.utils.formatdate(NOW + 90, usegmt=True).encode()
    answer = apns_error(503, {"reason": "ServiceUnavailable"}, [(b"retry-after", date)])
    assert apns_answers.outcome_of(answer, APNS_ID, NOW).retry_after == 90.0
    assert parse_retry_after(b"soon", NOW) is None
    assert parse_retry_after(b"999999999", NOW) == 86_400.0


FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def test_fcm_invalid_argument_about_the_token_invalidates_it() -> None:
    details = [
        {"@type": FCM_ERROR, "errorCode": "INVALID_ARGUMENT"},
        {"@type": BAD_REQUEST, "fieldViolations": [{"field": "message.token"}]},
    ]
    outcome = fcm_answers.outcome_of(google_error(400, details), NOW)
    assert outcome.kind is OutcomeKind.INVALID_TOKEN
    details[1] = {"@type": BAD_REQUEST, "fieldViolations": [{"field": "message.data[0].value"}]}
    assert fcm_answers.outcome_of(google_error(400, details), NOW).kind is OutcomeKind.REJECTED


@pytest.mark.parametrize(
    ("status", "kind"), [(500, OutcomeKind.RETRY), (400, OutcomeKind.REJECTED)]
)
def test_fcm_unspecified_error_follows_its_status(status: int, kind: OutcomeKind) -> None:
    details = [{"@type": FCM_ERROR, "errorCode": "UNSPECIFIED_ERROR"}]
    outcome = fcm_answers.outcome_of(google_error(status, details), NOW)
    assert (outcome.kind, outcome.reason) == (kind, "UNSPECIFIED_ERROR")


def test_apns_payload_rules() -> None:
    push = render_push(
        Message(title="t", image="https://example.com/i.png", data={"aps": "ignored", "k": 1}),
        "com.example.app",
    )
    assert orjson.loads(push.body) == {
        "aps": {"alert": {"title": "t"}, "mutable-content": 1},
        "k": 1,
        "image": "https://example.com/i.png",
    }
    live = render_push(Message(title="t", overrides={"apns": {"push_type": "liveactivity"}}), "a.b")
    assert live.topic == "a.b.push-type.liveactivity"
    with pytest.raises(PayloadRefused):
        render_push(Message(title="t", overrides={"apns": {"push_type": "shout"}}), "a.b")
    with pytest.raises(PayloadRefused):
        render_push(Message(title="t", overrides={"apns": {"priority": 7}}), "a.b")


def test_fcm_ttl_is_capped_at_four_weeks_and_size_counts_data_and_notification() -> None:
    far = int((NOW + 60 * 86_400) * 1000)
    message = render_message(Message(title="ab", body="cd", data={"k": "vv"}), "tok", far, NOW)
    assert message["android"]["ttl"] == "2419200s"
    assert payload_size(message) == len("ab") + len("cd") + len("k") + len("vv")
