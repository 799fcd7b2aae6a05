"""Prometheus metrics of sending, on registries of their own (one pair per process).

Series broken down by tenant live on a second registry: ``/metrics`` shows them only to
instance admins (docs/operations.md, "Metrics"), since a tenant's volume is its own
business. A third holds what is read from the database at scrape time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

# Request latencies: from a cached read (a millisecond) to a slow bulk import.
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class DeliveryMetrics:
    """Counters and histograms the API, workers and ``/metrics`` share."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.tenant_registry = CollectorRegistry()
        # Read from the database and the queue when /metrics is scraped: the same in every
        # process, so only the API's /metrics shows them (delivery/instance_gauges.py).
        self.instance_registry = CollectorRegistry()
        self.paused_credentials = Gauge(
            "pushgate_credentials_paused",
            "Credentials paused because the provider refused them, by provider.",
            ["provider"],
            registry=self.instance_registry,
        )
        self.oldest_pending = Gauge(
            "pushgate_oldest_pending_seconds",
            "How long the oldest notification still sending has been due (0: none).",
            registry=self.instance_registry,
        )
        self.queue_lag = Gauge(
            "pushgate_queue_lag_seconds",
            "How long the oldest job a worker could take now has been due (0: none), by job kind.",
            ["kind"],
            registry=self.instance_registry,
        )
        self.notifications_stored = Counter(
            "pushgate_notifications_stored_total",
            "Notifications stored by any process (API or command line), counted from "
            "the database from this process's first scrape on.",
            registry=self.instance_registry,
        )
        self._accepted = Counter(
            "pushgate_notifications_accepted_total",
            "Notifications accepted for sending.",
            registry=self.registry,
        )
        self._tenant_accepted = Counter(
            "pushgate_tenant_notifications_accepted_total",
            "Notifications accepted for sending, by tenant id.",
            ["tenant"],
            registry=self.tenant_registry,
        )
        self._tenant_outcomes = Counter(
            "pushgate_tenant_deliveries_total",
            "Delivery attempts by tenant id and outcome.",
            ["tenant", "outcome"],
            registry=self.tenant_registry,
        )
        self._outcomes = Counter(
            "pushgate_deliveries_total",
            "Delivery attempts by provider and outcome.",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.events_purged = Counter(
            "pushgate_record_events_purged_total",
            "Record events deleted past their tenant's retention window.",
            registry=self.registry,
        )
        self.throttles_purged = Counter(
            "pushgate_trigger_throttles_purged_total",
            "Trigger throttles deleted once their period ended.",
            registry=self.registry,
        )
        self._purged = Counter(
            "pushgate_notifications_purged_total",
            "Notifications deleted past their tenant's retention window.",
            registry=self.registry,
        )
        self._retries = Counter(
            "pushgate_delivery_retries_total",
            "Deliveries planned for another attempt, by provider and reason.",
            ["provider", "reason"],
            registry=self.registry,
        )
        self._requests = Counter(
            "pushgate_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._request_seconds = Histogram(
            "pushgate_http_request_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self._resumed = Counter(
            "pushgate_credentials_resumed_total",
            "Paused credentials resumed because the provider accepted a probe.",
            ["provider"],
            registry=self.registry,
        )
        self._invalidated = Counter(
            "pushgate_tokens_invalidated_total",
            "Devices invalidated because the provider reported the token dead.",
            ["provider"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "pushgate_send_batch_seconds",
            "Time for one batch to come back from a provider.",
            ["provider"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        # Per origin a relay sends for (docs/relay.md): a customer's volume, so on the
        # registry only instance admins read.
        self._relayed = Counter(
            "pushgate_relay_messages_total",
            "Messages relayed for an origin, by origin instance id and answer.",
            ["origin", "outcome"],
            registry=self.tenant_registry,
        )
        self._inbound = Counter(
            "pushgate_inbound_requests_total",
            "Requests to inbound sources, by source id and outcome (stored, repeat, or the "
            "refusal's reason).",
            ["source", "outcome"],
            registry=self.tenant_registry,
        )
        self._relay_quota_hits = Counter(
            "pushgate_relay_quota_hits_total",
            "Relay batches an origin's quota cut short or refused, by origin instance id.",
            ["origin"],
            registry=self.tenant_registry,
        )
        self.queue_depth = Gauge(
            "pushgate_queue_jobs",
            "Jobs in the queue by kind and state.",
            ["kind", "state"],
            registry=self.registry,
        )
        self._interactions = Counter(
            "pushgate_interactions_total",
            "Interactions devices reported and pushgate recorded (repeats not counted), "
            "by event: received, opened, dismissed, action.",
            ["event"],
            registry=self.registry,
        )
        self._app_interactions = Counter(
            "pushgate_tenant_interactions_total",
            "Interactions recorded, by tenant id, app id and event.",
            ["tenant", "app", "event"],
            registry=self.tenant_registry,
        )
        self._late_interactions = Counter(
            "pushgate_interactions_late_total",
            "Interactions reported for notifications that no longer exist (not recorded).",
            registry=self.registry,
        )
        # CPU, memory, open files and start time of this process, and the Python it runs.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def accepted(self, tenant_id: str) -> None:
        self._accepted.inc()
        self._tenant_accepted.labels(tenant_id).inc()

    def outcomes(self, tenant_id: str, provider: str, outcome: str, count: int) -> None:
        if count:
            self._outcomes.labels(provider, outcome).inc(count)
            self._tenant_outcomes.labels(tenant_id, outcome).inc(count)

    def interactions(self, tenant_id: str, app_id: str, event: str, n: int) -> None:
        self._interactions.labels(event).inc(n)
        self._app_interactions.labels(tenant_id, app_id, event).inc(n)

    def late_interactions(self, n: int) -> None:
        self._late_interactions.inc(n)

    def purged(self, count: int) -> None:
        self._purged.inc(count)

    def retries(self, provider: str, reason: str, count: int) -> None:
        """``reason`` is a label from a short list (delivery/retry_reasons.py)."""
        if count:
            self._retries.labels(provider, reason).inc(count)

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self._requests.labels(method, route, str(status)).inc()
        self._request_seconds.labels(method, route).observe(seconds)

    def relayed(self, origin: str, outcome: str, count: int) -> None:
        if count:
            self._relayed.labels(origin, outcome).inc(count)

    def inbound(self, source: str, outcome: str) -> None:
        self._inbound.labels(source, outcome).inc()

    def relay_quota_hit(self, origin: str) -> None:
        self._relay_quota_hits.labels(origin).inc()

    def resumed(self, provider: str) -> None:
        self._resumed.labels(provider).inc()

    def invalidated(self, provider: str, count: int) -> None:
        if count:
            self._invalidated.labels(provider).inc(count)

    @contextmanager
    def timing(self, provider: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._latency.labels(provider).observe(time.perf_counter() - started)
