"""Holiday calendars: one per site or country, each person following one (others the default one)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from attendance.reports.rules import ABSENT, HOLIDAY, PRESENT, hours_minutes
from people.models import (
    Holiday,
    HolidayCalendar,
    ScheduleAssignment,
    ScheduleDay,
    WorkSchedule,
    default_holiday_calendar_id,
)
from people.services import holidays_prefill
from tests.factories import AttendanceEventFactory, PersonFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: dt.date, clock: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=BERLIN)


def office_people(count: int, **kwargs):
    """People on a Mon-Fri 09:00-17:00 schedule with a 30 min break (7:30 expected a day)."""
    schedule, created = WorkSchedule.objects.get_or_create(name="Office", defaults={"break_minutes": 30})
    if created:
        for weekday in range(5):
            ScheduleDay.objects.create(schedule=schedule, weekday=weekday, start=dt.time(9), end=dt.time(17))
    people = PersonFactory.create_batch(count, **kwargs)
    for person in people:
        ScheduleAssignment.objects.create(person=person, schedule=schedule, start_date=dt.date(2026, 1, 1))
    return people


def test_people_on_different_calendars_read_their_own_holidays(settings):
    """Thu 19 Mar 2026 is a holiday of the default calendar, Fri 20 Mar one of the Vienna office's.
    Ana (default) and Bo (Vienna) have no events; Cy (default) works 09:00-17:00 both days.
    19 Mar: Ana holiday (0:00 expected), Bo absent (7:30), Cy present on his holiday (0:00 expected,
    all 8:00 overtime). 20 Mar: Ana absent (7:30), Bo holiday (0:00), Cy present (7:30, 0:30 over).
    Both days: Cy worked 16:00, 8:30 of it overtime."""
    from attendance.reports.selectors import attendance_day_rows, attendance_period_summary

    settings.TIME_ZONE = "Europe/Berlin"
    settings.WORKDAY_START = "04:00"
    vienna = HolidayCalendar.objects.create(name="Vienna office", country="AT")
    Holiday.objects.create(date=dt.date(2026, 3, 19), name="Founders' Day")  # the default calendar
    Holiday.objects.create(calendar=vienna, date=dt.date(2026, 3, 20), name="Vienna day")
    [ana] = office_people(1, full_name="Ana Default")
    [bo] = office_people(1, full_name="Bo Vienna", holiday_calendar=vienna)
    [cy] = office_people(1, full_name="Cy Default")
    for day in (19, 20):
        date = dt.date(2026, 3, day)
        AttendanceEventFactory(person=cy, kind="in", timestamp=at(date, "09:00"), workday=date)
        AttendanceEventFactory(person=cy, kind="out", timestamp=at(date, "17:00"), workday=date)
    now = at(dt.date(2026, 3, 23), "12:00")

    for day, expected in [
        (
            19,
            {
                "Ana Default": (HOLIDAY, "0:00"),
                "Bo Vienna": (ABSENT, "7:30"),
                "Cy Default": (PRESENT, "0:00"),
            },
        ),
        (
            20,
            {
                "Ana Default": (ABSENT, "7:30"),
                "Bo Vienna": (HOLIDAY, "0:00"),
                "Cy Default": (PRESENT, "7:30"),
            },
        ),
    ]:
        rows = attendance_day_rows(day=dt.date(2026, 3, day), now=now)
        got = {row.person.full_name: (row.day.status, hours_minutes(row.day.expected)) for row in rows}
        assert got == expected, day
    holiday_names = {
        row.person.full_name: row.day.status_label
        for row in attendance_day_rows(day=dt.date(2026, 3, 20), now=now)
    }
    assert holiday_names["Bo Vienna"] == "Holiday: Vienna day"

    totals, _ = attendance_period_summary(start=dt.date(2026, 3, 19), end=dt.date(2026, 3, 20), now=now)
    by_name = {row.person.full_name: row.totals for row in totals}
    assert {name: (t.working_days, t.absent_days) for name, t in by_name.items()} == {
        "Ana Default": (1, 1),
        "Bo Vienna": (1, 1),
        "Cy Default": (1, 0),  # 20 Mar only: 19 Mar is the default calendar's holiday, all of it overtime
    }
    assert hours_minutes(by_name["Cy Default"].worked) == "16:00"
    assert hours_minutes(by_name["Cy Default"].overtime) == "8:30"


def test_the_calendars_take_the_same_queries_for_3_people_or_30_on_three_calendars():
    """Holidays of every calendar come in one query, however many people and calendars."""
    from attendance.reports.selectors import calendars_for

    day = dt.date(2026, 3, 20)
    counts = []
    for count in (3, 30):
        calendars = [HolidayCalendar.objects.create(name=f"Site {count}-{n}") for n in range(2)]
        for n, calendar in enumerate(calendars):
            Holiday.objects.create(calendar=calendar, date=day, name=f"Site day {n}")
        people = office_people(count // 3) + [
            person
            for calendar in calendars
            for person in office_people(count // 3, holiday_calendar=calendar)
        ]
        with CaptureQueriesContext(connection) as queries:
            found = calendars_for(people, start=day, end=day)
        counts.append(len(queries))
        assert sorted(found[p.pk].holidays.get(day, "") for p in people) == sorted(
            [""] * (count // 3) + ["Site day 0"] * (count // 3) + ["Site day 1"] * (count // 3)
        )
    assert counts[0] == counts[1] <= 5, counts


def test_prefilling_two_calendars_keeps_them_apart_and_keeps_hr_names():
    """2026: Bavaria has the 9 national German holidays plus Epiphany, Corpus Christi and All Saints'
    Day (12); Austria has 13. Both calendars are created with their country; the default stays empty;
    a second run adds nothing and keeps the name HR gave a day."""
    assert holidays_prefill(country="de", subdivision="by", years=[2026], calendar="Munich office") == 12
    assert holidays_prefill(country="AT", years=[2026], calendar="Vienna office") == 13
    munich = HolidayCalendar.objects.get(name="Munich office")
    vienna = HolidayCalendar.objects.get(name="Vienna office")
    assert (munich.country, munich.subdivision, vienna.country, vienna.subdivision) == ("DE", "BY", "AT", "")
    assert not Holiday.objects.filter(calendar__is_default=True).exists()
    Holiday.objects.filter(calendar=vienna, date=dt.date(2026, 12, 8)).update(name="Mariä Empfängnis")
    assert holidays_prefill(country="AT", years=[2026], calendar="Vienna office") == 0
    assert Holiday.objects.get(calendar=vienna, date=dt.date(2026, 12, 8)).name == "Mariä Empfängnis"
    # Epiphany is in both, once each; Good Friday only in Bavaria, National Day only in Austria.
    assert Holiday.objects.filter(date=dt.date(2026, 1, 6)).count() == 2
    assert list(
        Holiday.objects.filter(date=dt.date(2026, 4, 3)).values_list("calendar__name", flat=True)
    ) == ["Munich office"]
    assert list(
        Holiday.objects.filter(date=dt.date(2026, 10, 26)).values_list("calendar__name", flat=True)
    ) == ["Vienna office"]


def test_the_prefill_command_names_its_calendar():
    call_command("holidays_prefill", "AT", "2026", "--calendar", "Vienna office", stdout=None)
    assert HolidayCalendar.objects.get(name="Vienna office").holidays.count() == 13


def test_a_calendar_with_an_unknown_country_or_a_second_default_is_refused():
    with pytest.raises(ValidationError) as error:
        HolidayCalendar(name="Atlantis", country="XX").full_clean()
    assert "Unknown country code 'XX'" in str(error.value)
    with pytest.raises(ValidationError) as error:
        HolidayCalendar(name="Munich", country="DE", subdivision="ZZ").full_clean()
    assert "DE has no subdivision 'ZZ'" in str(error.value)
    HolidayCalendar.objects.get_or_create(is_default=True, defaults={"name": "Company holidays"})
    with pytest.raises(ValidationError):
        HolidayCalendar(name="Another default", is_default=True).full_clean()


def test_the_migration_moves_existing_holidays_into_a_default_calendar_everybody_follows():
    """Back to the single list (0013), two holidays and a person; forward: both holidays are in the
    default calendar with their names, the person follows it (no calendar of their own)."""
    executor = MigrationExecutor(connection)
    leaf = [key for key in executor.loader.graph.leaf_nodes() if key[0] == "people"]
    executor.migrate([("people", "0013_zip_import_staged")])
    old = executor.loader.project_state(("people", "0013_zip_import_staged")).apps
    old.get_model("people", "Holiday").objects.create(date=dt.date(2026, 5, 1), name="Labour Day")
    old.get_model("people", "Holiday").objects.create(date=dt.date(2026, 12, 24), name="Christmas Eve (ours)")
    person = old.get_model("people", "Person").objects.create(employee_id="M1", full_name="Mig Rated")

    with connection.cursor() as cursor:  # as between two migrations: no foreign key check left pending
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor = MigrationExecutor(connection)
    executor.migrate(leaf)
    default = HolidayCalendar.objects.get(is_default=True)
    assert sorted(default.holidays.values_list("date", "name")) == [
        (dt.date(2026, 5, 1), "Labour Day"),
        (dt.date(2026, 12, 24), "Christmas Eve (ours)"),
    ]
    assert Holiday.objects.count() == 2
    from people.models import Person

    assert Person.objects.get(pk=person.pk).holiday_calendar is None


def test_hr_adds_a_calendar_with_its_holidays_in_the_admin_but_not_on_a_locked_day(client):
    """HR creates the Vienna office's calendar with two holidays inline and puts a person on it;
    a holiday on a day of locked March 2026 is refused with a message saying why."""
    from django.urls import reverse

    from attendance.models import PayPeriod
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, groups=["HR"]))
    assert client.get(reverse("admin:people_holidaycalendar_changelist")).status_code == 200
    form = {
        "name": "Vienna office",
        "country": "at",
        "subdivision": "",
        "holidays-TOTAL_FORMS": "2",
        "holidays-INITIAL_FORMS": "0",
        "holidays-0-date": "2026-10-26",
        "holidays-0-name": "National Day",
        "holidays-1-date": "2026-12-08",
        "holidays-1-name": "Immaculate Conception",
    }
    response = client.post(reverse("admin:people_holidaycalendar_add"), form)
    assert response.status_code == 302, response.content[:3000]
    vienna = HolidayCalendar.objects.get(name="Vienna office")
    assert vienna.country == "AT"
    assert sorted(vienna.holidays.values_list("date", flat=True)) == [
        dt.date(2026, 10, 26),
        dt.date(2026, 12, 8),
    ]

    PayPeriod.objects.create(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), status="locked")
    response = client.post(
        reverse("admin:people_holiday_add"),
        {"calendar": vienna.pk, "date": "2026-03-19", "name": "Late idea"},
    )
    assert response.status_code == 200
    assert "approved and locked" in response.content.decode()
    assert not Holiday.objects.filter(date=dt.date(2026, 3, 19)).exists()


def test_hr_deletes_a_site_calendar_but_not_the_default_one(client):
    """Deleting the Vienna calendar sends its people back to the default one; the default stays."""
    from django.urls import reverse

    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, groups=["HR"]))
    default = HolidayCalendar.objects.get(pk=default_holiday_calendar_id())
    vienna = HolidayCalendar.objects.create(name="Vienna office", country="AT")
    person = PersonFactory(holiday_calendar=vienna)
    assert client.get(reverse("admin:people_holidaycalendar_delete", args=[default.pk])).status_code == 403
    response = client.post(reverse("admin:people_holidaycalendar_delete", args=[vienna.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not HolidayCalendar.objects.filter(pk=vienna.pk).exists()
    person.refresh_from_db()
    assert person.holiday_calendar is None
