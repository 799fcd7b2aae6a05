"""Quiet hours and local wall-clock times: when a recipient's quiet window ends, and when a
wall-clock time next comes in a time zone (docs/delivery.md, "Quiet hours and local time").

Pure functions of an instant (UTC ms), a zone and the times asked about; the fan-out
calls them per recipient with the injected clock's time.

Rule for wall-clock times that a daylight-saving change makes skip or repeat, that of
iCalendar (RFC 5545 §3.3.5): a wall time inside a gap (02:30 on the night clocks jump from
02:00 to 03:00) is read with the offset in force before the gap, so it is the instant an
hour later on the wall (03:30); a wall time that occurs twice (the night clocks go back)
means its first occurrence, unless that has passed, then its second. Whether it is quiet
now is read from the wall time now, which is never ambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
# ``deliver_at_local``: HH:MM, or a date and HH:MM (ASCII digits only).
LOCAL_TIME_PATTERN = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}T)?([01][0-9]|2[0-3]):[0-5][0-9]$"
_LOCAL = re.compile(r"^(?:([0-9]{4}-[0-9]{2}-[0-9]{2})T)?([01][0-9]|2[0-3]):([0-5][0-9])$")
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window, in the recipient's own time zone, in which nothing is sent: from
    ``start`` up to (not including) ``end``; a window whose end is not after its start runs
    over midnight, one whose start equals its end is empty. ``urgent_passes``: a
    notification of ``high`` priority is sent anyway."""

    start: time
    end: time
    urgent_passes: bool = True

    @classmethod
    def of(cls, start: str, end: str, urgent_passes: bool = True) -> QuietHours:
        """From ``HH:MM`` strings (as settings and preferences store them)."""
        return cls(time_of_day(start), time_of_day(end), urgent_passes)

    @classmethod
    def from_stored(cls, stored: Any) -> QuietHours | None:
        """A person's own window as their preferences store it (``start``, ``end``,
        ``urgent_passes``, which passes unless it is false); None for none, or for one
        that does not read as a window."""
        if not isinstance(stored, dict):
            return None
        start, end = stored.get("start"), stored.get("end")
        if not isinstance(start, str) or not isinstance(end, str):
            return None
        try:
            return cls.of(start, end, stored.get("urgent_passes") is not False)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class LocalTime:
    """A wall-clock time to deliver at in each recipient's zone, on ``on`` (a date) or at
    its next occurrence."""

    at: time
    on: date | None = None

    @classmethod
    def parse(cls, text: str) -> LocalTime:
        """``HH:MM`` or ``YYYY-MM-DDTHH:MM``; ValueError saying what is wrong."""
        found = _LOCAL.fullmatch(text)
        if found is None:
            raise ValueError("must be HH:MM or YYYY-MM-DDTHH:MM (a wall-clock time, no offset)")
        on = date.fromisoformat(found.group(1)) if found.group(1) else None
        return cls(time(int(found.group(2)), int(found.group(3))), on)

    def __str__(self) -> str:
        clock = self.at.strftime("%H:%M")
        return clock if self.on is None else f"{self.on.isoformat()}T{clock}"


def time_of_day(text: str) -> time:
    found = _HH_MM.fullmatch(text)
    if found is None:
        raise ValueError(f"{text!r} is not a time of day as HH:MM")
    return time(int(found.group(1)), int(found.group(2)))


def zone_of(name: str | None) -> ZoneInfo | None:
    """The zone a stored name means; None for no name or one this system does not know."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def quiet_until(now_ms: int, zone: ZoneInfo, hours: QuietHours) -> int | None:
    """When the quiet window ``now_ms`` falls in ends (UTC ms), or None when it is not quiet."""
    if hours.start == hours.end:
        return None
    local = datetime.fromtimestamp(now_ms / 1000, zone)
    wall = local.time().replace(tzinfo=None)
    today = local.date()
    if hours.start < hours.end:
        if not hours.start <= wall < hours.end:
            return None
        ends_on = today
    elif wall >= hours.start:
        ends_on = today + timedelta(days=1)
    elif wall < hours.end:
        ends_on = today
    else:
        return None
    return _first_at_or_after(ends_on, hours.end, zone, now_ms)


def next_local(after_ms: int, zone: ZoneInfo, wanted: LocalTime) -> int:
    """The instant (UTC ms) of ``wanted`` in ``zone``: on its date, or its first occurrence
    at or after ``after_ms``. A date whose time has passed gives that past instant."""
    if wanted.on is not None:
        return _instant(wanted.on, wanted.at, zone, fold=0)
    today = datetime.fromtimestamp(after_ms / 1000, zone).date()
    for day in (today, today + timedelta(days=1)):
        found = _first_at_or_after(day, wanted.at, zone, after_ms)
        if found is not None:
            return found
    return _instant(today + timedelta(days=2), wanted.at, zone, fold=0)  # not reached


def earliest_and_latest(wanted: LocalTime) -> tuple[int, int] | None:
    """For a dated local time: the first and last instants it is anywhere on Earth
    (offsets run from UTC-12 to UTC+14); None for an undated one."""
    if wanted.on is None:
        return None
    naive = datetime.combine(wanted.on, wanted.at, UTC)
    at = int(naive.timestamp() * 1000)
    return at - 14 * 3_600_000, at + 12 * 3_600_000


def _first_at_or_after(day: date, at: time, zone: ZoneInfo, not_before: int) -> int | None:
    """``at`` on ``day`` in ``zone`` (its first occurrence, or its second when the first is
    before ``not_before``); None when both are before it."""
    for fold in (0, 1):
        found = _instant(day, at, zone, fold)
        if found >= not_before:
            return found
    return None


def _instant(day: date, at: time, zone: ZoneInfo, fold: int) -> int:
    local = datetime.combine(day, at, zone).replace(fold=fold)
    return int(local.astimezone(UTC).timestamp() * 1000)
