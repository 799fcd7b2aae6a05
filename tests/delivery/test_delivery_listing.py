"""Reading a notification's deliveries: pages along the device ids, filtered by outcome."""

from __future__ import annotations

import httpx
import pytest

from pushgate.simulators.webhook import WebhookSimulator
from tests.api.expect import error_of
from tests.clock import in_200_days
from tests.delivery.conftest import five_devices_two_gone, register, settled

pytestmark = pytest.mark.usefixtures("worker")


async def _pages(client: httpx.AsyncClient, url: str, **params: str) -> list[list[dict]]:
    pages: list[list[dict]] = []
    after: str | None = None
    while len(pages) < 10:
        query = {"limit": "2", **params, **({"after": after} if after else {})}
        answer = await client.get(url, params=query)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json()["items"])
        after = answer.json()["next"]
        if after is None:
            break
    return pages


async def test_deliveries_page_by_device_and_filter_by_outcome(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    devices = await five_devices_two_gone(client, webhook_app, webhook_sim)
    answer = await client.post(
        "/v1/notifications",
        json={"app": webhook_app, "audience": {"users": ["u"]}, "title": "paged"},
    )
    final = await settled(client, answer.json()["id"])
    assert (final["deliveries"]["sent"], final["deliveries"]["invalid"]) == (3, 2)
    url = f"/v1/notifications/{answer.json()['id']}/deliveries"

    pages = await _pages(client, url)
    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [item["device_id"] for page in pages for item in page]
    assert listed == sorted(devices)

    # A full last page is followed by an empty one: the cursor cannot know it was last.
    [invalid, after_last] = await _pages(client, url, outcome="invalid")
    assert after_last == []
    assert [item["state"] for item in invalid] == ["invalid", "invalid"]
    assert {item["device_id"] for item in invalid} < set(devices)
    # ``state`` is the older name of the same filter.
    assert await _pages(client, url, state="invalid") == [invalid, []]
    assert await _pages(client, url, outcome="invalid", state="invalid") == [invalid, []]

    both = await client.get(url, params={"outcome": "sent", "state": "invalid"})
    assert error_of(both, 422, "validation_failed")["details"] == {
        "outcome": "sent",
        "state": "invalid",
    }
    unknown = await client.get(url, params={"outcome": "delivered-ish"})
    error_of(unknown, 422, "validation_failed")


async def test_notifications_list_newest_first_by_app_and_state(
    client: httpx.AsyncClient, webhook_app: str, webhook_sim: WebhookSimulator
) -> None:
    await register(client, webhook_app, f"{webhook_sim.base_url}/hook/l", user="l")
    sent = []
    for title in ("one", "two", "three"):
        answer = await client.post(
            "/v1/notifications",
            json={"app": webhook_app, "audience": {"users": ["l"]}, "title": title},
        )
        sent.append(answer.json()["id"])
        await settled(client, sent[-1])
    later = await client.post(
        "/v1/notifications",
        json={
            "app": webhook_app,
            "audience": {"users": ["l"]},
            "title": "tomorrow",
            "send_at": in_200_days(),
        },
    )
    scheduled = later.json()["id"]

    first = await client.get("/v1/notifications", params={"limit": 3})
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["id"] for item in page["items"]] == [scheduled, sent[2], sent[1]]
    assert page["items"][1]["deliveries"]["sent"] == 1
    assert page["items"][1]["by_provider"] == {"webhook": {"sent": 1}}
    rest = await client.get("/v1/notifications", params={"limit": 3, "after": page["next"]})
    assert [item["id"] for item in rest.json()["items"]] == [sent[0]]
    assert rest.json()["next"] is None

    completed = await client.get(
        "/v1/notifications", params={"app": webhook_app, "state": "completed"}
    )
    assert [item["id"] for item in completed.json()["items"]] == sent[::-1]
    waiting = await client.get("/v1/notifications", params={"state": "scheduled"})
    assert [item["id"] for item in waiting.json()["items"]] == [scheduled]

    error_of(await client.get("/v1/notifications", params={"app": "nope"}), 404, "not_found")
    error_of(
        await client.get("/v1/notifications", params={"state": "nearly"}), 422, "validation_failed"
    )
    await client.delete(f"/v1/notifications/{scheduled}")
