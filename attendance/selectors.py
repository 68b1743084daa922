"""What the attendance reports read: the day, timesheet and department figures.

The rules (pairing entries with exits, hours worked, lateness, status) are plain functions over
plain data at the top of this module; the queries below them fetch a bounded number of result
sets (people, then their events) and hand them to the rules, so a report costs the same number
of queries for 20 people as for 2,000.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from attendance.models import AttendanceEvent, ReportAccess
from attendance.rules import workday_of
from people.models import Department, Person

IN = AttendanceEvent.Kind.IN.value
OUT = AttendanceEvent.Kind.OUT.value

# Day statuses. "On leave" is not offered: there is no leave or absence record to read it from.
PRESENT = "present"
IN_NOW = "in"
INCOMPLETE = "incomplete"
ABSENT = "absent"
NOT_IN_YET = "not_in"
STATUS_LABELS = {
    PRESENT: "Present",
    IN_NOW: "In now",
    INCOMPLETE: "Incomplete",
    ABSENT: "Absent",
    NOT_IN_YET: "Not yet in",
}
ATTENDED = {PRESENT, IN_NOW, INCOMPLETE}

# States on the Today page, from the person's last event of the workday.
STATE_IN = "in"
STATE_OUT = "out"
STATE_NOT_IN = "not_in"
STATE_LABELS = {STATE_IN: "Present now", STATE_OUT: "Checked out", STATE_NOT_IN: "Not yet in"}

HOUR = Decimal(3600)
CENT = Decimal("0.01")


# ---------------------------------------------------------------------------------------------
# Rules: plain functions over plain data.
# ---------------------------------------------------------------------------------------------


def hours_of(worked: dt.timedelta) -> Decimal:
    """Return a duration as decimal hours rounded to the hundredth (7 h 30 min -> 7.50)."""
    return (Decimal(worked.total_seconds()) / HOUR).quantize(CENT, rounding=ROUND_HALF_UP)


def shift_start_at(workday: dt.date, shift_start: dt.time, *, boundary: dt.time, tz: ZoneInfo) -> dt.datetime:
    """Return the aware moment a shift starts on a workday.

    A shift that starts before the workday boundary (02:00 with a 04:00 boundary) starts on the
    next calendar day, since the workday runs from boundary to boundary.
    """
    date = workday if shift_start >= boundary else workday + dt.timedelta(days=1)
    return dt.datetime.combine(date, shift_start, tzinfo=tz)


def late_minutes_of(first_entry: dt.datetime, shift_at: dt.datetime, *, grace_minutes: int) -> int:
    """Return the whole minutes an entry came after the shift start, or 0 within the grace.

    Seconds are dropped: 09:05:59 is five minutes after 09:00, so on time with a grace of 5;
    09:06:00 is late by six minutes.
    """
    # In UTC: Python subtracts two datetimes of the same zone by wall clock, wrong across DST.
    minutes = int((first_entry.astimezone(dt.UTC) - shift_at.astimezone(dt.UTC)).total_seconds() // 60)
    return minutes if minutes > grace_minutes else 0


@dataclass(frozen=True)
class DaySummary:
    """What one person's events of one workday add up to."""

    workday: dt.date
    entries: tuple[dt.datetime, ...] = ()
    exits: tuple[dt.datetime, ...] = ()
    worked: dt.timedelta = dt.timedelta(0)
    late_minutes: int = 0
    missing_exit: bool = False
    missing_entry: bool = False
    status: str = ABSENT

    @property
    def first_entry(self) -> dt.datetime | None:
        return self.entries[0] if self.entries else None

    @property
    def last_exit(self) -> dt.datetime | None:
        return self.exits[-1] if self.exits else None

    @property
    def hours(self) -> Decimal:
        return hours_of(self.worked)

    @property
    def late(self) -> bool:
        return self.late_minutes > 0

    @property
    def attended(self) -> bool:
        return self.status in ATTENDED

    @property
    def status_label(self) -> str:
        if self.status == INCOMPLETE:
            return "Incomplete: missing exit" if self.missing_exit else "Incomplete: missing entry"
        return STATUS_LABELS[self.status]


def summarise_day(
    events: Sequence[tuple[str, dt.datetime]],
    *,
    workday: dt.date,
    shift_start: dt.time,
    grace_minutes: int,
    boundary: dt.time,
    tz: ZoneInfo,
    is_current: bool = False,
) -> DaySummary:
    """Return the summary of one person's workday from its events, given in time order.

    Hours worked are the sum of entry-to-exit intervals. An entry that is never closed (another
    entry follows it, or the workday ended) is a missing exit and is not counted; an exit with no
    entry before it is a missing entry and is not counted either. On the current workday a last
    entry that is still open means the person is in now, not that an exit is missing.
    """
    if not events:
        return DaySummary(workday=workday, status=NOT_IN_YET if is_current else ABSENT)
    entries: list[dt.datetime] = []
    exits: list[dt.datetime] = []
    worked = dt.timedelta(0)
    open_at: dt.datetime | None = None
    missing_exit = missing_entry = False
    for kind, local_moment in events:
        # In UTC: Python subtracts two datetimes of the same zone by wall clock, wrong across DST.
        moment = local_moment.astimezone(dt.UTC)
        if kind == IN:
            entries.append(moment)
            if open_at is not None:
                missing_exit = True  # the earlier entry was never closed
            open_at = moment
        else:
            exits.append(moment)
            if open_at is None:
                missing_entry = True
            else:
                worked += moment - open_at
                open_at = None
    in_now = open_at is not None and is_current
    if open_at is not None and not is_current:
        missing_exit = True
    late = 0
    if entries:
        shift_at = shift_start_at(workday, shift_start, boundary=boundary, tz=tz)
        late = late_minutes_of(entries[0], shift_at, grace_minutes=grace_minutes)
    if missing_exit or missing_entry:
        status = INCOMPLETE
    elif in_now:
        status = IN_NOW
    else:
        status = PRESENT
    return DaySummary(
        workday=workday,
        entries=tuple(entries),
        exits=tuple(exits),
        worked=worked,
        late_minutes=late,
        missing_exit=missing_exit,
        missing_entry=missing_entry,
        status=status,
    )


def working_days_between(start: dt.date, end: dt.date, *, weekdays: Iterable[int]) -> list[dt.date]:
    """Return the dates from start to end (both included) whose weekday (Monday 0) is a working one."""
    wanted = set(weekdays)
    return [
        start + dt.timedelta(days=n)
        for n in range((end - start).days + 1)
        if (start + dt.timedelta(days=n)).weekday() in wanted
    ]


@dataclass
class PeriodTotals:
    """Attendance over a date range, for one person or summed over many."""

    people: int = 0
    working_days: int = 0
    days_present: int = 0
    present_on_working_days: int = 0
    worked: dt.timedelta = dt.timedelta(0)
    late_count: int = 0

    @property
    def attendance_rate(self) -> Decimal | None:
        """Return days attended out of working days (0 to 1), None when there are no working days."""
        if not self.working_days:
            return None
        return (Decimal(self.present_on_working_days) / Decimal(self.working_days)).quantize(
            Decimal("0.0001")
        )

    @property
    def total_hours(self) -> Decimal:
        return hours_of(self.worked)

    @property
    def average_hours(self) -> Decimal | None:
        """Return hours worked per day attended, None when no day was attended."""
        if not self.days_present:
            return None
        return hours_of(self.worked / self.days_present)

    def add(self, other: PeriodTotals) -> None:
        self.people += other.people
        self.working_days += other.working_days
        self.days_present += other.days_present
        self.present_on_working_days += other.present_on_working_days
        self.worked += other.worked
        self.late_count += other.late_count


def period_totals(days: Iterable[DaySummary], *, working_days: set[dt.date]) -> PeriodTotals:
    """Return one person's totals over their day summaries; attendance counts on working days only."""
    totals = PeriodTotals(people=1, working_days=len(working_days))
    for day in days:
        totals.worked += day.worked
        if day.attended:
            totals.days_present += 1
            if day.workday in working_days:
                totals.present_on_working_days += 1
        if day.late:
            totals.late_count += 1
    return totals


# ---------------------------------------------------------------------------------------------
# Settings the rules read.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """The site's time rules, read from settings once per report."""

    tz: ZoneInfo
    boundary: dt.time
    grace_minutes: int

    @classmethod
    def from_settings(cls) -> Clock:
        return cls(
            tz=ZoneInfo(settings.TIME_ZONE),
            boundary=dt.time.fromisoformat(settings.WORKDAY_START),
            grace_minutes=settings.REPORT_LATE_GRACE_MINUTES,
        )

    def workday(self, moment: dt.datetime) -> dt.date:
        return workday_of(moment, boundary=self.boundary, tz=self.tz)


def current_workday(now: dt.datetime | None = None) -> dt.date:
    """Return the workday the present moment (or `now`) belongs to."""
    return Clock.from_settings().workday(now or timezone.now())


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
    """Return the departments a user may report on: a ReportAccess with departments limits it.

    Superusers and managers without a ReportAccess row (or with one naming no department) see
    every department. People with no department are only visible to unlimited users.
    """
    if user.is_superuser:
        return ReportScope()
    ids = frozenset(
        ReportAccess.objects.filter(user=user, departments__isnull=False).values_list(
            "departments", flat=True
        )
    )
    return ReportScope(department_ids=ids or None)


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
        grace_minutes=clock.grace_minutes,
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
        if last is None:
            state = STATE_NOT_IN
        elif day.entries and (not day.exits or day.entries[-1] > day.exits[-1]):
            state = STATE_IN
        else:
            state = STATE_OUT
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


def today_rows_in_state(rows: Iterable[TodayRow], state: str) -> list[TodayRow]:
    """Return the Today rows in `state` ("in", "out", "not_in"), the late ones for "late", all for ""."""
    if state == "late":
        return [row for row in rows if row.day.late]
    if state:
        return [row for row in rows if row.state == state]
    return list(rows)


def arrivals_histogram(arrivals: dict[int, int], *, boundary_hour: int) -> list[dict]:
    """Return [{"hour": "07:00", "arrivals": n}, ...] in workday order, trimmed to 07:00-19:00 or the data."""
    order = [(boundary_hour + n) % 24 for n in range(24)]
    positions = [order.index(h) for h in arrivals if arrivals[h]]
    low = min([order.index(7), *positions])
    high = max([order.index(19), *positions])
    return [{"hour": f"{h:02d}:00", "arrivals": arrivals.get(h, 0)} for h in order[low : high + 1]]


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
