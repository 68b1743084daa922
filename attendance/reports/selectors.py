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

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from attendance.clock import Clock, WeekSchedule, default_schedule, week_schedule_of, workday_of
from attendance.models import AttendanceEvent, ReportAccess
from attendance.reports.rules import (
    STATE_BREAK,
    STATE_IN,
    STATE_LABELS,
    STATE_NOT_IN,
    STATE_OUT,
    DayPlan,
    DaySummary,
    PeriodTotals,
    arrivals_histogram,
    hours_of,
    period_totals,
    summarise_day,
    today_state,
)
from people.models import Department, Holiday, Leave, Person, ScheduleAssignment, WorkSchedule

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
    # Events of this workday recorded by a PIN at a kiosk instead of a recognised face.
    pin_punches: int = 0


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


def pin_punches_by_person_day(
    *, people: QuerySet[Person], start: dt.date, end: dt.date
) -> dict[tuple[int, dt.date], int]:
    """Return {(person id, workday): events recorded by PIN} over a range, in one query.

    A PIN punch has no face behind it (its kiosk frame is kept as evidence), so reports mark it for
    managers to review.
    """
    rows = (
        AttendanceEvent.objects.filter(
            workday__range=(start, end), person__in=people.values("pk"), source=AttendanceEvent.Source.PIN
        )
        .values("person_id", "workday")
        .annotate(punches=Count("id"))
        .values_list("person_id", "workday", "punches")
    )
    return {(person_id, workday): punches for person_id, workday, punches in rows}


@dataclass
class PersonCalendar:
    """One person's schedules (by start date), leave days and employment dates over a report's range."""

    person: Person
    default: WeekSchedule
    schedules: list[tuple[dt.date, WeekSchedule]] = field(default_factory=list)
    leave: dict[dt.date, tuple[str, bool]] = field(default_factory=dict)
    # The holidays ({date: name}) of the person's own calendar (shared with everyone following it).
    holidays: dict[dt.date, str] = field(default_factory=dict)

    def schedule_on(self, day: dt.date) -> WeekSchedule:
        current = self.default
        for start, schedule in self.schedules:
            if start > day:
                break
            current = schedule
        return current

    def plan(self, day: dt.date) -> DayPlan:
        schedule = self.schedule_on(day)
        start, end = self.person.employment_start, self.person.employment_end
        leave, half = self.leave.get(day, ("", False))
        return DayPlan(
            boundary=schedule.boundary,
            shift=schedule.shift_on(day),
            break_minutes=schedule.break_minutes,
            grace_minutes=schedule.grace_minutes,
            holiday=self.holidays.get(day, ""),
            leave=leave,
            half_day_leave=half,
            employed=(start is None or day >= start) and (end is None or day <= end),
        )


def calendars_for(people: list[Person], *, start: dt.date, end: dt.date) -> dict[int, PersonCalendar]:
    """Return each person's calendar over a range, with the holidays of their own holiday calendar
    (the default one when they have none); five queries whatever the headcount."""
    calendars = {p.pk: PersonCalendar(person=p, default=default_schedule(p)) for p in people}
    ids = list(calendars)
    assignments = list(
        ScheduleAssignment.objects.filter(person_id__in=ids, start_date__lte=end)
        .order_by("person_id", "start_date")
        .values_list("person_id", "schedule_id", "start_date")
    )
    # Each schedule once, however many people work to it (a few schedules, thousands of people).
    schedules = {
        schedule.pk: week_schedule_of(schedule)
        for schedule in WorkSchedule.objects.filter(pk__in={s for _, s, _ in assignments}).prefetch_related(
            "days"
        )
    }
    for person_id, schedule_id, start_date in assignments:
        calendars[person_id].schedules.append((start_date, schedules[schedule_id]))
    leaves = Leave.objects.filter(person_id__in=ids, start_date__lte=end, end_date__gte=start)
    for leave in leaves:
        day = max(leave.start_date, start)
        while day <= min(leave.end_date, end):
            calendars[leave.person_id].leave[day] = (leave.get_kind_display(), leave.half_day)
            day += dt.timedelta(days=1)
    # One query for every calendar's holidays; people without a calendar follow the default one.
    holidays: dict[int | None, dict[dt.date, str]] = defaultdict(dict)
    rows = Holiday.objects.filter(date__range=(start, end)).values_list(
        "calendar_id", "calendar__is_default", "date", "name"
    )
    for calendar_id, is_default, date, name in rows:
        holidays[calendar_id][date] = name
        if is_default:
            holidays[None][date] = name
    for calendar in calendars.values():
        calendar.holidays = holidays[calendar.person.holiday_calendar_id]
    return calendars


def _summarise(workday: dt.date, events, plan: DayPlan, clock: Clock, now: dt.datetime) -> DaySummary:
    today = workday_of(now, boundary=plan.boundary, tz=clock.tz)
    return summarise_day(
        events,
        workday=workday,
        shift_start=plan.shift.start if plan.shift else dt.time(0, 0),
        grace_minutes=plan.grace_minutes,
        boundary=plan.boundary,
        tz=clock.tz,
        is_current=workday == today,
        plan=plan,
        is_future=workday > today,
    )


def _person_day(person: Person, day: DaySummary, plan: DayPlan, pin_punches: int = 0) -> PersonDay:
    return PersonDay(
        person=person,
        day=day,
        shift_start=plan.shift.start if plan.shift else person.shift_start,
        pin_punches=pin_punches,
    )


def attendance_day_rows(
    *,
    day: dt.date,
    scope: ReportScope | None = None,
    department: Department | None = None,
    search: str = "",
    now: dt.datetime | None = None,
    current: bool = False,
) -> list[PersonDay]:
    """Return a row per person for one workday, in name order; eight queries whatever the headcount.

    With `current`, each person's row is their own current workday, which for a night worker
    (boundary 14:00) is still yesterday's in the morning; `day` is then the site's current workday.
    """
    clock = Clock.from_settings()
    now = now or timezone.now()
    first = day - dt.timedelta(days=1) if current else day
    people = report_people(
        scope=scope or ReportScope(), start=first, end=day, department=department, search=search
    )
    listed = list(people)
    calendars = calendars_for(listed, start=first, end=day)
    events = events_by_person_day(people=people, start=first, end=day)
    pins = pin_punches_by_person_day(people=people, start=first, end=day)
    rows = []
    for p in listed:
        calendar = calendars[p.pk]
        mine = day
        if current:
            mine = min(workday_of(now, boundary=calendar.schedule_on(day).boundary, tz=clock.tz), day)
        plan = calendar.plan(mine)
        summary = _summarise(mine, events[p.pk][mine], plan, clock, now)
        rows.append(_person_day(p, summary, plan, pins.get((p.pk, mine), 0)))
    return rows


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
    now = now or timezone.now()
    people = report_people(
        scope=scope or ReportScope(),
        start=start,
        end=end,
        department=department,
        search=search,
        person=person,
    )
    listed = list(people)
    calendars = calendars_for(listed, start=start, end=end)
    events = events_by_person_day(people=people, start=start, end=end)
    pins = pin_punches_by_person_day(people=people, start=start, end=end)
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    rows = []
    for p in listed:
        mine = events.get(p.pk, {})
        calendar = calendars[p.pk]
        for day in days:
            plan = calendar.plan(day)
            summary = _summarise(day, mine.get(day, ()), plan, clock, now)
            rows.append(_person_day(p, summary, plan, pins.get((p.pk, day), 0)))
    return rows


def _working_days(days: Iterable[DaySummary]) -> set[dt.date]:
    """Return the scheduled working days among a person's day summaries (those with hours expected)."""
    return {day.workday for day in days if day.expected > dt.timedelta(0)}


def attendance_period_summary(
    *,
    start: dt.date,
    end: dt.date,
    scope: ReportScope | None = None,
    department: Department | None = None,
    search: str = "",
    now: dt.datetime | None = None,
) -> tuple[list[PersonTotals], list[DepartmentTotals]]:
    """Return each person's totals over the range and the totals per department (by name).

    Working days are each person's scheduled days: employed, a shift, no holiday, no full day of leave.
    """
    rows = attendance_timesheet_rows(
        start=start, end=end, scope=scope, department=department, search=search, now=now
    )
    by_person: dict[int, list[DaySummary]] = defaultdict(list)
    people: dict[int, Person] = {}
    for row in rows:
        people[row.person.pk] = row.person
        by_person[row.person.pk].append(row.day)
    person_totals = [
        PersonTotals(person=p, totals=period_totals(by_person[pk], working_days=_working_days(by_person[pk])))
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
    """Return who is in, on break, out or not yet in on the current workday, counts per department and
    arrivals."""
    clock = Clock.from_settings()
    now = now or timezone.now()
    today = clock.workday(now)
    rows = attendance_day_rows(
        day=today, scope=scope, department=department, search=search, now=now, current=True
    )
    today_rows = []
    counts = {STATE_IN: 0, STATE_BREAK: 0, STATE_OUT: 0, STATE_NOT_IN: 0, "late": 0, "people": 0}
    per_department: dict[str, dict] = {}
    arrivals: dict[int, int] = defaultdict(int)
    for row in rows:
        day = row.day
        last = max([*day.entries, *day.exits], default=None)
        state = today_state(day.entries, day.exits, on_break=day.on_break)
        today_rows.append(TodayRow(person=row.person, day=day, state=state, last_event=last))
        name = row.person.department.name if row.person.department else ""
        dept = per_department.setdefault(
            name, {"department": name, "people": 0, "late": 0} | dict.fromkeys(STATE_LABELS, 0)
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
    by_person: dict[int, list[DaySummary]] = defaultdict(list)
    for row in rows:
        by_person[row.person.pk].append(row.day)
    totals = PeriodTotals()
    for days in by_person.values():
        totals.add(period_totals(days, working_days=_working_days(days)))
    return totals


def hours_per_day(rows: Iterable[PersonDay]) -> list[dict]:
    """Return [{"workday": date, "hours": Decimal}, ...] summed over people, in date order."""
    worked: dict[dt.date, dt.timedelta] = defaultdict(dt.timedelta)
    for row in rows:
        worked[row.day.workday] += row.day.worked
    return [{"workday": day, "hours": hours_of(worked[day])} for day in sorted(worked)]
