"""What the attendance reports read: who a user may see, and the day, Today, timesheet and department figures.

The queries fetch a bounded number of result sets (people, then their events) and hand them to the
rules (attendance/reports/rules.py), so a report costs the same number of queries for 20 people as
for 2,000.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from attendance.clock import Clock
from attendance.models import AttendanceEvent, ReportAccess
from attendance.reports.rules import (
    STATE_IN,
    STATE_LABELS,
    STATE_NOT_IN,
    STATE_OUT,
    DaySummary,
    PeriodTotals,
    arrivals_histogram,
    hours_of,
    period_totals,
    summarise_day,
    today_state,
    working_days_between,
)
from people.models import Department, Person

# ---------------------------------------------------------------------------------------------
# Who may see whom.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportScope:
    """The departments a user's reports cover; `department_ids` None means every department."""

    department_ids: frozenset[int] | None = None

    @property
    def limited(self) -> bool:
        return self.department_ids is not None

    def people(self) -> QuerySet[Person]:
        people = Person.objects.all()
        return people if self.department_ids is None else people.filter(department_id__in=self.department_ids)

    def departments(self) -> QuerySet[Department]:
        departments = Department.objects.all()
        if self.department_ids is None:
            return departments
        return departments.filter(id__in=self.department_ids)


def report_scope_for(*, user) -> ReportScope:
    """Return the departments a user may report on: a ReportAccess row limits it to its departments.

    Superusers and managers without a ReportAccess row see every department. A row naming no
    department (saved empty, or its departments deleted since) covers none: a limit never fails
    open into "everybody". People with no department are only visible to unlimited users.
    """
    if user.is_superuser:
        return ReportScope()
    access = ReportAccess.objects.filter(user=user).first()
    if access is None:
        return ReportScope()
    return ReportScope(department_ids=frozenset(access.departments.values_list("pk", flat=True)))


# ---------------------------------------------------------------------------------------------
# Queries.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonDay:
    """A person and one workday's summary: a row of the day report and the timesheet."""

    person: Person
    day: DaySummary
    shift_start: dt.time


@dataclass(frozen=True)
class TodayRow:
    person: Person
    day: DaySummary
    state: str
    last_event: dt.datetime | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class TodayReport:
    workday: dt.date
    generated_at: dt.datetime
    rows: list[TodayRow]
    counts: dict[str, int]
    departments: list[dict]
    arrivals_by_hour: list[dict]


@dataclass
class PersonTotals:
    person: Person
    totals: PeriodTotals


@dataclass
class DepartmentTotals:
    name: str
    totals: PeriodTotals = field(default_factory=PeriodTotals)


def report_people(
    *,
    scope: ReportScope,
    start: dt.date,
    end: dt.date,
    department: Department | None = None,
    search: str = "",
    person: Person | None = None,
) -> QuerySet[Person]:
    """Return the people a report lists: active ones, and inactive ones with events in the range."""
    has_events = AttendanceEvent.objects.filter(person=OuterRef("pk"), workday__range=(start, end))
    people = scope.people().filter(Q(is_active=True) | Exists(has_events)).select_related("department")
    if department is not None:
        people = people.filter(department=department)
    if person is not None:
        people = people.filter(pk=person.pk)
    search = search.strip()
    if search:
        people = people.filter(Q(full_name__icontains=search) | Q(employee_id__icontains=search))
    return people.order_by("full_name", "employee_id")


def events_by_person_day(
    *, people: QuerySet[Person], start: dt.date, end: dt.date
) -> dict[int, dict[dt.date, list[tuple[str, dt.datetime]]]]:
    """Return {person id: {workday: [(kind, timestamp), ...] in time order}} in one query."""
    rows = (
        AttendanceEvent.objects.filter(workday__range=(start, end), person__in=people.values("pk"))
        .order_by("person_id", "timestamp", "id")
        .values_list("person_id", "workday", "kind", "timestamp")
    )
    grouped: dict[int, dict[dt.date, list[tuple[str, dt.datetime]]]] = defaultdict(lambda: defaultdict(list))
    for person_id, workday, kind, moment in rows.iterator(chunk_size=5000):
        grouped[person_id][workday].append((kind, moment))
    return grouped


def _summarise(person: Person, workday: dt.date, events, clock: Clock, today: dt.date) -> DaySummary:
    return summarise_day(
        events,
        workday=workday,
        shift_start=person.shift_start,
        grace_minutes=settings.REPORT_LATE_GRACE_MINUTES,
        boundary=clock.boundary,
        tz=clock.tz,
        is_current=workday == today,
    )


def attendance_day_rows(
    *,
    day: dt.date,
    scope: ReportScope | None = None,
    department: Department | None = None,
    search: str = "",
    now: dt.datetime | None = None,
) -> list[PersonDay]:
    """Return a row per person for one workday, in name order; two queries whatever the headcount."""
    clock = Clock.from_settings()
    today = clock.workday(now or timezone.now())
    people = report_people(
        scope=scope or ReportScope(), start=day, end=day, department=department, search=search
    )
    events = events_by_person_day(people=people, start=day, end=day)
    return [
        PersonDay(
            person=p, day=_summarise(p, day, events[p.pk][day], clock, today), shift_start=p.shift_start
        )
        for p in people
    ]


def attendance_timesheet_rows(
    *,
    start: dt.date,
    end: dt.date,
    scope: ReportScope | None = None,
    department: Department | None = None,
    search: str = "",
    person: Person | None = None,
    now: dt.datetime | None = None,
) -> list[PersonDay]:
    """Return a row per person per day of the range (days without events included), by name then date."""
    clock = Clock.from_settings()
    today = clock.workday(now or timezone.now())
    people = report_people(
        scope=scope or ReportScope(),
        start=start,
        end=end,
        department=department,
        search=search,
        person=person,
    )
    events = events_by_person_day(people=people, start=start, end=end)
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    rows = []
    for p in people:
        mine = events.get(p.pk, {})
        for day in days:
            summary = _summarise(p, day, mine.get(day, ()), clock, today)
            rows.append(PersonDay(person=p, day=summary, shift_start=p.shift_start))
    return rows


def attendance_period_summary(
    *,
    start: dt.date,
    end: dt.date,
    scope: ReportScope | None = None,
    department: Department | None = None,
    search: str = "",
    now: dt.datetime | None = None,
) -> tuple[list[PersonTotals], list[DepartmentTotals]]:
    """Return each person's totals over the range and the totals per department (by name)."""
    weekdays = settings.REPORT_WORKING_WEEKDAYS
    rows = attendance_timesheet_rows(
        start=start, end=end, scope=scope, department=department, search=search, now=now
    )
    working = set(working_days_between(start, end, weekdays=weekdays))
    by_person: dict[int, list[DaySummary]] = defaultdict(list)
    people: dict[int, Person] = {}
    for row in rows:
        people[row.person.pk] = row.person
        by_person[row.person.pk].append(row.day)
    person_totals = [
        PersonTotals(person=p, totals=period_totals(by_person[pk], working_days=working))
        for pk, p in people.items()
    ]
    departments: dict[str, DepartmentTotals] = {}
    for item in person_totals:
        name = item.person.department.name if item.person.department else ""
        departments.setdefault(name, DepartmentTotals(name=name)).totals.add(item.totals)
    return person_totals, sorted(departments.values(), key=lambda d: (d.name == "", d.name.lower()))


def attendance_today(
    *,
    scope: ReportScope | None = None,
    department: Department | None = None,
    search: str = "",
    now: dt.datetime | None = None,
) -> TodayReport:
    """Return who is in, out or not yet in on the current workday, counts per department and arrivals."""
    clock = Clock.from_settings()
    now = now or timezone.now()
    today = clock.workday(now)
    rows = attendance_day_rows(day=today, scope=scope, department=department, search=search, now=now)
    today_rows = []
    counts = {STATE_IN: 0, STATE_OUT: 0, STATE_NOT_IN: 0, "late": 0, "people": 0}
    per_department: dict[str, dict] = {}
    arrivals: dict[int, int] = defaultdict(int)
    for row in rows:
        day = row.day
        last = max([*day.entries, *day.exits], default=None)
        state = today_state(day.entries, day.exits)
        today_rows.append(TodayRow(person=row.person, day=day, state=state, last_event=last))
        name = row.person.department.name if row.person.department else ""
        dept = per_department.setdefault(
            name, {"department": name, "people": 0, STATE_IN: 0, STATE_OUT: 0, STATE_NOT_IN: 0, "late": 0}
        )
        for bucket in (counts, dept):
            bucket["people"] += 1
            bucket[state] += 1
            bucket["late"] += int(day.late)
        if day.first_entry is not None:
            arrivals[day.first_entry.astimezone(clock.tz).hour] += 1
    return TodayReport(
        workday=today,
        generated_at=now,
        rows=today_rows,
        counts=counts,
        departments=sorted(
            per_department.values(), key=lambda d: (d["department"] == "", d["department"].lower())
        ),
        arrivals_by_hour=arrivals_histogram(arrivals, boundary_hour=clock.boundary.hour),
    )


def timesheet_totals(rows: Iterable[PersonDay], *, start: dt.date, end: dt.date) -> PeriodTotals:
    """Return the totals of timesheet rows, summed over the people they cover."""
    working = set(working_days_between(start, end, weekdays=settings.REPORT_WORKING_WEEKDAYS))
    by_person: dict[int, list[DaySummary]] = defaultdict(list)
    for row in rows:
        by_person[row.person.pk].append(row.day)
    totals = PeriodTotals()
    for days in by_person.values():
        totals.add(period_totals(days, working_days=working))
    return totals


def hours_per_day(rows: Iterable[PersonDay]) -> list[dict]:
    """Return [{"workday": date, "hours": Decimal}, ...] summed over people, in date order."""
    worked: dict[dt.date, dt.timedelta] = defaultdict(dt.timedelta)
    for row in rows:
        worked[row.day.workday] += row.day.worked
    return [{"workday": day, "hours": hours_of(worked[day])} for day in sorted(worked)]
