"""The webhook receiver against docs/providers.md §6, signed by the standardwebhooks library."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from pushgate.simulators import webhook_signature
from pushgate.simulators.base import Fault
from pushgate.simulators.webhook import WebhookSimulator

BODY = '{"type":"appointment.booked","timestamp":"2024-05-01T10:00:00Z","data":{"id":7}}'


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def signed_headers(
    secret: str, body: str = BODY, webhook_id: str = "msg_1", at: datetime | None = None
) -> dict[str, str]:
    moment = at or datetime.now(tz=UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, moment, body),
        "content-type": "application/json",
    }


@pytest.fixture
async def secret(webhook_sim: WebhookSimulator, http: httpx.AsyncClient) -> str:
    value = new_secret()
    answer = await http.post(
        f"{webhook_sim.base_url}/_sim/webhook/credentials", json={"secret": value}
    )
    assert answer.status_code == 201
    return value


async def test_library_signed_delivery_is_accepted_and_recorded(
    webhook_sim: WebhookSimulator, http: httpx.AsyncClient, secret: str
) -> None:
    url = f"{webhook_sim.base_url}/hooks/crm"
    answer = await http.post(url, content=BODY, headers=signed_headers(secret))
    assert answer.status_code == 200
    assert answer.content == b""
    [item] = webhook_sim.received["/hooks/crm"]
    assert item.body["data"] == {"id": 7}
    assert item.message_id == "msg_1"
    assert item.headers["webhook-signature"].startswith("v1,")


async def test_tampered_body_or_unknown_secret_is_refused(
    webhook_sim: WebhookSimulator, http: httpx.AsyncClient, secret: str
) -> None:
    url = f"{webhook_sim.base_url}/hooks/crm"
    tampered = BODY.replace('"id":7', '"id":8')
    answer = await http.post(url, content=tampered, headers=signed_headers(secret))
    assert answer.status_code == 400
    foreign = await http.post(url, content=BODY, headers=signed_headers(new_secret()))
    assert foreign.status_code == 400
    unsigned = await http.post(url, content=BODY, headers={"content-type": "application/json"})
    assert unsigned.status_code == 400
    assert webhook_sim.all_received() == []
    assert webhook_sim.counters["refused"] == 3


async def test_timestamp_outside_five_minutes_is_refused(
    webhook_sim: WebhookSimulator, http: httpx.AsyncClient, secret: str
) -> None:
    url = f"{webhook_sim.base_url}/hooks/crm"
    for offset in (timedelta(minutes=-6), timedelta(minutes=6)):
        moment = datetime.now(tz=UTC) + offset
        answer = await http.post(url, content=BODY, headers=signed_headers(secret, at=moment))
        assert answer.status_code == 400
    near = datetime.now(tz=UTC) - timedelta(minutes=4)
    answer = await http.post(url, content=BODY, headers=signed_headers(secret, at=near))
    assert answer.status_code == 200


async def test_rotation_accepts_any_registered_secret_and_any_matching_entry(
    webhook_sim: WebhookSimulator, http: httpx.AsyncClient, secret: str
) -> None:
    newer = new_secret()
    webhook_sim.register_credentials({"secret": newer})
    url = f"{webhook_sim.base_url}/hooks/crm"
    old_headers = signed_headers(secret, webhook_id="msg_old")
    assert (await http.post(url, content=BODY, headers=old_headers)).status_code == 200
    both = signed_headers(new_secret(), webhook_id="msg_both")
    fresh = signed_headers(newer, webhook_id="msg_both")
    both["webhook-signature"] += " v1a,ignored " + fresh["webhook-signature"]
    assert (await http.post(url, content=BODY, headers=both)).status_code == 200
    webhook_sim.remove_secret(secret)
    retired = signed_headers(secret, webhook_id="msg_retired")
    assert (await http.post(url, content=BODY, headers=retired)).status_code == 400


async def test_duplicate_webhook_id_is_answered_but_recorded_once(
    webhook_sim: WebhookSimulator, http: httpx.AsyncClient, secret: str
) -> None:
    url = f"{webhook_sim.base_url}/hooks/crm"
    for _ in range(3):
        answer = await http.post(url, content=BODY, headers=signed_headers(secret))
        assert answer.status_code == 200
    assert len(webhook_sim.all_received()) == 1
    assert webhook_sim.counters["duplicates"] == 2


async def test_expected_authorization_and_user_agent_are_checked(
    webhook_sim: WebhookSimulator, http: httpx.AsyncClient, secret: str
) -> None:
    webhook_sim.register_credentials(
        {"authorization": "Bearer hook-key", "user_agent": "pushgate/0.1"}
    )
    url = f"{webhook_sim.base_url}/hooks/crm"
    headers = signed_headers(secret)
    assert (await http.post(url, content=BODY, headers=headers)).status_code == 401
    headers["authorization"] = "Bearer hook-key"
    assert (await http.post(url, content=BODY, headers=headers)).status_code == 400
    headers["user-agent"] = "pushgate/0.1"
    assert (await http.post(url, content=BODY, headers=headers)).status_code == 200


async def test_contract_reply_including_failure(
    webhook_sim: WebhookSimulator, http: httpx.AsyncClient, secret: str
) -> None:
    control = f"{webhook_sim.base_url}/_sim/webhook/reply"
    assert (await http.post(control, json={"mode": "contract"})).status_code == 200
    url = f"{webhook_sim.base_url}/hooks/crm"
    answer = await http.post(url, content=BODY, headers=signed_headers(secret, webhook_id="a"))
    assert answer.json() == {"Success": True, "Code": "0", "Message": "OK"}
    await http.post(control, json={"success": False, "code": "42", "message": "Unknown user"})
    answer = await http.post(url, content=BODY, headers=signed_headers(secret, webhook_id="b"))
    assert answer.status_code == 200
    assert answer.json() == {"Success": False, "Code": "42", "Message": "Unknown user"}
    assert (await http.post(control, json={"status": 500})).status_code == 400


async def test_plain_reply_status_is_configurable(
    webhook_sim: WebhookSimulator, http: httpx.AsyncClient, secret: str
) -> None:
    webhook_sim.configure_reply(status=204)
    url = f"{webhook_sim.base_url}/hooks/crm"
    assert (await http.post(url, content=BODY, headers=signed_headers(secret))).status_code == 204


@pytest.mark.parametrize(
    ("fault", "header", "value"),
    [
        ({"status": 301}, "location", None),
        ({"status": 410}, None, None),
        ({"status": 429, "retry_after": 7}, "retry-after", "7"),
        ({"status": 503, "retry_after": 3}, "retry-after", "3"),
        ({"status": 500, "reason": "abort-message"}, "webhook-delivery", "abort-message"),
    ],
)
async def test_scripted_failures_answer_as_told(
    webhook_sim: WebhookSimulator,
    http: httpx.AsyncClient,
    secret: str,
    fault: dict[str, object],
    header: str | None,
    value: str | None,
) -> None:
    await http.post(f"{webhook_sim.base_url}/_sim/webhook/faults", json=fault)
    url = f"{webhook_sim.base_url}/hooks/crm"
    answer = await http.post(url, content=BODY, headers=signed_headers(secret))
    assert answer.status_code == fault["status"]
    if header is not None:
        assert answer.headers[header] == (value or answer.headers[header])
    assert webhook_sim.all_received() == []
    retry = await http.post(url, content=BODY, headers=signed_headers(secret))
    assert retry.status_code == 200  # the same webhook-id is delivered once it succeeds
    assert len(webhook_sim.all_received()) == 1


async def test_slow_answer_and_reset_faults(
    webhook_sim: WebhookSimulator, http: httpx.AsyncClient, secret: str
) -> None:
    url = f"{webhook_sim.base_url}/hooks/slow"
    webhook_sim.inject(Fault(latency_ms=300, token="/hooks/slow"))
    with pytest.raises(httpx.ReadTimeout):
        await http.post(url, content=BODY, headers=signed_headers(secret), timeout=0.05)
    webhook_sim.inject(Fault(action="reset", token="/hooks/slow"))
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(url, content=BODY, headers=signed_headers(secret, webhook_id="r"))
    other = f"{webhook_sim.base_url}/hooks/other"
    answer = await http.post(other, content=BODY, headers=signed_headers(secret, webhook_id="o"))
    assert answer.status_code == 200
    assert [item.message_id for item in webhook_sim.received["/hooks/other"]] == ["o"]


async def test_non_json_body_and_get_are_refused(
    webhook_sim: WebhookSimulator, http: httpx.AsyncClient, secret: str
) -> None:
    url = f"{webhook_sim.base_url}/hooks/crm"
    text = "not json"
    answer = await http.post(url, content=text, headers=signed_headers(secret, body=text))
    assert answer.status_code == 400
    assert (await http.get(url)).status_code == 405


async def test_endpoint_marked_dead_answers_410(
    webhook_sim: WebhookSimulator, http: httpx.AsyncClient, secret: str
) -> None:
    await http.post(f"{webhook_sim.base_url}/_sim/webhook/dead", json={"token": "/hooks/gone"})
    url = f"{webhook_sim.base_url}/hooks/gone"
    assert (await http.post(url, content=BODY, headers=signed_headers(secret))).status_code == 410
    assert webhook_sim.all_received() == []


def test_receiver_signature_matches_the_reference_library() -> None:
    secret = new_secret()
    moment = datetime.now(tz=UTC)
    ours = webhook_signature.sign(
        webhook_signature.decode_secret(secret), "msg_x", str(int(moment.timestamp())), b"{}"
    )
    assert Webhook(secret).sign("msg_x", moment, "{}") == f"v1,{ours}"
    unpadded = secret.rstrip("=")
    assert webhook_signature.decode_secret(unpadded) == webhook_signature.decode_secret(secret)
