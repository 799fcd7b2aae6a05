"""The job that forwards a batch of recorded interactions: its payload round-trips, and a
payload of another version is refused rather than misread."""

from __future__ import annotations

import orjson
import pytest

from pushgate.core.interaction_forwarding import ForwardBatch, ForwardedEvent
from pushgate.delivery.jobs import (
    INTERACTIONS_WEBHOOK,
    interactions_webhook_job,
    read_interactions_webhook,
)


def test_a_batch_round_trips_through_its_job() -> None:
    batch = ForwardBatch(
        "0190a6f0-0000-7000-8000-000000000001",
        "tenant-1",
        "app-1",
        1_700_000_000_000,
        (
            ForwardedEvent("n1", "d1", "dev1", "opened", None, 1_700_000_000_001),
            ForwardedEvent("n1", "d2", "dev2", "action", "approve", 1_700_000_000_002),
        ),
    )
    job = interactions_webhook_job(batch)
    assert (job.kind, job.id, job.owner) == (INTERACTIONS_WEBHOOK, f"fwd-{batch.id}", batch.id)
    assert read_interactions_webhook(job.payload) == batch


def test_a_payload_of_another_version_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown version"):
        read_interactions_webhook(orjson.dumps({"v": 2, "id": "x"}))
