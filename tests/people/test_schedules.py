"""Work schedules, holidays and leave: the default schedule migration, holiday prefill, leave, admin."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from people.models import Holiday, Leave, ScheduleAssignment, WorkSchedule
from people.services import holidays_prefill
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

default_schedules = importlib.import_module("people.migrations.0009_default_schedules")


def test_the_data_migration_gives_each_person_a_schedule_from_the_settings(settings):
    """Two 09:00-17:00 people share one Mon-Fri schedule; an 08:00-16:00 one gets another; boundary 04:00."""
    settings.REPORT_WORKING_WEEKDAYS = [0, 1, 2, 3, 4]
    settings.REPORT_LATE_GRACE_MINUTES = 7
    settings.WORKDAY_START = "04:00"
    ana, bo = PersonFactory.create_batch(2)
    cy = PersonFactory(shift_start=dt.time(8, 0), shift_end=dt.time(16, 0))
    default_schedules.forwards(apps, None)
    default_schedules.forwards(apps, None)  # a second run adds nothing
    assert sorted(WorkSchedule.objects.values_list("name", flat=True)) == [
        "Mon-Fri 08:00-16:00",
        "Mon-Fri 09:00-17:00",
    ]
    nine = WorkSchedule.objects.get(name="Mon-Fri 09:00-17:00")
    assert [(d.weekday, d.start, d.end) for d in nine.days.all()] == [
        (n, dt.time(9, 0), dt.time(17, 0)) for n in range(5)
    ]
    assert (nine.late_grace_minutes, nine.workday_boundary, nine.break_minutes) == (7, dt.time(4, 0), 0)
    assigned = {a.person_id: a.schedule.name for a in ScheduleAssignment.objects.select_related("schedule")}
    assert assigned == {ana.pk: nine.name, bo.pk: nine.name, cy.pk: "Mon-Fri 08:00-16:00"}
    assert ScheduleAssignment.objects.get(person=ana).start_date == ana.created_at.date()


def test_prefilling_german_holidays_adds_the_nine_national_ones_once():
    """Germany 2026: New Year, Good Friday 3 Apr, Easter Monday 6 Apr, 1 May, Ascension 14 May,
    Whit Monday 25 May, 3 Oct, 25 and 26 Dec: nine; a second run adds none and keeps HR's names."""
    Holiday.objects.create(date=dt.date(2026, 12, 24), name="Christmas Eve (company)")
    assert holidays_prefill(country="de", years=[2026]) == 9
    Holiday.objects.filter(date=dt.date(2026, 5, 1)).update(name="Labour Day (ours)")
    assert holidays_prefill(country="DE", years=[2026]) == 0
    dates = set(Holiday.objects.values_list("date", flat=True))
    for day in [(1, 1), (4, 3), (4, 6), (5, 1), (5, 14), (5, 25), (10, 3), (12, 25), (12, 26), (12, 24)]:
        assert dt.date(2026, *day) in dates
    assert len(dates) == 10
    assert Holiday.objects.get(date=dt.date(2026, 5, 1)).name == "Labour Day (ours)"


def test_the_prefill_command_names_an_unknown_country():
    """An unknown country code stops the command with a message saying what to type instead."""
    with pytest.raises(CommandError, match="ISO code"):
        call_command("holidays_prefill", "XX", "2026")
    assert not Holiday.objects.exists()


def test_a_half_day_leave_is_one_day():
    """A half day spanning two days is refused by the form check and by the database."""
    person = PersonFactory()
    leave = Leave(person=person, start_date=dt.date(2026, 3, 2), end_date=dt.date(2026, 3, 3), half_day=True)
    with pytest.raises(ValidationError, match="A half day is one day"):
        leave.clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        leave.save()
    backwards = Leave(person=person, start_date=dt.date(2026, 3, 3), end_date=dt.date(2026, 3, 2))
    with pytest.raises(ValidationError, match="ends before it starts"):
        backwards.clean()


def test_hr_enters_leave_in_the_admin_and_is_recorded_as_entering_it(client):
    """HR adds a vacation in the admin; the row names HR as the one who entered it."""
    hr = UserFactory(is_staff=True, groups=["HR"])
    client.force_login(hr)
    person = PersonFactory()
    for model in ("workschedule", "scheduleassignment", "holiday", "leave"):
        assert client.get(reverse(f"admin:people_{model}_changelist")).status_code == 200
    response = client.post(
        reverse("admin:people_leave_add"),
        {"person": person.pk, "kind": "vacation", "start_date": "2026-03-02", "end_date": "2026-03-06"},
    )
    assert response.status_code == 302, response.content[:2000]
    leave = Leave.objects.get()
    assert (leave.entered_by, leave.start_date, leave.end_date, leave.half_day) == (
        hr,
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 6),
        False,
    )


@pytest.mark.django_db
def test_hr_cannot_add_or_delete_leave_inside_a_locked_pay_period(client):
    """With March 2025 locked, HR's new leave on 3 March is refused with a message and an existing
    leave in March cannot be deleted; leave in April is added."""
    import datetime as dt

    from attendance.models import PayPeriod
    from people.models import Leave
    from tests.factories import PersonFactory, UserFactory

    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    ada = PersonFactory()
    PayPeriod.objects.create(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31), status="locked")
    form = {"person": ada.pk, "kind": "vacation", "start_date": "2025-03-03", "end_date": "2025-03-03"}
    refused = client.post("/admin/people/leave/add/", form)
    assert refused.status_code == 200 and "approved and locked" in refused.content.decode()
    assert not Leave.objects.exists()
    added = client.post(
        "/admin/people/leave/add/", form | {"start_date": "2025-04-01", "end_date": "2025-04-01"}
    )
    assert added.status_code == 302 and Leave.objects.count() == 1
    march = Leave.objects.create(person=ada, start_date=dt.date(2025, 3, 5), end_date=dt.date(2025, 3, 5))
    assert client.post(f"/admin/people/leave/{march.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Leave.objects.filter(pk=march.pk).exists()
