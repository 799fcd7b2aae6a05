"""The access log's request id, the HTTP series' labels, and the instance-wide series
read from the database at scrape time (docs/operations.md, "Logs" and "Metrics")."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pushgate.api.app import create_app
from pushgate.cli.runtime import OPERATOR
from pushgate.core.clock import ManualClock
from pushgate.core.notification_input import NotificationInput
from pushgate.delivery.instance_gauges import InstanceGauges
from pushgate.delivery.jobs import JOB_KINDS
from pushgate.delivery.metrics import DeliveryMetrics
from pushgate.storage.instance_stats import InstanceStatsStore
from pushgate.wiring import Services, build_services
from tests.api.expect import ok
from tests.conftest import make_settings


def requests_of(page: str, route: str) -> dict[str, float]:
    """``pushgate_http_requests_total`` of one route template, by status."""
    return {
        sample.labels["status"]: sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == "pushgate_http_requests_total" and sample.labels["route"] == route
    }


async def test_the_request_id_is_answered_and_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pushgate.access")
    given = await client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.9"})
    assert given.headers["x-request-id"] == "lb-7f3a.9"
    # Not a short token: replaced, never logged as it came.
    made = await client.get("/healthz", headers={"X-Request-ID": "a b\tc"})
    made_id = made.headers["x-request-id"]
    assert made_id not in ("a b\tc", "lb-7f3a.9")
    assert len(made_id) == 36
    lines = [r for r in caplog.records if r.name == "pushgate.access"]
    assert [getattr(r, "request_id", None) for r in lines] == ["lb-7f3a.9", made_id]
    assert all(r.levelno == logging.INFO for r in lines)
    assert "GET /healthz 200" in lines[0].getMessage()
    assert "request_id=lb-7f3a.9" in lines[0].getMessage()


async def test_requests_are_counted_by_route_template(
    client: httpx.AsyncClient, services: Services, app_name: str
) -> None:
    """Unknown paths share one series, and a request refused before routing (no key)
    counts under the route it was for."""
    for n in range(3):
        assert (await client.get(f"/v1/devices/no-such-{n}")).status_code == 404
        assert (await client.get(f"/nothing/here/{n}")).status_code == 404
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://pushgate.test") as bare:
        assert (await bare.get("/v1/apps")).status_code == 401
    page = (await client.get("/metrics")).text
    assert requests_of(page, "/v1/devices/{device_id}") == {"404": 3}
    assert requests_of(page, "<unmatched>") == {"404": 3}
    assert requests_of(page, "/v1/apps")["401"] == 1
    assert not any("no-such" in line or "nothing/here" in line for line in page.splitlines())


async def test_instance_series_count_what_another_process_stored(
    client: httpx.AsyncClient, services: Services, app_name: str, tmp_path: Path
) -> None:
    """A notification accepted by another process on the same database (the command line
    in local mode) is counted, once it is past the settling time; paused credentials
    show by provider."""
    clock = ManualClock(time.time() - 60)
    metrics = DeliveryMetrics()
    gauges = InstanceGauges(
        InstanceStatsStore(services.engine),
        services.queue,
        JOB_KINDS,
        metrics,
        clock,
        min_interval_ms=0,
    )
    secret = "whsec_" + "A" * 43 + "="
    ok(
        await client.put(
            f"/v1/apps/{app_name}/credentials/webhook",
            json={"url": "https://hooks.example.com/in", "signing_secret": secret},
        )
    )
    device = {"provider": "webhook", "token": "https://hooks.example.com/d"}
    ok(await client.post(f"/v1/apps/{app_name}/devices", json=device), 201)
    other = await build_services(
        make_settings(
            tmp_path,
            services.settings.database_url,
            secret_key=services.settings.secret_key,
        ),
        run_migrations=False,
    )
    try:
        tenant = await other.access.tenant_for(OPERATOR, None)
        body = {"app": app_name, "audience": {"everyone": True}, "title": "from a terminal"}
        await other.sending.accept(OPERATOR, tenant, NotificationInput.model_validate(body))
    finally:
        await other.close()
    app = await services.registry.app(await services.access.tenant_for(OPERATOR, None), app_name)
    assert await services.notifications.pause_credentials(app.id, "webhook", "401", clock.now_ms())

    stored = "pushgate_notifications_stored_total"
    await gauges.refresh()
    assert metrics.instance_registry.get_sample_value(stored) == 0  # within the settling time
    paused = metrics.instance_registry.get_sample_value(
        "pushgate_credentials_paused", {"provider": "webhook"}
    )
    assert paused == 1
    clock.advance(75)
    await gauges.refresh()
    assert metrics.instance_registry.get_sample_value(stored) == 1
    # No worker runs here: the notification is still sending, due since it was accepted.
    oldest = metrics.instance_registry.get_sample_value("pushgate_oldest_pending_seconds")
    assert oldest is not None
    assert 5 <= oldest <= 30
    await gauges.refresh()
    assert metrics.instance_registry.get_sample_value(stored) == 1  # counted once
