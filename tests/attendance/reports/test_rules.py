"""The report rules as plain functions: pairing, hours, lateness, status, totals (no database)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from attendance.reports.rules import (
    ABSENT,
    BREAK_END,
    BREAK_START,
    IN,
    IN_NOW,
    INCOMPLETE,
    NOT_IN_YET,
    OUT,
    PRESENT,
    arrivals_histogram,
    hours_of,
    period_totals,
    summarise_day,
    working_days_between,
)

BERLIN = ZoneInfo("Europe/Berlin")
BOUNDARY = dt.time(4, 0)
MONDAY = dt.date(2025, 3, 3)


def at(day: dt.date, clock: str, tz: ZoneInfo = BERLIN) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=tz)


def summarise(events, *, day=MONDAY, shift=dt.time(9, 0), grace=5, tz=BERLIN, is_current=False):
    return summarise_day(
        events,
        workday=day,
        shift_start=shift,
        grace_minutes=grace,
        boundary=BOUNDARY,
        tz=tz,
        is_current=is_current,
    )


def test_one_minute_late_with_no_grace():
    """With no grace, an entry at 09:01 for a 09:00 shift is late by one minute."""
    day = summarise([(IN, at(MONDAY, "09:01")), (OUT, at(MONDAY, "17:00"))], grace=0)
    assert day.late and day.late_minutes == 1


def test_grace_edge_counts_whole_minutes():
    """With a 5-minute grace, 09:05:59 is on time and 09:06:00 is late by six minutes."""
    on_time = summarise([(IN, at(MONDAY, "09:05:59")), (OUT, at(MONDAY, "17:00"))])
    late = summarise([(IN, at(MONDAY, "09:06:00")), (OUT, at(MONDAY, "17:00"))])
    assert (on_time.late, on_time.late_minutes) == (False, 0)
    assert (late.late, late.late_minutes) == (True, 6)


def test_hours_are_the_sum_of_three_pairs():
    """Three in/out pairs add up: 4 h + 2 h 30 + 2 h 30 = 9.00 h; first entry and last exit are the ends."""
    events = [
        (IN, at(MONDAY, "08:00")),
        (OUT, at(MONDAY, "12:00")),
        (IN, at(MONDAY, "12:30")),
        (OUT, at(MONDAY, "15:00")),
        (IN, at(MONDAY, "15:15")),
        (OUT, at(MONDAY, "17:45")),
    ]
    day = summarise(events)
    assert day.worked == dt.timedelta(hours=9)
    assert day.hours == Decimal("9.00")
    assert day.first_entry == at(MONDAY, "08:00") and day.last_exit == at(MONDAY, "17:45")
    assert day.status == PRESENT and not day.late


def test_breaks_are_subtracted_from_hours_worked():
    """08:00-17:15 with breaks 10:00-10:15 and 12:30-13:15 is 9 h 15 - 1 h = 8.25 h; entries and exits only
    come from in/out events."""
    events = [
        (IN, at(MONDAY, "08:00")),
        (BREAK_START, at(MONDAY, "10:00")),
        (BREAK_END, at(MONDAY, "10:15")),
        (BREAK_START, at(MONDAY, "12:30")),
        (BREAK_END, at(MONDAY, "13:15")),
        (OUT, at(MONDAY, "17:15")),
    ]
    day = summarise(events)
    assert day.breaks == dt.timedelta(hours=1)
    assert day.worked == dt.timedelta(hours=8, minutes=15)
    assert day.hours == Decimal("8.25")
    assert day.entries == (at(MONDAY, "08:00"),) and day.exits == (at(MONDAY, "17:15"),)
    assert day.status == PRESENT


def test_a_break_never_ended_lasts_until_the_exit():
    """08:00 in, 16:30 break start, 17:00 out (no break end): 8 h 30 worked, the last 30 min a break."""
    events = [(IN, at(MONDAY, "08:00")), (BREAK_START, at(MONDAY, "16:30")), (OUT, at(MONDAY, "17:00"))]
    day = summarise(events)
    assert (day.worked, day.breaks) == (dt.timedelta(hours=8, minutes=30), dt.timedelta(minutes=30))


def test_break_events_outside_an_entry_change_nothing():
    """A break end with no start, and a break started before any entry, subtract nothing: 9.00 h."""
    events = [
        (BREAK_START, at(MONDAY, "07:30")),
        (IN, at(MONDAY, "08:00")),
        (BREAK_END, at(MONDAY, "09:00")),
        (OUT, at(MONDAY, "17:00")),
    ]
    day = summarise(events)
    assert (day.worked, day.breaks) == (dt.timedelta(hours=9), dt.timedelta(0))
    assert not day.missing_entry and not day.missing_exit


def test_missing_exit_is_not_counted():
    """An entry never closed is a missing exit: no hours, status incomplete."""
    day = summarise([(IN, at(MONDAY, "08:55"))])
    assert day.missing_exit and day.status == INCOMPLETE
    assert day.worked == dt.timedelta(0)
    assert day.status_label == "Incomplete: missing exit"


def test_open_interval_on_the_current_workday_means_in_now():
    """On the current workday an open last entry means the person is in, not a missing exit."""
    day = summarise([(IN, at(MONDAY, "08:55"))], is_current=True)
    assert day.status == IN_NOW and not day.missing_exit


def test_second_entry_without_exit_drops_the_first_interval():
    """In 09:00, in 13:00, out 17:00: only 13:00-17:00 counts (4.00 h) and the day is incomplete."""
    day = summarise([(IN, at(MONDAY, "09:00")), (IN, at(MONDAY, "13:00")), (OUT, at(MONDAY, "17:00"))])
    assert day.hours == Decimal("4.00")
    assert day.missing_exit and day.status == INCOMPLETE


def test_exit_without_entry_is_a_missing_entry():
    """An exit with no entry before it counts nothing and makes the day incomplete."""
    day = summarise([(OUT, at(MONDAY, "17:00"))])
    assert day.missing_entry and day.status == INCOMPLETE and day.worked == dt.timedelta(0)


def test_night_shift_across_midnight():
    """A 22:00 shift entered at 22:10 and left at 06:10 next morning: 8.00 h, late by 10 minutes."""
    tuesday = MONDAY + dt.timedelta(days=1)
    day = summarise([(IN, at(MONDAY, "22:10")), (OUT, at(tuesday, "06:10"))], shift=dt.time(22, 0))
    assert day.hours == Decimal("8.00")
    assert day.late_minutes == 10


def test_shift_starting_after_midnight_is_on_the_next_calendar_day():
    """A 02:00 shift (before the 04:00 boundary) on Monday's workday starts Tuesday 02:00."""
    tuesday = MONDAY + dt.timedelta(days=1)
    day = summarise([(IN, at(tuesday, "02:03")), (OUT, at(tuesday, "03:59"))], shift=dt.time(2, 0), grace=0)
    assert day.late_minutes == 3


def test_spring_forward_night_is_an_hour_shorter():
    """Berlin 29-30 March 2025: 20:00 to 03:30 on the clock is 6 h 30, since 02:00 became 03:00."""
    saturday, sunday = dt.date(2025, 3, 29), dt.date(2025, 3, 30)
    day = summarise(
        [(IN, at(saturday, "20:00")), (OUT, at(sunday, "03:30"))], day=saturday, shift=dt.time(20, 0)
    )
    assert day.hours == Decimal("6.50")
    assert not day.late


def test_fall_back_night_is_an_hour_longer():
    """Berlin 25-26 October 2025: 20:00 to 03:30 on the clock is 8 h 30, since 03:00 became 02:00."""
    saturday, sunday = dt.date(2025, 10, 25), dt.date(2025, 10, 26)
    day = summarise(
        [(IN, at(saturday, "20:00")), (OUT, at(sunday, "03:30"))], day=saturday, shift=dt.time(20, 0)
    )
    assert day.hours == Decimal("8.50")


def test_no_events_is_absent_or_not_yet_in_today():
    """No events: absent on a past workday, not yet in on the current one."""
    assert summarise([]).status == ABSENT
    assert summarise([], is_current=True).status == NOT_IN_YET


def test_hours_round_to_the_hundredth():
    """7 h 55 min is 7.9166... h, shown as 7.92."""
    assert hours_of(dt.timedelta(hours=7, minutes=55)) == Decimal("7.92")


def test_period_totals_count_attendance_on_working_days():
    """Mon-Sun with Mon 8 h, Tue incomplete, Sat 4 h: 5 working days, 2 attended on them, 3 present."""
    sunday = MONDAY + dt.timedelta(days=6)
    working = set(working_days_between(MONDAY, sunday, weekdays=[0, 1, 2, 3, 4]))
    tuesday, saturday = MONDAY + dt.timedelta(days=1), MONDAY + dt.timedelta(days=5)
    days = [
        summarise([(IN, at(MONDAY, "09:10")), (OUT, at(MONDAY, "17:10"))]),
        summarise([(IN, at(tuesday, "09:00"))], day=tuesday),
        summarise([(IN, at(saturday, "10:00")), (OUT, at(saturday, "14:00"))], day=saturday),
    ]
    totals = period_totals(days, working_days=working)
    assert totals.working_days == 5
    assert totals.days_present == 3
    assert totals.attendance_rate == Decimal("0.4000")  # 2 of 5
    assert totals.total_hours == Decimal("12.00")
    assert totals.average_hours == Decimal("4.00")  # 12 h over 3 days present
    assert totals.late_count == 2  # Monday 10 minutes, Saturday 60: shifts hold every day


@pytest.mark.parametrize(
    ("arrivals", "first", "last"),
    [({}, "07:00", "19:00"), ({5: 2, 9: 1}, "05:00", "19:00"), ({23: 1}, "07:00", "23:00")],
)
def test_arrivals_histogram_spans_the_working_hours_and_the_data(arrivals, first, last):
    """The arrivals chart covers 07:00-19:00 and stretches to any hour with arrivals."""
    bars = arrivals_histogram(arrivals, boundary_hour=4)
    assert bars[0]["hour"] == first and bars[-1]["hour"] == last
    assert sum(b["arrivals"] for b in bars) == sum(arrivals.values())
