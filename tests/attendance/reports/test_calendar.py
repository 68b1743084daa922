"""Statuses, expected hours and overtime from schedules, holidays, leave and employment dates."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from attendance.clock import Shift
from attendance.reports.rules import (
    ABSENT,
    DAY_OFF,
    HOLIDAY,
    IN,
    NOT_EMPLOYED,
    ON_LEAVE,
    OUT,
    PRESENT,
    UPCOMING,
    DayPlan,
    hours_minutes,
    summarise_day,
)

BERLIN = ZoneInfo("Europe/Berlin")
DAY = Shift(dt.time(9, 0), dt.time(17, 0))
NIGHT = Shift(dt.time(22, 0), dt.time(6, 0))


def at(day: dt.date, clock: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=BERLIN)


def summarise(events, day, plan, *, is_future=False, is_current=False):
    return summarise_day(
        events,
        workday=day,
        shift_start=dt.time(0),
        grace_minutes=0,
        boundary=dt.time(0),
        tz=BERLIN,
        plan=plan,
        is_future=is_future,
        is_current=is_current,
    )


OFFICE = DayPlan(boundary=dt.time(4, 0), shift=DAY, break_minutes=30, grace_minutes=5)
MONDAY = dt.date(2026, 3, 2)


def test_a_late_entry_and_an_early_exit_on_a_scheduled_day():
    """09:12 to 16:40 on a 09:00-17:00 shift with a 30 min break and 5 min grace: late 12 min, left 20 min
    early, worked 7:28 against 7:30 expected, no overtime."""
    day = summarise([(IN, at(MONDAY, "09:12")), (OUT, at(MONDAY, "16:40"))], MONDAY, OFFICE)
    assert (day.status, day.late_minutes, day.early_leave_minutes) == (PRESENT, 12, 20)
    assert (hours_minutes(day.worked), hours_minutes(day.expected), hours_minutes(day.overtime)) == (
        "7:28",
        "7:30",
        "0:00",
    )
    assert (day.hours, day.expected_hours, day.overtime_hours) == (Decimal("7.47"), Decimal("7.50"), 0)


def test_days_without_events_say_why():
    """No events: absent on a working day; day off at the weekend; the holiday's name; on leave;
    upcoming in the future; not employed before the start date (which wins over everything)."""
    saturday = dt.date(2026, 3, 7)
    weekend = DayPlan(boundary=dt.time(4, 0), shift=None)
    cases = [
        (MONDAY, OFFICE, False, ABSENT, "Absent"),
        (saturday, weekend, False, DAY_OFF, "Day off"),
        (
            MONDAY,
            DayPlan(boundary=dt.time(4), shift=DAY, holiday="Labour Day"),
            False,
            HOLIDAY,
            "Holiday: Labour Day",
        ),
        (
            MONDAY,
            DayPlan(boundary=dt.time(4), shift=DAY, leave="Sick leave"),
            False,
            ON_LEAVE,
            "On leave: Sick leave",
        ),
        (MONDAY, OFFICE, True, UPCOMING, "Upcoming"),
        (MONDAY, DayPlan(boundary=dt.time(4), shift=DAY, employed=False), True, NOT_EMPLOYED, "Not employed"),
    ]
    for day, plan, future, status, label in cases:
        summary = summarise([], day, plan, is_future=future)
        assert (summary.status, summary.status_label) == (status, label)
    assert summarise([], MONDAY, OFFICE).expected == dt.timedelta(hours=7, minutes=30)
    assert summarise([], saturday, weekend).expected == dt.timedelta(0)


def test_work_on_a_day_off_or_a_holiday_is_all_overtime():
    """Three hours on a Saturday off: expected 0:00, overtime 3:00, never late."""
    saturday = dt.date(2026, 3, 7)
    plan = DayPlan(boundary=dt.time(4, 0), shift=None)
    day = summarise([(IN, at(saturday, "10:00")), (OUT, at(saturday, "13:00"))], saturday, plan)
    assert (day.status, day.late_minutes, hours_minutes(day.expected), hours_minutes(day.overtime)) == (
        PRESENT,
        0,
        "0:00",
        "3:00",
    )


def test_a_half_day_of_leave_halves_the_expected_hours_and_excuses_lateness():
    """Half a day of vacation on a 7:30 day: 3:45 expected; 09:30-13:45 is 4:15 worked, 0:30 overtime,
    not late; with no events the other half is absent."""
    plan = DayPlan(boundary=dt.time(4, 0), shift=DAY, break_minutes=30, leave="Vacation", half_day_leave=True)
    day = summarise([(IN, at(MONDAY, "09:30")), (OUT, at(MONDAY, "13:45"))], MONDAY, plan)
    assert (hours_minutes(day.expected), hours_minutes(day.worked), hours_minutes(day.overtime)) == (
        "3:45",
        "4:15",
        "0:30",
    )
    assert (day.late_minutes, day.early_leave_minutes, day.status_label) == (
        0,
        0,
        "Present (half day vacation)",
    )
    assert summarise([], MONDAY, plan).status == ABSENT


def test_a_night_shift_across_the_spring_clock_change():
    """Nights 22:00-06:00 (boundary 14:00) on Sat 28 Mar 2026 in Berlin: 02:00 becomes 03:00, so 7:00
    expected; in at 22:04, out at 06:00 is 6:56 worked, not late (4 min within 5), not early."""
    saturday = dt.date(2026, 3, 28)
    plan = DayPlan(boundary=dt.time(14, 0), shift=NIGHT, grace_minutes=5)
    events = [(IN, at(saturday, "22:04")), (OUT, at(dt.date(2026, 3, 29), "06:00"))]
    day = summarise(events, saturday, plan)
    assert (hours_minutes(day.expected), hours_minutes(day.worked), hours_minutes(day.overtime)) == (
        "7:00",
        "6:56",
        "0:00",
    )
    assert (day.status, day.late_minutes, day.early_leave_minutes) == (PRESENT, 0, 0)


@pytest.mark.parametrize(
    ("minutes", "shown"), [(0, "0:00"), (59, "0:59"), (437, "7:17"), (600, "10:00"), (-75, "-1:15")]
)
def test_hours_show_as_hours_and_minutes(minutes, shown):
    """Pages show durations as h:mm: 437 minutes is 7:17."""
    assert hours_minutes(dt.timedelta(minutes=minutes)) == shown


@pytest.mark.django_db
def test_a_month_for_someone_who_joined_mid_month(settings):
    """March 2026, Mon-Fri 09:00-17:00 with a 30 min break, joined Mon 16 Mar. Working days 16-31 Mar:
    12 weekdays, less the company holiday on Fri 20 and vacation on 25-26: 9 (30 Mar is a half day sick,
    still a working day). Present 16 Mar 09:00-17:30 (8:30, 1:00 over) and 17 Mar 09:10-17:00 (late 10,
    7:50, 0:20 over); absent the other 7. Expected 8 x 7:30 + 3:45 = 63:45; worked 16:20; overtime 1:20."""
    from attendance.reports.selectors import attendance_period_summary, attendance_timesheet_rows
    from people.models import Holiday, Leave, ScheduleAssignment, ScheduleDay, WorkSchedule
    from tests.factories import AttendanceEventFactory, PersonFactory

    settings.TIME_ZONE = "Europe/Berlin"
    settings.WORKDAY_START = "04:00"
    schedule = WorkSchedule.objects.create(name="Office", break_minutes=30, late_grace_minutes=5)
    for weekday in range(5):
        ScheduleDay.objects.create(schedule=schedule, weekday=weekday, start=dt.time(9), end=dt.time(17))
    joiner = PersonFactory(employment_start=dt.date(2026, 3, 16))
    ScheduleAssignment.objects.create(person=joiner, schedule=schedule, start_date=dt.date(2026, 3, 16))
    Holiday.objects.create(date=dt.date(2026, 3, 20), name="Founders' Day")
    Leave.objects.create(person=joiner, start_date=dt.date(2026, 3, 25), end_date=dt.date(2026, 3, 26))
    Leave.objects.create(
        person=joiner,
        kind="sick",
        start_date=dt.date(2026, 3, 30),
        end_date=dt.date(2026, 3, 30),
        half_day=True,
    )
    for day, entry, exit_ in [(16, "09:00", "17:30"), (17, "09:10", "17:00")]:
        date = dt.date(2026, 3, day)
        AttendanceEventFactory(person=joiner, kind="in", timestamp=at(date, entry), workday=date)
        AttendanceEventFactory(person=joiner, kind="out", timestamp=at(date, exit_), workday=date)
    now = at(dt.date(2026, 4, 10), "12:00")
    start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 31)

    rows = attendance_timesheet_rows(start=start, end=end, person=joiner, now=now)
    status = {row.day.workday.day: row.day.status for row in rows}
    assert {status[d] for d in range(1, 16)} == {NOT_EMPLOYED}
    assert (status[16], status[17], status[18], status[20], status[21], status[25], status[30]) == (
        PRESENT,
        PRESENT,
        ABSENT,
        HOLIDAY,
        DAY_OFF,
        ON_LEAVE,
        ABSENT,
    )
    assert rows[16].day.late_minutes == 10

    [mine], _ = attendance_period_summary(start=start, end=end, now=now)
    totals = mine.totals
    assert (totals.working_days, totals.days_present, totals.absent_days, totals.late_count) == (9, 2, 7, 1)
    assert (hours_minutes(totals.expected), hours_minutes(totals.worked), hours_minutes(totals.overtime)) == (
        "63:45",
        "16:20",
        "1:20",
    )
    assert totals.leave_days == Decimal("2.5")
    assert totals.attendance_rate == Decimal("0.2222")


@pytest.mark.django_db
def test_today_shows_a_night_worker_their_own_workday(settings):
    """At 10:00 on Tue 3 Mar 2026 the site's workday is Tuesday, but a 22:00-06:00 worker's (boundary
    14:00) is still Monday's: in at 22:00, out at 06:00, so "out" with Monday's 8 h, not "not yet in"."""
    from attendance.reports.selectors import attendance_today
    from people.models import ScheduleAssignment, ScheduleDay, WorkSchedule
    from tests.factories import AttendanceEventFactory, PersonFactory

    settings.TIME_ZONE = "Europe/Berlin"
    settings.WORKDAY_START = "04:00"
    nights = WorkSchedule.objects.create(name="Nights")
    for weekday in range(5):
        ScheduleDay.objects.create(schedule=nights, weekday=weekday, start=dt.time(22), end=dt.time(6))
    worker, day_person = PersonFactory(employee_id="N1"), PersonFactory(employee_id="D1")
    ScheduleAssignment.objects.create(person=worker, schedule=nights, start_date=dt.date(2026, 1, 1))
    AttendanceEventFactory(person=worker, kind="in", timestamp=at(MONDAY, "22:00"), workday=MONDAY)
    AttendanceEventFactory(
        person=worker, kind="out", timestamp=at(dt.date(2026, 3, 3), "06:00"), workday=MONDAY
    )
    report = attendance_today(now=at(dt.date(2026, 3, 3), "10:00"))
    rows = {row.person.employee_id: row for row in report.rows}
    assert report.workday == dt.date(2026, 3, 3)
    assert (rows["N1"].state, rows["N1"].day.workday, hours_minutes(rows["N1"].day.worked)) == (
        "out",
        MONDAY,
        "8:00",
    )
    assert (rows["D1"].state, rows["D1"].day.workday) == ("not_in", dt.date(2026, 3, 3))
    assert day_person.employee_id == "D1"


@pytest.mark.django_db
def test_today_shows_a_person_on_a_break_as_on_break(berlin):
    """Ada came in at 09:00 on Mon 3 March 2025 and started a break at 10:00; at 10:15 the Today page
    counts her "on break", not "present now"; Ben, in since 09:05 without a break, is present now.
    After her break ends at 10:30 she is present again."""
    from attendance.reports.selectors import attendance_today
    from tests.factories import AttendanceEventFactory, PersonFactory
    from tests.support.reports import local, workday_events

    ada, ben = PersonFactory(full_name="Ada Archer"), PersonFactory(full_name="Ben Baker")
    workday_events(ada, MONDAY, ("09:00", None))
    workday_events(ben, MONDAY, ("09:05", None))
    AttendanceEventFactory(person=ada, kind="break_start", timestamp=local(MONDAY, "10:00"))
    report = attendance_today(now=local(MONDAY, "10:15"))
    assert {row.person.full_name: row.state_label for row in report.rows} == {
        "Ada Archer": "On break",
        "Ben Baker": "Present now",
    }
    assert (report.counts["in"], report.counts["break"]) == (1, 1)
    AttendanceEventFactory(person=ada, kind="break_end", timestamp=local(MONDAY, "10:30"))
    report = attendance_today(now=local(MONDAY, "10:45"))
    assert (report.counts["in"], report.counts["break"]) == (2, 0)
