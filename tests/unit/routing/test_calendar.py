"""Working-hours arithmetic: time zones, weekends, deadlines that cross a night."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from leadloop_routing.domain.calendar import WorkingCalendar

BERLIN = WorkingCalendar("Europe/Berlin", time(9), time(17))
NEW_YORK = WorkingCalendar("America/New_York", time(8, 30), time(17, 30))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("calendar", "start", "minutes", "deadline"),
    [
        # Tuesday 10:00 Berlin (09:00 UTC) + 30 min, same morning.
        (BERLIN, "2026-11-24T09:00", 30, "2026-11-24T09:30"),
        # Tuesday 16:45 Berlin + 30 min: 15 tonight, 15 tomorrow from 09:00.
        (BERLIN, "2026-11-24T15:45", 30, "2026-11-25T08:15"),
        # Friday 16:50 Berlin + 30 min crosses the weekend to Monday.
        (BERLIN, "2026-11-27T15:50", 30, "2026-11-30T08:20"),
        # Saturday night: the clock starts Monday 09:00 Berlin.
        (BERLIN, "2026-11-28T22:00", 60, "2026-11-30T09:00"),
        # 06:00 Berlin, before opening: starts at 09:00.
        (BERLIN, "2026-11-24T05:00", 10, "2026-11-24T08:10"),
        # New York Monday 17:20 local (22:20 UTC) + 30: 10 today, 20 from 08:30 Tuesday.
        (NEW_YORK, "2026-11-23T22:20", 30, "2026-11-24T13:50"),
        # A whole working day and a bit.
        (BERLIN, "2026-11-24T08:00", 8 * 60 + 30, "2026-11-25T08:30"),
    ],
)
def test_add_working_minutes(
    calendar: WorkingCalendar, start: str, minutes: int, deadline: str
) -> None:
    assert calendar.add_working_minutes(utc(start), minutes) == utc(deadline)


def test_daylight_saving_change_is_respected() -> None:
    # Berlin leaves summer time on 2026-10-25: 17:00 local is 15:00 UTC on Friday the 23rd,
    # and 09:00 local is 08:00 UTC on Monday the 26th.
    assert BERLIN.add_working_minutes(utc("2026-10-23T14:30"), 60) == utc("2026-10-26T08:30")


def test_working_minutes_between_and_is_working() -> None:
    assert BERLIN.working_minutes_between(utc("2026-11-27T15:00"), utc("2026-11-30T09:00")) == 120
    assert BERLIN.is_working(utc("2026-11-24T12:00"))
    assert not BERLIN.is_working(utc("2026-11-28T12:00"))
    assert not BERLIN.is_working(utc("2026-11-24T17:00"))


def test_bad_calendars_are_refused() -> None:
    with pytest.raises(ValueError):
        WorkingCalendar("Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        WorkingCalendar("UTC", time(18), time(9))
