"""What devices' interactions add up to: the counts kept per notification and per app hour,
and the report read from them (docs/reports.md).

Counts move by what each recorded batch adds (``tallies``), in the transaction that records
it, so reading a notification's report reads a few rows whatever its number of deliveries.
The median time to open comes from a histogram of minutes kept the same way: a count per
bucket, one minute wide for the first hour, a quarter of an hour up to a day, a day after,
so the median is known to within its bucket's width and costs one row per bucket.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MINUTES = 1_440


class InteractionEvent(StrEnum):
    """What a device reports of a push."""

    RECEIVED = "received"
    OPENED = "opened"
    DISMISSED = "dismissed"
    ACTION = "action"


# The metrics of the per-app series, in their column order: what was sent, then what
# devices did with it (every action tap counts once as ``actioned``).
SERIES_METRICS = ("sent", "received", "opened", "dismissed", "actioned")
ACTIONED = "actioned"
ACTION_PREFIX = "action:"
OPEN_PREFIX = "open_after:"  # then the bucket's first minute


# A tuple, not a frozen dataclass: one is built per reported event, in a third of the time.
class RecordedInteraction(NamedTuple):
    """One interaction newly recorded: what moves the counts."""

    notification_id: str
    app_id: str
    type_key: str  # "" for a notification sent without a type
    event: InteractionEvent
    action_key: str  # "" unless ``event`` is ``action``
    at: int  # epoch ms, within the notification's life
    opened_after_ms: int  # from the notification's start to ``at``


@dataclass(frozen=True, slots=True)
class Tallies:
    """What a batch adds: (notification id, metric) → n and (app id, hour, type, metric) → n."""

    engagement: Counter[tuple[str, str]]
    rollups: Counter[tuple[str, int, str, str]]


def hour_of(at_ms: int) -> int:
    return at_ms - at_ms % HOUR_MS


def open_bucket(after_ms: int) -> int:
    """The first minute of the histogram bucket ``after_ms`` falls in."""
    minutes = max(0, after_ms) // MINUTE_MS
    if minutes < 60:
        return minutes
    if minutes < DAY_MINUTES:
        return minutes - minutes % 15
    return minutes - minutes % DAY_MINUTES


def bucket_width(first_minute: int) -> int:
    if first_minute < 60:
        return 1
    return 15 if first_minute < DAY_MINUTES else DAY_MINUTES


def tallies(recorded: Iterable[RecordedInteraction]) -> Tallies:
    engagement: Counter[tuple[str, str]] = Counter()
    rollups: Counter[tuple[str, int, str, str]] = Counter()
    for item in recorded:
        hour = hour_of(item.at)
        if item.event is InteractionEvent.ACTION:
            engagement[(item.notification_id, ACTION_PREFIX + item.action_key)] += 1
            engagement[(item.notification_id, ACTIONED)] += 1
            rollups[(item.app_id, hour, item.type_key, ACTIONED)] += 1
            continue
        engagement[(item.notification_id, item.event.value)] += 1
        rollups[(item.app_id, hour, item.type_key, item.event.value)] += 1
        if item.event is InteractionEvent.OPENED:
            bucket = open_bucket(item.opened_after_ms)
            engagement[(item.notification_id, f"{OPEN_PREFIX}{bucket}")] += 1
    return Tallies(engagement, rollups)


@dataclass(frozen=True, slots=True)
class Engagement:
    """A notification's interactions, as its report shows them."""

    received: int
    opened: int
    dismissed: int
    actioned: int
    actions: dict[str, int]
    median_seconds_to_open: int | None

    def rate(self, count: int, sent: int) -> float | None:
        return None if sent <= 0 else round(count / sent, 4)


def engagement_of(metrics: Mapping[str, int]) -> Engagement:
    """The report of a notification from its kept metrics."""
    actions = {
        name.removeprefix(ACTION_PREFIX): n
        for name, n in sorted(metrics.items())
        if name.startswith(ACTION_PREFIX)
    }
    buckets = sorted(
        (int(name.removeprefix(OPEN_PREFIX)), n)
        for name, n in metrics.items()
        if name.startswith(OPEN_PREFIX)
    )
    return Engagement(
        received=metrics.get(InteractionEvent.RECEIVED.value, 0),
        opened=metrics.get(InteractionEvent.OPENED.value, 0),
        dismissed=metrics.get(InteractionEvent.DISMISSED.value, 0),
        actioned=metrics.get(ACTIONED, 0),
        actions=actions,
        median_seconds_to_open=median_seconds(buckets),
    )


def median_seconds(buckets: list[tuple[int, int]]) -> int | None:
    """The median of a histogram of (first minute, count), sorted, interpolated linearly
    within the bucket that holds the middle: exact to within that bucket's width."""
    total = sum(n for _, n in buckets)
    if total <= 0:
        return None
    middle = total / 2
    seen = 0
    for first, n in buckets:
        if n > 0 and seen + n >= middle:
            share = (middle - seen) / n
            return round((first + share * bucket_width(first)) * 60)
        seen += n
    first, _ = buckets[-1]
    return (first + bucket_width(first)) * 60
