"""Times relative to now for tests that need a notification to wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def in_200_days() -> str:
    """A ``send_at`` far enough ahead to wait through any test, within the year that
    ``send_at`` may lie ahead (``max_schedule_days``)."""
    return (datetime.now(UTC) + timedelta(days=200)).isoformat()
