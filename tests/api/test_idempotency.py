"""Idempotency keys: a repeat of the same request answers with the first notification, the
same key with another request is refused (409 ``idempotency_key_reused``)."""

from __future__ import annotations

import asyncio

import httpx
import sqlalchemy as sa

from pushgate.storage.tables import notifications
from pushgate.wiring import Services
from tests.api.expect import error_of, ok

BODY = {
    "app": "mobile",
    "audience": {"users": ["ana"]},
    "title": "Booked",
    "data": {"booking": 4711, "slot": {"day": "mon", "at": "9:00"}},
}
# The same request: other key order, other whitespace, a default spelled out.
SAME = (
    b'{ "data": {"slot": {"at": "9:00", "day": "mon"}, "booking": 4711},\n'
    b'  "title": "Booked", "priority": "high", "audience": {"users": ["ana"]}, "app": "mobile" }'
)


async def send(
    client: httpx.AsyncClient, key: str, body: dict[str, object] | bytes = BODY
) -> httpx.Response:
    headers = {"Idempotency-Key": key, "content-type": "application/json"}
    if isinstance(body, bytes):
        return await client.post("/v1/notifications", content=body, headers=headers)
    return await client.post("/v1/notifications", json=body, headers=headers)


async def stored_ids(client: httpx.AsyncClient) -> list[str]:
    return [item["id"] for item in ok(await client.get("/v1/notifications"))["items"]]


async def test_the_same_request_again_answers_with_the_first(
    client: httpx.AsyncClient, app_name: str
) -> None:
    first = ok(await send(client, "k-1"), 202)
    assert first["created"] is True
    again = ok(await send(client, "k-1", SAME), 200)
    assert (again["id"], again["created"]) == (first["id"], False)
    # The key in the body is the same key.
    in_body = ok(await client.post("/v1/notifications", json={**BODY, "idempotency_key": "k-1"}))
    assert in_body["id"] == first["id"]
    assert await stored_ids(client) == [first["id"]]


async def test_the_same_key_with_another_request_is_a_conflict(
    client: httpx.AsyncClient, app_name: str
) -> None:
    first = ok(await send(client, "k-2"), 202)
    others: list[dict[str, object]] = [
        {**BODY, "title": "Cancelled"},
        {**BODY, "audience": {"users": ["bo"]}},
        {**BODY, "data": {"booking": 4712, "slot": {"day": "mon", "at": "9:00"}}},
        {**BODY, "priority": "normal"},
    ]
    for other in others:
        error = error_of(await send(client, "k-2", other), 409, "idempotency_key_reused")
        assert error["details"] == {"idempotency_key": "k-2", "notification": first["id"]}
        assert "k-2" in error["message"]
    assert await stored_ids(client) == [first["id"]]
    # Another key is another notification.
    assert ok(await send(client, "k-3", others[0]), 202)["id"] != first["id"]


async def test_a_key_stored_before_requests_were_hashed_matches_any_request(
    client: httpx.AsyncClient, services: Services, app_name: str
) -> None:
    first = ok(await send(client, "k-4"), 202)
    async with services.notifications.begin() as connection:
        await connection.execute(sa.update(notifications).values(request_hash=None))
    again = ok(await send(client, "k-4", {**BODY, "title": "Cancelled"}), 200)
    assert (again["id"], again["created"]) == (first["id"], False)


async def test_concurrent_requests_with_one_key(client: httpx.AsyncClient, app_name: str) -> None:
    answers = await asyncio.gather(
        send(client, "k-5"), send(client, "k-5", {**BODY, "title": "Cancelled"})
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [202, 409], [answer.text for answer in answers]
    same = await asyncio.gather(send(client, "k-6"), send(client, "k-6", SAME))
    assert sorted(answer.status_code for answer in same) == [200, 202]
    assert len({answer.json()["id"] for answer in same}) == 1
