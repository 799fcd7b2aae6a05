"""The FCM simulator: google-auth minting tokens at its token URI, and the send endpoint
answering every rule of docs/providers.md §2 with Google's error bodies."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import httpx
import jwt
import pytest
from google.oauth2 import service_account

from pushgate.simulators.base import Fault
from pushgate.simulators.fcm import FcmSimulator
from pushgate.simulators.fcm_oauth import make_service_account

PROJECT = "demo-project"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
DEVICE = "fcm-token:APA91b" + "x" * 40


async def mint(fcm_sim: FcmSimulator, info: dict[str, str]) -> str:
    """A token from google-auth (sync, on requests) pointed at the simulator's token URI."""
    credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
    await asyncio.to_thread(credentials.refresh, google.auth.transport.requests.Request())
    assert credentials.token is not None
    return str(credentials.token)


@pytest.fixture
async def access_token(fcm_sim: FcmSimulator) -> str:
    info = make_service_account(PROJECT, fcm_sim.token_uri)
    fcm_sim.register_credentials(info)
    return await mint(fcm_sim, info)


async def send(
    http: httpx.AsyncClient, fcm_sim: FcmSimulator, token: str, body: Any, project: str = PROJECT
) -> httpx.Response:
    return await http.post(
        f"{fcm_sim.base_url}/v1/projects/{project}/messages:send",
        headers={"authorization": f"Bearer {token}"},
        json=body,
    )


def fcm_error(answer: httpx.Response) -> tuple[int, str | None]:
    details = answer.json()["error"].get("details", [])
    codes = [d["errorCode"] for d in details if d["@type"].endswith("FcmError")]
    return answer.status_code, codes[0] if codes else answer.json()["error"]["status"]


async def test_google_auth_token_then_send(
    fcm_sim: FcmSimulator, access_token: str, http: httpx.AsyncClient
) -> None:
    message = {"token": DEVICE, "data": {"k": "v"}, "android": {"ttl": "3.5s"}}
    answer = await send(http, fcm_sim, access_token, {"message": message})
    assert answer.status_code == 200
    assert answer.json()["name"].startswith(f"projects/{PROJECT}/messages/")
    assert fcm_sim.received[DEVICE][0].body == message
    check = await send(http, fcm_sim, access_token, {"message": message, "validate_only": True})
    assert check.json() == {"name": f"projects/{PROJECT}/messages/fake_message_id"}
    assert len(fcm_sim.received[DEVICE]) == 1


async def test_send_over_http2(fcm_sim: FcmSimulator, access_token: str) -> None:
    # Plain http with HTTP/1.1 disabled makes httpx use h2c with prior knowledge.
    async with httpx.AsyncClient(http1=False, http2=True) as h2c:
        answer = await send(h2c, fcm_sim, access_token, {"message": {"topic": "news"}})
    assert (answer.status_code, answer.http_version) == (200, "HTTP/2")
    assert fcm_sim.received["/topics/news"][0].body == {"topic": "news"}


async def test_token_endpoint_refusals(fcm_sim: FcmSimulator, http: httpx.AsyncClient) -> None:
    info = make_service_account(PROJECT, fcm_sim.token_uri)
    fcm_sim.register_credentials(info)
    now = int(time.time())
    claims = {"iss": info["client_email"], "scope": SCOPE, "aud": fcm_sim.token_uri}

    async def grant(
        assertion: str, grant_type: str = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    ) -> httpx.Response:
        return await http.post(
            fcm_sim.token_uri, data={"grant_type": grant_type, "assertion": assertion}
        )

    def signed(**changes: Any) -> str:
        return jwt.encode(
            {**claims, "iat": now, "exp": now + 3600, **changes},
            info["private_key"],
            algorithm="RS256",
        )

    assert (await grant(signed())).json()["expires_in"] == 3599
    stranger = make_service_account(PROJECT, fcm_sim.token_uri)
    cases = [
        (await grant(signed(), "password"), "unsupported_grant_type"),
        (await grant(signed(aud="https://example.com/token")), "invalid_grant"),
        (await grant(signed(exp=now + 7200)), "invalid_grant"),
        (await grant(signed(iat=now - 7200, exp=now - 3600)), "invalid_grant"),
        (
            await grant(
                jwt.encode(
                    {**claims, "iat": now, "exp": now + 60},
                    stranger["private_key"],
                    algorithm="RS256",
                )
            ),
            "invalid_grant",
        ),
    ]
    for answer, error in cases:
        assert (answer.status_code, answer.json()["error"]) == (400, error)
    bad_signature = signed()[:-4] + "AAAA"
    assert (await grant(bad_signature)).json()["error_description"] == "Invalid JWT Signature."


async def test_google_auth_surfaces_refusal_for_unregistered_account(
    fcm_sim: FcmSimulator,
) -> None:
    info = make_service_account(PROJECT, fcm_sim.token_uri)  # never registered
    with pytest.raises(google.auth.exceptions.RefreshError):
        await mint(fcm_sim, info)


MESSAGE_RULES: list[tuple[str, dict[str, Any], str | None]] = [
    ("no target", {"message": {"data": {"a": "b"}}}, None),
    ("two targets", {"message": {"token": DEVICE, "topic": "news"}}, "message"),
    ("data number", {"message": {"token": DEVICE, "data": {"a": 1}}}, "message.data[0].value"),
    ("reserved key", {"message": {"token": DEVICE, "data": {"google.x": "1"}}}, "message.data"),
    ("bad ttl", {"message": {"token": DEVICE, "android": {"ttl": "10"}}}, "message.android.ttl"),
    (
        "ttl too long",
        {"message": {"token": DEVICE, "android": {"ttl": "2419201s"}}},
        "message.android.ttl",
    ),
    ("too big", {"message": {"token": DEVICE, "data": {"a": "x" * 4096}}}, None),
    ("topic too big", {"message": {"topic": "news", "data": {"a": "x" * 2048}}}, None),
    ("unknown field", {"message": {"token": DEVICE}, "extra": 1}, None),
    ("bad token", {"message": {"token": "has spaces"}}, None),
]


@pytest.mark.parametrize(
    ("case", "body", "field"), MESSAGE_RULES, ids=[c[0] for c in MESSAGE_RULES]
)
async def test_message_rules(
    fcm_sim: FcmSimulator,
    access_token: str,
    http: httpx.AsyncClient,
    case: str,
    body: dict[str, Any],
    field: str | None,
) -> None:
    answer = await send(http, fcm_sim, access_token, body)
    assert fcm_error(answer) == (400, "INVALID_ARGUMENT")
    assert answer.json()["error"]["status"] == "INVALID_ARGUMENT"
    if field is not None:
        violations = [
            d for d in answer.json()["error"]["details"] if d["@type"].endswith("BadRequest")
        ]
        assert violations[0]["fieldViolations"][0]["field"] == field


async def test_auth_and_token_outcomes(
    fcm_sim: FcmSimulator, access_token: str, http: httpx.AsyncClient
) -> None:
    message = {"message": {"token": DEVICE}}
    assert fcm_error(await send(http, fcm_sim, "ya29.nope", message)) == (401, "UNAUTHENTICATED")
    other_project = await send(http, fcm_sim, access_token, message, project="someone-else")
    assert fcm_error(other_project) == (403, "PERMISSION_DENIED")
    fcm_sim.register_device("foreign-token", "another-project")
    foreign = await send(http, fcm_sim, access_token, {"message": {"token": "foreign-token"}})
    assert fcm_error(foreign) == (403, "SENDER_ID_MISMATCH")
    await http.post(f"{fcm_sim.base_url}/_sim/fcm/dead", json={"token": DEVICE})
    gone = await send(http, fcm_sim, access_token, message)
    assert fcm_error(gone) == (404, "UNREGISTERED")
    assert gone.json()["error"]["message"] == "Requested entity was not found."


async def test_quota_per_project(
    fcm_sim: FcmSimulator, access_token: str, http: httpx.AsyncClient
) -> None:
    await http.post(
        f"{fcm_sim.base_url}/_sim/fcm/quota", json={"project_id": PROJECT, "messages_per_minute": 2}
    )
    answers = [
        await send(http, fcm_sim, access_token, {"message": {"topic": "t"}}) for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert fcm_error(answers[2]) == (429, "QUOTA_EXCEEDED")
    assert 1 <= int(answers[2].headers["retry-after"]) <= 60


async def test_scripted_faults(
    fcm_sim: FcmSimulator, access_token: str, http: httpx.AsyncClient
) -> None:
    fcm_sim.inject(Fault(status=503, retry_after=3))
    fcm_sim.inject(Fault(status=500))
    fcm_sim.inject(Fault(status=401))
    message = {"message": {"token": DEVICE}}
    unavailable = await send(http, fcm_sim, access_token, message)
    assert fcm_error(unavailable) == (503, "UNAVAILABLE")
    assert unavailable.headers["retry-after"] == "3"
    assert fcm_error(await send(http, fcm_sim, access_token, message)) == (500, "INTERNAL")
    third_party = await send(http, fcm_sim, access_token, message)
    assert fcm_error(third_party) == (401, "THIRD_PARTY_AUTH_ERROR")
    assert (await send(http, fcm_sim, access_token, message)).status_code == 200
