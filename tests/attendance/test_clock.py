"""The site's clock: time zone and workday boundary from the settings, the workday of a moment."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from attendance.clock import (
    Clock,
    Shift,
    WeekSchedule,
    boundary_between,
    current_workday,
    person_clock,
    workday_of,
)
from people.models import ScheduleAssignment

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_moment_before_the_boundary_belongs_to_the_previous_workday():
    """With a 04:00 boundary, 03:59 local is still yesterday's workday and 04:00 is today's."""
    boundary = dt.time(4, 0)
    assert workday_of(dt.datetime(2025, 3, 4, 3, 59, tzinfo=BERLIN), boundary=boundary, tz=BERLIN) == dt.date(
        2025, 3, 3
    )
    assert workday_of(dt.datetime(2025, 3, 4, 4, 0, tzinfo=BERLIN), boundary=boundary, tz=BERLIN) == dt.date(
        2025, 3, 4
    )


def test_a_naive_moment_is_refused():
    """A datetime without a zone cannot be placed in a workday: a ValueError says so."""
    with pytest.raises(ValueError, match="aware"):
        workday_of(dt.datetime(2025, 3, 4, 9, 0), boundary=dt.time(4, 0), tz=BERLIN)


def test_the_clock_reads_the_site_settings(settings):
    """Clock.from_settings takes TIME_ZONE and WORKDAY_START; times show as local HH:MM."""
    settings.TIME_ZONE = "Europe/Berlin"
    settings.WORKDAY_START = "05:30"
    clock = Clock.from_settings()
    assert (clock.tz, clock.boundary) == (BERLIN, dt.time(5, 30))
    utc_moment = dt.datetime(2025, 3, 4, 4, 15, tzinfo=dt.UTC)  # 05:15 in Berlin: before 05:30
    assert clock.workday(utc_moment) == dt.date(2025, 3, 3)
    assert clock.local_time(utc_moment) == "05:15"
    assert current_workday(utc_moment) == dt.date(2025, 3, 3)


# ---------------------------------------------------------------------------------------------
# Each person's boundary follows their work schedule.
# ---------------------------------------------------------------------------------------------


def night_schedule(**extra):
    """A 22:00-06:00 schedule, Monday to Saturday, in the database."""
    from people.models import ScheduleDay, WorkSchedule

    schedule = WorkSchedule.objects.create(name="Nights", **extra)
    for weekday in range(6):
        ScheduleDay.objects.create(schedule=schedule, weekday=weekday, start=dt.time(22), end=dt.time(6))
    return schedule


def test_the_boundary_is_halfway_through_the_off_shift_gap():
    """17:00 to 09:00 is 16 h off: halfway 01:00; 06:00 to 22:00: 14:00; 23:00 to 07:00: 03:00."""
    assert boundary_between(dt.time(17, 0), dt.time(9, 0)) == dt.time(1, 0)
    assert boundary_between(dt.time(6, 0), dt.time(22, 0)) == dt.time(14, 0)
    assert boundary_between(dt.time(23, 0), dt.time(7, 0)) == dt.time(3, 0)
    nights = WeekSchedule(shifts=(Shift(dt.time(22), dt.time(6)),) * 5 + (None, None))
    assert nights.boundary == dt.time(14, 0)
    assert WeekSchedule(shifts=nights.shifts, explicit_boundary=dt.time(12, 0)).boundary == dt.time(12, 0)


def test_a_night_shift_is_an_hour_shorter_when_clocks_go_forward_and_longer_when_they_go_back():
    """Berlin, 22:00-06:00 with a 30 min break: 7 h 30 min on Fri 27 Mar 2026; 6 h 30 min on the night
    of Sat 28 Mar (02:00 becomes 03:00); 8 h 30 min on the night of Sat 24 Oct (03:00 becomes 02:00)."""
    schedule = WeekSchedule(shifts=(Shift(dt.time(22), dt.time(6)),) * 7, break_minutes=30)
    assert schedule.expected(dt.date(2026, 3, 27), tz=BERLIN) == dt.timedelta(hours=7, minutes=30)
    assert schedule.expected(dt.date(2026, 3, 28), tz=BERLIN) == dt.timedelta(hours=6, minutes=30)
    assert schedule.expected(dt.date(2026, 10, 24), tz=BERLIN) == dt.timedelta(hours=8, minutes=30)
    day_off = WeekSchedule(shifts=(None,) * 7)
    assert day_off.expected(dt.date(2026, 3, 28), tz=BERLIN) == dt.timedelta(0)


@pytest.mark.django_db
def test_a_night_workers_morning_exit_belongs_to_the_shift_that_started_the_evening_before(settings):
    """Nights 22:00-06:00 (boundary 14:00): Mon 22:00 and Tue 06:00 are both workday Monday; with the
    site's 04:00 the 06:00 exit would be Tuesday's. Across the DST night (Sat 28 Mar 2026) the 06:00
    exit on Sunday is Saturday's. Someone with no schedule keeps 04:00."""
    from tests.factories import PersonFactory

    settings.TIME_ZONE = "Europe/Berlin"
    settings.WORKDAY_START = "04:00"
    worker = PersonFactory()
    ScheduleAssignment.objects.create(
        person=worker, schedule=night_schedule(), start_date=dt.date(2026, 1, 1)
    )
    entry = dt.datetime(2026, 3, 2, 22, 0, tzinfo=BERLIN)
    exit_ = dt.datetime(2026, 3, 3, 6, 0, tzinfo=BERLIN)
    clock = person_clock(worker, exit_)
    assert clock.boundary == dt.time(14, 0)
    assert (clock.workday(entry), clock.workday(exit_)) == (dt.date(2026, 3, 2), dt.date(2026, 3, 2))
    assert Clock.from_settings().workday(exit_) == dt.date(2026, 3, 3)
    dst_exit = dt.datetime(2026, 3, 29, 6, 0, tzinfo=BERLIN)
    assert person_clock(worker, dst_exit).workday(dst_exit) == dt.date(2026, 3, 28)
    day_worker = PersonFactory()
    assert person_clock(day_worker, exit_).boundary == dt.time(4, 0)
    assert person_clock(worker, dt.datetime(2025, 12, 31, 12, tzinfo=BERLIN)).boundary == dt.time(4, 0)


@pytest.mark.django_db
def test_an_exit_hr_adds_for_a_night_worker_lands_on_the_evening_shift(settings):
    """HR adds a night worker's missed 06:00 exit: it is stored on the workday the shift started."""
    from attendance.services import attendance_event_add
    from tests.factories import PersonFactory, UserFactory

    settings.TIME_ZONE = "Europe/Berlin"
    worker = PersonFactory()
    ScheduleAssignment.objects.create(
        person=worker, schedule=night_schedule(), start_date=dt.date(2026, 1, 1)
    )
    event = attendance_event_add(
        person=worker,
        kind="out",
        timestamp=dt.datetime(2026, 3, 3, 6, 0, tzinfo=BERLIN),
        reason="forgot to check out",
        by=UserFactory(),
    )
    assert event.workday == dt.date(2026, 3, 2)


@pytest.mark.django_db
def test_a_night_workers_kiosk_exit_lands_on_the_evening_shift(settings):
    """At the kiosk, Mon 22:00 in and Tue 06:00 out make one Monday shift (the site's 04:00 would file
    the exit as Tuesday's entry-less exit)."""
    from attendance.checkin import services
    from attendance.models import AttendanceEvent, CheckinAttempt
    from tests.factories import CheckinAttemptFactory, KioskFactory, PersonFactory
    from tests.fakes import fake_seen

    settings.TIME_ZONE = "Europe/Berlin"
    settings.WORKDAY_START = "04:00"
    worker, kiosk = PersonFactory(), KioskFactory()
    ScheduleAssignment.objects.create(
        person=worker, schedule=night_schedule(), start_date=dt.date(2026, 1, 1)
    )
    for moment in (
        dt.datetime(2026, 3, 2, 22, 0, tzinfo=BERLIN),
        dt.datetime(2026, 3, 3, 6, 0, tzinfo=BERLIN),
    ):
        for second in (0, 1):  # two agreeing frames
            attempt = CheckinAttemptFactory(kiosk=kiosk)
            CheckinAttempt.objects.filter(pk=attempt.pk).update(
                created_at=moment + dt.timedelta(seconds=second)
            )
            services.checkin_attempt_resolve(attempt_id=attempt.id, recognition=fake_seen(worker), now=moment)
    events = list(AttendanceEvent.objects.order_by("timestamp").values_list("kind", "workday"))
    assert events == [("in", dt.date(2026, 3, 2)), ("out", dt.date(2026, 3, 2))]
