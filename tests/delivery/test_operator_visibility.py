"""What an operator sees of a send: the log lines, the metrics, and why deliveries wait
(docs/operations.md, "Logs", "Metrics", "Why deliveries are pending")."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pushgate.cli.runtime import OPERATOR
from pushgate.core.pending import PendingKind, PendingReasons
from pushgate.logs import JsonFormatter
from pushgate.simulators.base import Fault
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.storage.pending import PendingStore
from pushgate.wiring import Services
from tests.delivery.conftest import register, work_through


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@contextmanager
def json_lines() -> Iterator[io.StringIO]:
    """pushgate's records, written as the JSON log format writes them, for the block."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("pushgate")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def send(client: httpx.AsyncClient, app: str, **extra: Any) -> str:
    answer = await client.post(
        "/v1/notifications",
        json={"app": app, "audience": {"everyone": True}, "title": "hi", **extra},
    )
    assert answer.status_code == 202, answer.text
    notification_id: str = answer.json()["id"]
    return notification_id


async def test_a_send_shows_in_the_metrics_and_the_log(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    for n in range(3):
        await register(client, webhook_app, f"{webhook_sim.base_url}/hook/{n}")
    webhook_sim.inject(Fault(status=410, count=1))  # one endpoint is gone
    with json_lines() as lines:
        notification_id = await send(client, webhook_app)
        await work_through(services)
    status = (await client.get(f"/v1/notifications/{notification_id}")).json()
    assert status["state"] == "completed"
    assert status["pending"] == []

    records = [orjson.loads(line) for line in lines.getvalue().splitlines()]
    [completed] = [r for r in records if r.get("event") == "notification.completed"]
    assert completed["notification_id"] == notification_id
    assert completed["counts"]["sent"] == 2
    assert completed["counts"]["invalid"] == 1
    assert completed["level"] == "info"
    assert "sent=2" in completed["message"]
    assert "invalid=1" in completed["message"]
    datetime.fromisoformat(completed["time"])  # ISO 8601
    [sent] = [r for r in records if r.get("event") == "http.request" and r["method"] == "POST"]
    assert sent["route"] == "/v1/notifications"
    assert sent["status"] == 202
    assert sent["duration_ms"] >= 0
    assert sent["request_id"]

    page = (await client.get("/metrics")).text
    found = samples(page)
    requests = "pushgate_http_requests_total"
    assert (
        found[(requests, (("method", "POST"), ("route", "/v1/notifications"), ("status", "202")))]
        == 1
    )
    by_id = (("method", "GET"), ("route", "/v1/notifications/{notification_id}"), ("status", "200"))
    assert found[(requests, by_id)] == 1  # one route template, not one series per id
    histogram = (("method", "POST"), ("route", "/v1/notifications"))
    assert found[("pushgate_http_request_seconds_count", histogram)] == 1
    outcomes = "pushgate_deliveries_total"
    assert found[(outcomes, (("outcome", "sent"), ("provider", "webhook")))] == 2
    assert found[(outcomes, (("outcome", "invalid_token"), ("provider", "webhook")))] == 1
    assert found[("pushgate_oldest_pending_seconds", ())] == 0
    assert found[("pushgate_queue_lag_seconds", (("kind", "send"),))] == 0
    assert ("process_cpu_seconds_total", ()) in found
    assert any(name == "python_info" for name, _ in found)


async def test_a_retry_is_warned_of_and_shown_as_pending(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The receiver answers 503 to one device and 429 to another, asking for ten minutes:
    the retry is logged with its reason, counted by reason, and the notification says
    which deliveries wait, why and until when."""
    for n in range(3):
        await register(client, webhook_app, f"{webhook_sim.base_url}/hook/{n}")
    webhook_sim.inject(Fault(status=503, retry_after=600, token="/hook/0"))
    webhook_sim.inject(Fault(status=429, retry_after=600, token="/hook/1"))
    caplog.set_level(logging.INFO, logger="pushgate")
    notification_id = await send(client, webhook_app)
    await work_through(services)

    status = (await client.get(f"/v1/notifications/{notification_id}")).json()
    assert status["state"] == "sending"
    assert (status["deliveries"]["sent"], status["deliveries"]["pending"]) == (1, 2)
    pending = sorted(status["pending"], key=lambda reason: reason["reason"])
    assert [(p["kind"], p["count"], p["provider"]) for p in pending] == [
        ("retrying", 1, "webhook"),
        ("retrying", 1, "webhook"),
    ]
    assert "429" in pending[0]["reason"]
    assert "503" in pending[1]["reason"]
    next_at = datetime.fromisoformat(pending[0]["next_attempt_at"])
    created = datetime.fromisoformat(status["created_at"])
    assert 590 <= (next_at - created).total_seconds() <= 700

    warnings = [r for r in caplog.records if getattr(r, "event", None) == "deliveries.retrying"]
    assert {r.reason for r in warnings} == {"http_503", "http_429"}  # type: ignore[attr-defined]
    assert all(r.levelno == logging.WARNING for r in warnings)
    assert all(notification_id in r.getMessage() for r in warnings)
    assert not any(getattr(r, "event", None) == "notification.completed" for r in caplog.records)

    found = samples((await client.get("/metrics")).text)
    retries = "pushgate_delivery_retries_total"
    assert found[(retries, (("provider", "webhook"), ("reason", "http_503")))] == 1
    assert found[(retries, (("provider", "webhook"), ("reason", "http_429")))] == 1
    assert found[("pushgate_oldest_pending_seconds", ())] >= 0

    # A look bounded to one pending row tells one and leaves the other unexamined.
    tenant = await services.access.tenant_for(OPERATOR, None)
    stored = await services.sending.status(OPERATOR, tenant, notification_id)
    bounded = await PendingReasons(PendingStore(services.engine), scan_limit=1).of(stored)
    assert [(r.kind, r.count) for r in bounded] == [
        (PendingKind.RETRYING, 1),
        (PendingKind.NOT_EXAMINED, 1),
    ]

    # Credentials paused meanwhile: the waiting deliveries are told under the pause alone.
    app_id = status["app_id"]
    refusal = "receiver answered 401"
    assert await services.notifications.pause_credentials(app_id, "webhook", refusal, 0)
    status = (await client.get(f"/v1/notifications/{notification_id}")).json()
    assert status["pending"] == [
        {
            "kind": "credentials_paused",
            "count": 2,
            "provider": "webhook",
            "reason": refusal,
            "next_attempt_at": None,
        }
    ]


async def test_pending_deliveries_of_a_notification_keeping_failures_only(
    client: httpx.AsyncClient,
    services: Services,
    webhook_app: str,
    webhook_sim: WebhookSimulator,
) -> None:
    """No row is kept of its pending deliveries: they are told by count, as queued."""
    for n in range(2):
        await register(client, webhook_app, f"{webhook_sim.base_url}/hook/{n}")
    webhook_sim.inject(Fault(status=503, retry_after=600, count=2))
    notification_id = await send(client, webhook_app, records="failures")
    status = (await client.get(f"/v1/notifications/{notification_id}")).json()
    assert status["pending"] == [{"kind": "waiting_for_fanout", "count": 2} | NONE]
    await work_through(services)
    status = (await client.get(f"/v1/notifications/{notification_id}")).json()
    assert status["pending"] == [{"kind": "queued", "count": 2} | NONE]


NONE = {"provider": None, "reason": None, "next_attempt_at": None}
