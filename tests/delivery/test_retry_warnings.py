"""The retry warning's rate limit, on a clock the test moves, and the JSON log format."""

from __future__ import annotations

import io
import logging
from collections import Counter

import orjson
import pytest

from pushgate.core.clock import ManualClock
from pushgate.core.notifications import Notification, NotificationState
from pushgate.core.outcomes import RetryClass, retry
from pushgate.delivery.retry_warnings import RetryWarnings, retry_label
from pushgate.logs import JsonFormatter, formatter


def notification(number: int, app_id: str = "app-1") -> Notification:
    return Notification(
        id=f"n-{number}",
        tenant_id="t-1",
        app_id=app_id,
        idempotency_key=None,
        audience={"everyone": True},
        content={"title": "hi"},
        state=NotificationState.SENDING,
        targeted=1,
        fanout_done=True,
        send_at=None,
        expires_at=0,
        created_at=0,
        updated_at=0,
    )


def test_the_retry_label_is_bounded() -> None:
    assert retry_label(retry("receiver answered 503: busy", 30, 503)) == "http_503"
    quota = retry("QUOTA_EXCEEDED", None, 429, RetryClass.FCM_QUOTA_EXCEEDED)
    assert retry_label(quota) == "fcm_quota_exceeded"
    assert retry_label(retry("connection reset")) == "no_answer"


def test_retry_warnings_are_rate_limited_per_app_provider_and_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="pushgate.delivery.retry_warnings")
    clock = ManualClock(1_700_000_000)
    warnings = RetryWarnings(clock, interval_ms=60_000)
    busy: Counter[tuple[str, str]] = Counter({("http_503", "receiver answered 503"): 4})
    warnings.retried(notification(1), "webhook", busy, clock.now_ms() + 30_000)
    warnings.retried(notification(2), "webhook", busy, clock.now_ms() + 30_000)  # held back
    clock.advance(59)
    warnings.retried(notification(3), "webhook", busy, clock.now_ms() + 30_000)  # held back
    # Another reason, another provider, another app: each warned of at once.
    limited: Counter[tuple[str, str]] = Counter({("http_429", "receiver answered 429"): 1})
    warnings.retried(notification(3), "webhook", limited, clock.now_ms())
    warnings.retried(notification(3), "fcm", busy, clock.now_ms())
    warnings.retried(notification(4, "app-2"), "webhook", busy, clock.now_ms())
    clock.advance(1)
    warnings.retried(notification(5), "webhook", busy, clock.now_ms() + 30_000)

    lines = [(r.notification_id, r.provider, r.reason, r.held_back) for r in caplog.records]  # type: ignore[attr-defined]
    assert lines == [
        ("n-1", "webhook", "http_503", 0),
        ("n-3", "webhook", "http_429", 0),
        ("n-3", "fcm", "http_503", 0),
        ("n-4", "webhook", "http_503", 0),
        ("n-5", "webhook", "http_503", 8),  # the two batches held back, 4 each
    ]
    assert "receiver answered 503" in caplog.records[0].getMessage()
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_the_json_format_writes_one_object_per_record() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("pushgate.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("two\nlines", extra={"event": "x.y", "counts": {"sent": 2}})
        try:
            raise ValueError("broken")
        except ValueError:
            logger.exception("it failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    first, second = (orjson.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "two\nlines"
    assert (first["level"], first["logger"], first["event"]) == (
        "warning",
        "pushgate.test.json",
        "x.y",
    )
    assert first["counts"] == {"sent": 2}
    assert first["time"].endswith("+00:00")
    assert second["level"] == "error"
    assert "ValueError: broken" in second["exception"]
    assert not isinstance(formatter("text"), JsonFormatter)
