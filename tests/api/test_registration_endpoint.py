"""Device registration answered ahead of FastAPI (api/registration_endpoint.py) answers
as the FastAPI route does.

The same requests go to both: the plain path is answered by the endpoint, and the same
path with one query parameter the route ignores (``probe``) is handed on to FastAPI. Both
answers must agree, status and body, but for what differs by nature between two
registrations (ids and times).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import MakeKey
from tests.api.expect import ok
from tests.api.material import apns_token

# Answers of two registrations differ in these fields only.
PER_DEVICE = {"id", "token", "created_at", "updated_at", "state_changed_at"}

BODIES: list[Any] = [
    {"provider": "apns", "user": "alice", "locale": "en-GB", "topics": ["news"]},
    {"provider": "apns", "timezone": "Mars/Olympus"},
    {"provider": "carrier-pigeon"},
    {"provider": "apns", "topics": "news"},
    {"provider": "apns", "unknown_field": 1},
    {"provider": "apns", "tags": ["x" * 300]},
    [{"provider": "apns"}],
    "apns",
    {},
]


def _comparable(answer: httpx.Response) -> tuple[int, Any]:
    body = answer.json()
    if answer.status_code < 300:
        body = {k: v for k, v in body.items() if k not in PER_DEVICE}
    return answer.status_code, body


async def _both(
    client: httpx.AsyncClient, path: str, body: Any, **headers: str
) -> tuple[tuple[int, Any], tuple[int, Any]]:
    """The endpoint's answer and the route's, each for a fresh APNs token."""
    answers = []
    separator = "&" if "?" in path else "?"
    for query in ("", f"{separator}probe=1"):
        sent = {**body, "token": apns_token()} if isinstance(body, dict) and body else body
        answers.append(await client.post(f"{path}{query}", json=sent, headers=headers))
    fast, routed = (_comparable(answer) for answer in answers)
    return fast, routed


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
async def test_the_endpoint_answers_as_the_route_does(
    client: httpx.AsyncClient, app_name: str, body: Any
) -> None:
    fast, routed = await _both(client, f"/v1/apps/{app_name}/devices", body)
    assert fast == routed


async def test_refusals_of_caller_app_and_tenant_match_the_route(
    client: httpx.AsyncClient, app_name: str, other_tenant: str, make_key: MakeKey
) -> None:
    body = {"provider": "apns"}
    for path in (f"/v1/apps/{app_name}/devices?tenant={other_tenant}", "/v1/apps/none/devices"):
        fast, routed = await _both(client, path, body)
        assert fast == routed, path
    sender = await make_key("send")
    fast, routed = await _both(
        client, f"/v1/apps/{app_name}/devices", body, authorization=f"Bearer {sender}"
    )
    assert fast == routed
    assert fast[0] == 403


async def test_a_new_device_is_201_and_a_refresh_200(
    client: httpx.AsyncClient, app_name: str
) -> None:
    body = {"provider": "apns", "token": apns_token(), "user": "bob"}
    first = ok(await client.post(f"/v1/apps/{app_name}/devices", json=body), 201)
    again = ok(await client.post(f"/v1/apps/{app_name}/devices", json=body), 200)
    assert again["id"] == first["id"]
    assert ok(await client.get(f"/v1/devices/{first['id']}"))["token"] == body["token"]


async def test_what_the_route_judges_itself_is_handed_on(
    client: httpx.AsyncClient, app_name: str
) -> None:
    path = f"/v1/apps/{app_name}/devices"
    # A body declared as something other than JSON: FastAPI's own answer.
    plain = {"content-type": "text/plain"}
    text = await client.post(path, content=b'{"provider": "apns"}', headers=plain)
    assert text.status_code == 422
    # No body at all: the route's "field required".
    empty = await client.post(path, headers={"content-type": "application/json"})
    assert empty.status_code == 422
    assert "body" in str(empty.json()["error"])
    # An app name outside the route's pattern.
    upper = await client.post("/v1/apps/Mobile/devices", json={"provider": "apns"})
    assert upper.status_code == 422
