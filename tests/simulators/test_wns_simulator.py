"""The WNS simulator against docs/providers.md §4: tokens, channel sends, headers and codes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from pushgate.simulators.wns import WnsSimulator

CLIENT_ID = "ms-app://s-1-15-2-1234567890"
CLIENT_SECRET = "s3cr3t-value"
TOAST = (
    b'<toast><visual><binding template="ToastGeneric"><text>Hi</text></binding></visual></toast>'
)


async def fetch_token(
    http: httpx.AsyncClient, sim: WnsSimulator, secret: str = CLIENT_SECRET
) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": secret,
        "scope": "notify.windows.com",
    }
    return await http.post(f"{sim.base_url}/accesstoken.srf", data=form)


@pytest.fixture
async def token(wns_sim: WnsSimulator, http: httpx.AsyncClient) -> str:
    registered = await http.post(
        f"{wns_sim.base_url}/_sim/wns/credentials",
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert registered.status_code == 201
    answer = await fetch_token(http, wns_sim)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86400
    return str(body["access_token"])


@pytest.fixture
async def channel(wns_sim: WnsSimulator, http: httpx.AsyncClient) -> str:
    answer = await http.post(f"{wns_sim.base_url}/_sim/wns/channels", json={})
    assert answer.status_code == 201
    return str(answer.json()["channel_uri"])


def toast_headers(token: str, **extra: str) -> dict[str, str]:
    return {
        "authorization": f"Bearer {token}",
        "x-wns-type": "wns/toast",
        "content-type": "text/xml",
        **extra,
    }


async def test_toast_is_received_with_wns_response_headers(
    wns_sim: WnsSimulator, http: httpx.AsyncClient, token: str, channel: str
) -> None:
    headers = toast_headers(token, **{"ms-cv": "abc.1", "x-wns-requestforstatus": "true"})
    answer = await http.post(channel, content=TOAST, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["x-wns-status"] == "received"
    assert 0 < len(answer.headers["x-wns-msg-id"]) <= 16
    assert answer.headers["x-wns-debug-trace"]
    assert answer.headers["ms-cv"] == "abc.1"
    assert answer.headers["x-wns-deviceconnectionstatus"] == "connected"
    [item] = wns_sim.all_received()
    assert item.body == TOAST.decode()
    assert item.headers["x-wns-type"] == "wns/toast"
    assert item.message_id == answer.headers["x-wns-msg-id"]


async def test_raw_notification_needs_octet_stream(
    http: httpx.AsyncClient, token: str, channel: str
) -> None:
    raw = {"authorization": f"Bearer {token}", "x-wns-type": "wns/raw"}
    ok = await http.post(
        channel, content=b"\x00\x01", headers={**raw, "content-type": "application/octet-stream"}
    )
    assert ok.status_code == 200
    assert ok.headers["ms-cv"]
    mismatched = await http.post(
        channel, content=b"<x/>", headers={**raw, "content-type": "text/xml"}
    )
    assert mismatched.status_code == 400
    assert "application/octet-stream" in mismatched.headers["x-wns-error-description"]


async def test_bad_token_requests_answer_400_oauth_errors(
    wns_sim: WnsSimulator, http: httpx.AsyncClient, token: str
) -> None:
    wrong_secret = await fetch_token(http, wns_sim, secret="nope")
    assert wrong_secret.status_code == 400
    assert wrong_secret.json()["error"] == "invalid_client"
    wrong_grant = await http.post(
        f"{wns_sim.base_url}/accesstoken.srf",
        data={"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert wrong_grant.json()["error"] == "unsupported_grant_type"
    wrong_scope = await http.post(
        f"{wns_sim.base_url}/accesstoken.srf",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": "other",
        },
    )
    assert wrong_scope.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    "headers",
    [
        {"x-wns-type": "wns/notification"},
        {"x-wns-type": "wns/toast", "content-type": "application/octet-stream"},
        {"x-wns-cache-policy": "sometimes"},
        {"x-wns-requestforstatus": "yes"},
        {"x-wns-tag": "tag"},  # tags are for tiles only
        {"x-wns-ttl": "one hour"},
    ],
)
async def test_bad_headers_answer_400(
    http: httpx.AsyncClient, token: str, channel: str, headers: dict[str, str]
) -> None:
    answer = await http.post(channel, content=TOAST, headers=toast_headers(token, **headers))
    assert answer.status_code == 400
    assert answer.headers["x-wns-error-description"]
    assert answer.content == b""


async def test_tile_with_tag_and_ttl_is_accepted(
    wns_sim: WnsSimulator, http: httpx.AsyncClient, token: str, channel: str
) -> None:
    headers = toast_headers(
        token, **{"x-wns-type": "wns/tile", "x-wns-tag": "Score1", "x-wns-ttl": "600"}
    )
    answer = await http.post(channel, content=b"<tile/>", headers=headers)
    assert answer.status_code == 200
    assert wns_sim.all_received()[0].headers["x-wns-tag"] == "Score1"


async def test_payload_over_5000_bytes_answers_413(
    http: httpx.AsyncClient, token: str, channel: str
) -> None:
    fits = await http.post(channel, content=b"x" * 5000, headers=toast_headers(token))
    assert fits.status_code == 200
    answer = await http.post(channel, content=b"x" * 5001, headers=toast_headers(token))
    assert answer.status_code == 413


async def test_missing_or_unknown_token_answers_401(
    http: httpx.AsyncClient, token: str, channel: str
) -> None:
    headers = toast_headers(token)
    del headers["authorization"]
    assert (await http.post(channel, content=TOAST, headers=headers)).status_code == 401
    forged = toast_headers("not-issued")
    assert (await http.post(channel, content=TOAST, headers=forged)).status_code == 401


async def test_expired_token_answers_401_until_a_new_token_is_used(
    wns_sim: WnsSimulator, http: httpx.AsyncClient, token: str, channel: str
) -> None:
    await http.post(f"{wns_sim.base_url}/_sim/wns/expire-tokens")
    answer = await http.post(channel, content=TOAST, headers=toast_headers(token))
    assert answer.status_code == 401
    assert "expired" in answer.headers["www-authenticate"].lower()
    fresh = (await fetch_token(http, wns_sim)).json()["access_token"]
    assert (
        await http.post(channel, content=TOAST, headers=toast_headers(fresh))
    ).status_code == 200


async def test_unknown_channel_404_and_expired_channel_410(
    wns_sim: WnsSimulator, http: httpx.AsyncClient, token: str, channel: str
) -> None:
    unknown = await http.post(
        f"{wns_sim.base_url}/w/nobody", content=TOAST, headers=toast_headers(token)
    )
    assert unknown.status_code == 404
    expired = wns_sim.create_channel(expires_at=time.time() - 1)
    assert (
        await http.post(expired, content=TOAST, headers=toast_headers(token))
    ).status_code == 410
    await http.post(f"{wns_sim.base_url}/_sim/wns/dead", json={"token": channel.rsplit("/", 1)[1]})
    assert (
        await http.post(channel, content=TOAST, headers=toast_headers(token))
    ).status_code == 410


async def test_channel_of_another_app_answers_403(
    wns_sim: WnsSimulator, http: httpx.AsyncClient, token: str
) -> None:
    theirs = wns_sim.create_channel("ms-app://s-1-15-2-other")
    answer = await http.post(theirs, content=TOAST, headers=toast_headers(token))
    assert answer.status_code == 403
    mine = wns_sim.create_channel(CLIENT_ID)
    assert (await http.post(mine, content=TOAST, headers=toast_headers(token))).status_code == 200


async def test_get_on_a_channel_answers_405(http: httpx.AsyncClient, channel: str) -> None:
    assert (await http.get(channel)).status_code == 405


async def test_throttle_fault_answers_406_with_continue_after(
    wns_sim: WnsSimulator, http: httpx.AsyncClient, token: str, channel: str
) -> None:
    await http.post(f"{wns_sim.base_url}/_sim/wns/faults", json={"status": 406, "retry_after": 120})
    answer = await http.post(channel, content=TOAST, headers=toast_headers(token))
    assert answer.status_code == 406
    assert answer.headers["x-wns-continue-after"] == "120"
    assert (
        await http.post(channel, content=TOAST, headers=toast_headers(token))
    ).status_code == 200


async def test_toast_to_offline_device_is_dropped(
    wns_sim: WnsSimulator, http: httpx.AsyncClient, token: str
) -> None:
    offline = wns_sim.create_channel(connected=False)
    headers = toast_headers(token, **{"x-wns-requestforstatus": "true"})
    answer = await http.post(offline, content=TOAST, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["x-wns-status"] == "dropped"
    assert answer.headers["x-wns-deviceconnectionstatus"] == "disconnected"
    assert wns_sim.all_received() == []


async def test_chunked_request_answers_400(
    wns_sim: WnsSimulator, http: httpx.AsyncClient, token: str, channel: str
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield TOAST[:10]
        yield TOAST[10:]

    answer = await http.post(channel, content=chunks(), headers=toast_headers(token))
    assert answer.status_code == 400
    assert "Content-Length" in answer.headers["x-wns-error-description"]
    assert wns_sim.all_received() == []
