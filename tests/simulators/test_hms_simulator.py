"""The HMS Push Kit simulator against docs/providers.md §5: tokens, send checks, result codes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from pushgate.simulators.hms import HmsSimulator

APP_ID = "103456789"
APP_SECRET = "a1b2c3d4e5f6"


@pytest.fixture
async def token(hms_sim: HmsSimulator, http: httpx.AsyncClient) -> str:
    registered = await http.post(
        f"{hms_sim.base_url}/_sim/hms/credentials",
        json={"client_id": APP_ID, "client_secret": APP_SECRET},
    )
    assert registered.status_code == 201
    answer = await http.post(
        registered.json()["token_url"],
        data={"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET},
    )
    assert answer.status_code == 200
    assert "\\/" in answer.text  # Huawei escapes '/' in the token; a JSON parser undoes it
    body = answer.json()
    assert body["expires_in"] == 3600
    assert body["token_type"] == "Bearer"
    return str(body["access_token"])


async def send(
    hms_sim: HmsSimulator,
    http: httpx.AsyncClient,
    token: str,
    message: dict[str, Any],
    *,
    app_id: str = APP_ID,
    validate_only: bool = False,
) -> httpx.Response:
    return await http.post(
        f"{hms_sim.base_url}/v1/{app_id}/messages:send",
        json={"validate_only": validate_only, "message": message},
        headers={"authorization": f"Bearer {token}"},
    )


def notification(**fields: Any) -> dict[str, Any]:
    return {
        "data": '{"kind": "reminder"}',
        "android": {"urgency": "HIGH", "ttl": "86400s", "notification": {"title": "Hi"}},
        **fields,
    }


async def test_send_to_tokens_succeeds_and_is_recorded(
    hms_sim: HmsSimulator, http: httpx.AsyncClient, token: str
) -> None:
    answer = await send(hms_sim, http, token, notification(token=["tok-a", "tok-b"]))
    assert answer.status_code == 200
    body = answer.json()
    assert body["code"] == "80000000"
    assert body["msg"] == "Success"
    assert body["requestId"]
    assert sorted(hms_sim.received) == ["tok-a", "tok-b"]
    assert hms_sim.received["tok-a"][0].body["data"] == '{"kind": "reminder"}'


async def test_partial_success_lists_illegal_tokens_inside_msg_string(
    hms_sim: HmsSimulator, http: httpx.AsyncClient, token: str
) -> None:
    await http.post(f"{hms_sim.base_url}/_sim/hms/dead", json={"token": "tok-dead"})
    answer = await send(hms_sim, http, token, notification(token=["tok-ok", "tok-dead", ""]))
    assert answer.status_code == 200
    body = answer.json()
    assert body["code"] == "80100000"
    assert isinstance(body["msg"], str)
    assert json.loads(body["msg"]) == {
        "success": 1,
        "failure": 2,
        "illegal_tokens": ["tok-dead", ""],
    }
    assert list(hms_sim.received) == ["tok-ok"]


async def test_all_tokens_dead_answers_80300007(
    hms_sim: HmsSimulator, http: httpx.AsyncClient, token: str
) -> None:
    hms_sim.mark_dead("tok-dead")
    answer = await send(hms_sim, http, token, notification(token=["tok-dead"]))
    assert answer.json()["code"] == "80300007"
    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (notification(), "80100003"),  # no target
        (notification(token=["t"], topic="news"), "80100003"),  # two targets
        (notification(token=[]), "80100001"),
        (notification(token="t"), "80100001"),
        (notification(token=[f"t{i}" for i in range(1001)]), "80300010"),
        (notification(token=["t"], data={"not": "a string"}), "80100001"),
        (notification(token=["t"], data="x" * 4100), "80300008"),
        (notification(token=["t"], android={"ttl": "1 day"}), "80100001"),
        (notification(token=["t"], android={"ttl": "0s"}), "80100004"),
        (notification(token=["t"], android={"ttl": "1296001s"}), "80100001"),
        (notification(token=["t"], android={"collapse_key": 101}), "80100013"),
    ],
)
async def test_bad_messages_get_hms_result_codes(
    hms_sim: HmsSimulator,
    http: httpx.AsyncClient,
    token: str,
    message: dict[str, Any],
    code: str,
) -> None:
    answer = await send(hms_sim, http, token, message)
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert hms_sim.all_received() == []


async def test_thousand_tokens_and_a_topic_are_accepted(
    hms_sim: HmsSimulator, http: httpx.AsyncClient, token: str
) -> None:
    many = [f"t{i}" for i in range(1000)]
    assert (await send(hms_sim, http, token, notification(token=many))).json()["code"] == "80000000"
    topic = await send(hms_sim, http, token, notification(topic="news"))
    assert topic.json()["code"] == "80000000"
    assert "topic:news" in hms_sim.received


async def test_validate_only_checks_without_delivering(
    hms_sim: HmsSimulator, http: httpx.AsyncClient, token: str
) -> None:
    answer = await send(hms_sim, http, token, notification(token=["t"]), validate_only=True)
    assert answer.json()["code"] == "80000000"
    assert hms_sim.all_received() == []


async def test_expired_access_token_answers_80200003(
    hms_sim: HmsSimulator, http: httpx.AsyncClient, token: str
) -> None:
    await http.post(f"{hms_sim.base_url}/_sim/hms/expire-tokens")
    answer = await send(hms_sim, http, token, notification(token=["t"]))
    assert answer.status_code == 401
    assert answer.json()["code"] == "80200003"


async def test_missing_foreign_or_other_apps_token_answers_80200001(
    hms_sim: HmsSimulator, http: httpx.AsyncClient, token: str
) -> None:
    unsigned = await http.post(
        f"{hms_sim.base_url}/v1/{APP_ID}/messages:send",
        json={"message": notification(token=["t"])},
    )
    assert unsigned.json()["code"] == "80200001"
    assert unsigned.status_code == 401
    other_app = await send(hms_sim, http, token, notification(token=["t"]), app_id="999")
    assert other_app.json()["code"] == "80200001"


async def test_bad_client_secret_is_an_oauth_error(
    hms_sim: HmsSimulator, http: httpx.AsyncClient, token: str
) -> None:
    answer = await http.post(
        f"{hms_sim.base_url}/oauth2/v3/token",
        data={"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": "x"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == 1101


async def test_flow_control_fault_answers_503_then_recovers(
    hms_sim: HmsSimulator, http: httpx.AsyncClient, token: str
) -> None:
    await http.post(f"{hms_sim.base_url}/_sim/hms/faults", json={"status": 503, "retry_after": 5})
    throttled = await send(hms_sim, http, token, notification(token=["t"]))
    assert throttled.status_code == 503
    assert throttled.headers["retry-after"] == "5"
    assert (await send(hms_sim, http, token, notification(token=["t"]))).status_code == 200


async def test_wrong_path_answers_404(hms_sim: HmsSimulator, http: httpx.AsyncClient) -> None:
    assert (await http.post(f"{hms_sim.base_url}/v2/x/messages:push")).status_code == 404
