"""The window math of quiet hours and local-time delivery (core/quiet_hours.py,
core/deferral.py): windows over midnight, daylight-saving gaps and folds, UTC."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from pushgate.core.deferral import DeferReason, Deferred, Timing, TooLate, hold_of
from pushgate.core.messages import Priority
from pushgate.core.quiet_hours import (
    LocalTime,
    QuietHours,
    earliest_and_latest,
    next_local,
    quiet_until,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")
NIGHT = QuietHours.of("22:00", "07:00")
HOUR_MS = 3_600_000


def ms(text: str) -> int:
    """An instant written in UTC (``2026-01-15T21:00``)."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        ("2026-01-15T20:59", None),  # 21:59 in Berlin: not yet
        ("2026-01-15T21:00", "2026-01-16T06:00"),  # 22:00: quiet till 07:00 next morning
        ("2026-01-15T23:30", "2026-01-16T06:00"),  # past midnight UTC, same window
        ("2026-01-16T05:59", "2026-01-16T06:00"),  # 06:59 in Berlin
        ("2026-01-16T06:00", None),  # 07:00: the window's end is not in it
        ("2026-01-16T12:00", None),
    ],
)
def test_a_window_over_midnight(now: str, ends: str | None) -> None:
    assert quiet_until(ms(now), BERLIN, NIGHT) == (ms(ends) if ends else None)


def test_a_window_within_a_day_and_an_empty_one() -> None:
    lunch = QuietHours.of("12:00", "13:30")
    assert quiet_until(ms("2026-06-01T12:15"), UTC_ZONE, lunch) == ms("2026-06-01T13:30")
    assert quiet_until(ms("2026-06-01T11:59"), UTC_ZONE, lunch) is None
    assert quiet_until(ms("2026-06-01T13:30"), UTC_ZONE, lunch) is None
    never = QuietHours.of("08:00", "08:00")
    assert quiet_until(ms("2026-06-01T08:00"), UTC_ZONE, never) is None


def test_the_same_wall_window_moves_with_summer_time() -> None:
    # Berlin is UTC+1 in winter, UTC+2 in summer: 07:00 local is 06:00 or 05:00 UTC.
    assert quiet_until(ms("2026-07-01T21:00"), BERLIN, NIGHT) == ms("2026-07-02T05:00")
    # New York: UTC-5 in winter, UTC-4 in summer.
    assert quiet_until(ms("2026-01-16T04:00"), NEW_YORK, NIGHT) == ms("2026-01-16T12:00")
    assert quiet_until(ms("2026-07-02T04:00"), NEW_YORK, NIGHT) == ms("2026-07-02T11:00")


def test_a_night_with_the_spring_change_ends_at_the_wall_time() -> None:
    # 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST. The night began at 22:00 CET
    # (21:00 UTC) and ends at 07:00 CEST (05:00 UTC): an hour shorter.
    assert quiet_until(ms("2026-03-28T21:30"), BERLIN, NIGHT) == ms("2026-03-29T05:00")
    # New York's change is at 02:00 EST on 2026-03-08: 07:00 EDT is 11:00 UTC.
    assert quiet_until(ms("2026-03-08T04:00"), NEW_YORK, NIGHT) == ms("2026-03-08T11:00")


def test_an_end_inside_the_gap_reads_with_the_offset_before_it() -> None:
    """02:30 does not exist in Berlin on 2026-03-29: read with CET (RFC 5545 §3.3.5), it
    is 01:30 UTC, 03:30 on the wall once the clocks have jumped."""
    short = QuietHours.of("01:00", "02:30")
    assert quiet_until(ms("2026-03-29T00:15"), BERLIN, short) == ms("2026-03-29T01:30")
    when = LocalTime.parse("2026-03-29T02:30")
    assert next_local(ms("2026-03-28T00:00"), BERLIN, when) == ms("2026-03-29T01:30")


def test_a_time_that_occurs_twice_means_the_first_unless_it_has_passed() -> None:
    # 2026-10-25 in Berlin: 03:00 CEST goes back to 02:00 CET; 02:30 occurs at 00:30 and
    # at 01:30 UTC.
    at = LocalTime.parse("02:30")
    assert next_local(ms("2026-10-25T00:00"), BERLIN, at) == ms("2026-10-25T00:30")
    assert next_local(ms("2026-10-25T00:45"), BERLIN, at) == ms("2026-10-25T01:30")
    assert next_local(ms("2026-10-25T01:45"), BERLIN, at) == ms("2026-10-26T01:30")
    # New York on 2026-11-01: 01:30 occurs at 05:30 (EDT) and 06:30 UTC (EST).
    early = QuietHours.of("00:00", "01:30")
    assert quiet_until(ms("2026-11-01T04:10"), NEW_YORK, early) == ms("2026-11-01T05:30")
    # In the second 01:00-01:30 (EST), the first 01:30 has passed: the window ends at
    # the second.
    assert quiet_until(ms("2026-11-01T06:10"), NEW_YORK, early) == ms("2026-11-01T06:30")


def test_the_next_local_time_and_a_dated_one() -> None:
    nine = LocalTime.parse("09:00")
    assert next_local(ms("2026-02-10T12:00"), ZoneInfo("Asia/Tokyo"), nine) == ms(
        "2026-02-11T00:00"
    )
    la = ZoneInfo("America/Los_Angeles")
    assert next_local(ms("2026-02-10T12:00"), la, nine) == ms("2026-02-10T17:00")
    assert next_local(ms("2026-02-10T17:00"), la, nine) == ms("2026-02-10T17:00")
    eve = LocalTime.parse("2026-12-24T18:00")
    assert (eve.on, eve.at) == (datetime(2026, 12, 24).date(), time(18, 0))
    assert next_local(ms("2026-12-01T00:00"), BERLIN, eve) == ms("2026-12-24T17:00")
    assert earliest_and_latest(eve) == (ms("2026-12-24T04:00"), ms("2026-12-25T06:00"))
    assert earliest_and_latest(nine) is None
    assert str(eve) == "2026-12-24T18:00"


@pytest.mark.parametrize("text", ["9:00", "24:00", "09:60", "2026-12-24 09:00", "09:00Z", ""])
def test_local_times_that_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        LocalTime.parse(text)


def _timing(local: str | None = None, priority: Priority = Priority.NORMAL) -> Timing:
    created = ms("2026-01-15T21:00")
    return Timing(
        created, created + 24 * HOUR_MS, priority, LocalTime.parse(local) if local else None
    )


def test_a_recipient_in_quiet_hours_waits_for_the_end_unless_urgent_passes() -> None:
    now = ms("2026-01-15T21:00")
    assert hold_of(_timing(), now, BERLIN, NIGHT) == Deferred(
        ms("2026-01-16T06:00"), DeferReason.QUIET_HOURS
    )
    assert hold_of(_timing(), now, NEW_YORK, NIGHT) is None  # 16:00 there
    urgent = _timing(priority=Priority.HIGH)
    assert hold_of(urgent, now, BERLIN, NIGHT) is None
    strict = QuietHours.of("22:00", "07:00", urgent_passes=False)
    assert hold_of(urgent, now, BERLIN, strict) == Deferred(
        ms("2026-01-16T06:00"), DeferReason.QUIET_HOURS
    )


def test_a_wait_past_the_expiry_is_too_late() -> None:
    created = ms("2026-01-15T21:00")
    short = Timing(created, created + HOUR_MS, Priority.NORMAL, None)
    assert hold_of(short, created, BERLIN, NIGHT) == TooLate(DeferReason.QUIET_HOURS)
    local = Timing(created, created + HOUR_MS, Priority.NORMAL, LocalTime.parse("09:00"))
    assert hold_of(local, created, UTC_ZONE, None) == TooLate(DeferReason.LOCAL_TIME)


def test_a_local_time_in_quiet_hours_waits_for_their_end() -> None:
    now = ms("2026-01-15T21:00")
    assert hold_of(_timing("09:00"), now, BERLIN, NIGHT) == Deferred(
        ms("2026-01-16T08:00"), DeferReason.LOCAL_TIME
    )
    assert hold_of(_timing("23:00"), now, BERLIN, NIGHT) == Deferred(
        ms("2026-01-16T06:00"), DeferReason.QUIET_HOURS
    )
    # A page run after the local time came sends at once.
    assert hold_of(_timing("09:00"), ms("2026-01-16T08:30"), BERLIN, None) is None
