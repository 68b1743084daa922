"""Report rules as plain functions over plain data: pairing entries with exits, hours worked, lateness,
day status, the Today state, totals over a range. No database: the selectors feed them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from attendance.clock import Shift
from attendance.models import AttendanceEvent

IN = AttendanceEvent.Kind.IN.value
OUT = AttendanceEvent.Kind.OUT.value
BREAK_START = AttendanceEvent.Kind.BREAK_START.value
BREAK_END = AttendanceEvent.Kind.BREAK_END.value

# Day statuses. A day with no event is absent only on a scheduled working day of somebody employed,
# not in the future, not a holiday and not on leave; otherwise it says which of those it is.
PRESENT = "present"
IN_NOW = "in"
INCOMPLETE = "incomplete"
ABSENT = "absent"
NOT_IN_YET = "not_in"
ON_LEAVE = "leave"
HOLIDAY = "holiday"
DAY_OFF = "day_off"
NOT_EMPLOYED = "not_employed"
UPCOMING = "upcoming"
STATUS_LABELS = {
    PRESENT: "Present",
    IN_NOW: "In now",
    INCOMPLETE: "Incomplete",
    ABSENT: "Absent",
    NOT_IN_YET: "Not yet in",
    ON_LEAVE: "On leave",
    HOLIDAY: "Holiday",
    DAY_OFF: "Day off",
    NOT_EMPLOYED: "Not employed",
    UPCOMING: "Upcoming",
}
ATTENDED = {PRESENT, IN_NOW, INCOMPLETE}

# States on the Today page, from the person's last event of the workday.
STATE_IN = "in"
STATE_OUT = "out"
STATE_NOT_IN = "not_in"
STATE_BREAK = "break"  # in, but a break started and has not ended
STATE_LABELS = {
    STATE_IN: "Present now",
    STATE_BREAK: "On break",
    STATE_OUT: "Checked out",
    STATE_NOT_IN: "Not yet in",
}

HOUR = Decimal(3600)
CENT = Decimal("0.01")


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


def hours_minutes(worked: dt.timedelta | None) -> str:
    """Return a duration as h:mm, the way pages show hours (7 h 17 min -> "7:17"; none -> "")."""
    if worked is None:
        return ""
    minutes = int(worked.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    return f"{sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d}"


@dataclass(frozen=True)
class DayPlan:
    """What a person's calendar says about a workday: their shift (None: a day off), its break and
    grace, their workday boundary, a holiday's name, a leave's kind, whether they were employed."""

    boundary: dt.time
    shift: Shift | None = None
    break_minutes: int = 0
    grace_minutes: int = 5
    holiday: str = ""
    leave: str = ""
    half_day_leave: bool = False
    employed: bool = True

    @property
    def scheduled(self) -> bool:
        """True on a working day: employed, a shift, no holiday, no full day of leave."""
        return (
            self.employed
            and self.shift is not None
            and not self.holiday
            and not (self.leave and not self.half_day_leave)
        )

    def expected(self, workday: dt.date, *, tz: ZoneInfo) -> dt.timedelta:
        """Return the hours expected: the shift less its break, half of it on a half day of leave."""
        if not self.scheduled:
            return dt.timedelta(0)
        assert self.shift is not None
        length = self.shift.length(workday, boundary=self.boundary, tz=tz)
        expected = max(length - dt.timedelta(minutes=self.break_minutes), dt.timedelta(0))
        return expected / 2 if self.leave else expected


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
    # Break time inside the counted entry-to-exit intervals, already subtracted from `worked`.
    breaks: dt.timedelta = dt.timedelta(0)
    expected: dt.timedelta = dt.timedelta(0)
    early_leave_minutes: int = 0
    holiday: str = ""
    leave: str = ""
    half_day_leave: bool = False
    # In now, inside a break that has not ended (the current workday only).
    on_break: bool = False

    @property
    def expected_hours(self) -> Decimal:
        return hours_of(self.expected)

    @property
    def overtime(self) -> dt.timedelta:
        """Time worked beyond the expected hours (all of it on a day off or a holiday)."""
        return max(self.worked - self.expected, dt.timedelta(0))

    @property
    def overtime_hours(self) -> Decimal:
        return hours_of(self.overtime)

    @property
    def early_leave(self) -> bool:
        return self.early_leave_minutes > 0

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
        if self.status == HOLIDAY:
            return f"Holiday: {self.holiday}"
        if self.status == ON_LEAVE:
            return f"On leave: {self.leave}"
        label = STATUS_LABELS[self.status]
        if self.half_day_leave:
            label += f" (half day {self.leave.lower()})"
        return label


def summarise_day(
    events: Sequence[tuple[str, dt.datetime]],
    *,
    workday: dt.date,
    shift_start: dt.time,
    grace_minutes: int,
    boundary: dt.time,
    tz: ZoneInfo,
    is_current: bool = False,
    plan: DayPlan | None = None,
    is_future: bool = False,
) -> DaySummary:
    """Return the summary of one person's workday from its events, given in time order.

    Hours worked are the sum of entry-to-exit intervals. An entry that is never closed (another
    entry follows it, or the workday ended) is a missing exit and is not counted; an exit with no
    entry before it is a missing entry and is not counted either. On the current workday a last
    entry that is still open means the person is in now, not that an exit is missing.

    Breaks are subtracted: a break start inside an open entry, until its break end (or, if it never
    ends, until the exit) is not worked. Break events outside an entry-to-exit interval change nothing.

    With a `plan` (the person's calendar) its shift, grace and boundary replace `shift_start`,
    `grace_minutes` and `boundary`; a day without events is then absent only on a scheduled working
    day that is not in the future, and lateness and early leave count on scheduled days only (not
    on a half day of leave, which excuses one of the two).
    """
    calendar = {}
    if plan is not None:
        boundary, grace_minutes = plan.boundary, plan.grace_minutes
        calendar = {
            "expected": plan.expected(workday, tz=tz),
            "holiday": plan.holiday,
            "leave": plan.leave,
            "half_day_leave": plan.half_day_leave,
        }
    if not events:
        return DaySummary(workday=workday, status=_eventless_status(plan, is_current, is_future), **calendar)
    entries: list[dt.datetime] = []
    exits: list[dt.datetime] = []
    worked = dt.timedelta(0)
    open_at: dt.datetime | None = None
    break_at: dt.datetime | None = None  # a break started inside the open interval
    interval_breaks = breaks = dt.timedelta(0)
    missing_exit = missing_entry = False
    for kind, local_moment in events:
        # In UTC: Python subtracts two datetimes of the same zone by wall clock, wrong across DST.
        moment = local_moment.astimezone(dt.UTC)
        if kind == BREAK_START:
            if open_at is not None and break_at is None:
                break_at = moment
        elif kind == BREAK_END:
            if break_at is not None:
                interval_breaks += moment - break_at
                break_at = None
        elif kind == IN:
            entries.append(moment)
            if open_at is not None:
                missing_exit = True  # the earlier entry was never closed
            open_at, break_at, interval_breaks = moment, None, dt.timedelta(0)
        else:
            exits.append(moment)
            if open_at is None:
                missing_entry = True
            else:
                if break_at is not None:  # left during a break: the break lasted until the exit
                    interval_breaks += moment - break_at
                worked += moment - open_at - interval_breaks
                breaks += interval_breaks
                open_at, break_at, interval_breaks = None, None, dt.timedelta(0)
    in_now = open_at is not None and is_current
    if open_at is not None and not is_current:
        missing_exit = True
    late = early = 0
    if plan is None:
        if entries:
            shift_at = shift_start_at(workday, shift_start, boundary=boundary, tz=tz)
            late = late_minutes_of(entries[0], shift_at, grace_minutes=grace_minutes)
    elif plan.scheduled and not plan.leave and plan.shift is not None:
        shift_at, shift_end_at = plan.shift.span(workday, boundary=boundary, tz=tz)
        if entries:
            late = late_minutes_of(entries[0], shift_at, grace_minutes=grace_minutes)
        if exits and not in_now and not missing_exit:
            early = max(int((shift_end_at.astimezone(dt.UTC) - exits[-1]).total_seconds() // 60), 0)
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
        breaks=breaks,
        early_leave_minutes=early,
        on_break=in_now and break_at is not None,
        **calendar,
    )


def _eventless_status(plan: DayPlan | None, is_current: bool, is_future: bool) -> str:
    """Return the status of a day without events."""
    if plan is not None:
        if not plan.employed:
            return NOT_EMPLOYED
        if is_future:
            return UPCOMING
        if plan.holiday:
            return HOLIDAY
        if plan.leave and not plan.half_day_leave:
            return ON_LEAVE
        if plan.shift is None:
            return DAY_OFF
    return NOT_IN_YET if is_current else ABSENT


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
    expected: dt.timedelta = dt.timedelta(0)
    overtime: dt.timedelta = dt.timedelta(0)
    absent_days: int = 0
    leave_days: Decimal = Decimal(0)

    @property
    def expected_hours(self) -> Decimal:
        return hours_of(self.expected)

    @property
    def overtime_hours(self) -> Decimal:
        return hours_of(self.overtime)

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
    def average_worked(self) -> dt.timedelta | None:
        """Return the time worked per day attended, None when no day was attended."""
        return self.worked / self.days_present if self.days_present else None

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
        self.expected += other.expected
        self.overtime += other.overtime
        self.absent_days += other.absent_days
        self.leave_days += other.leave_days


def period_totals(days: Iterable[DaySummary], *, working_days: set[dt.date]) -> PeriodTotals:
    """Return one person's totals over their day summaries; attendance counts on working days only.

    Overtime is summed per day (a short day does not cancel a long one).
    """
    totals = PeriodTotals(people=1, working_days=len(working_days))
    for day in days:
        totals.worked += day.worked
        totals.expected += day.expected
        totals.overtime += day.overtime
        totals.absent_days += int(day.status == ABSENT)
        if day.leave:
            totals.leave_days += Decimal("0.5") if day.half_day_leave else Decimal(1)
        if day.attended:
            totals.days_present += 1
            if day.workday in working_days:
                totals.present_on_working_days += 1
        if day.late:
            totals.late_count += 1
    return totals


def today_state(
    entries: Sequence[dt.datetime], exits: Sequence[dt.datetime], *, on_break: bool = False
) -> str:
    """Return where a person is on the current workday from its entries and exits, each in time order;
    someone in whose break has started and not ended is on break, not "present now"."""
    if not entries and not exits:
        return STATE_NOT_IN
    if entries and (not exits or entries[-1] > exits[-1]):
        return STATE_BREAK if on_break else STATE_IN
    return STATE_OUT


def arrivals_histogram(arrivals: dict[int, int], *, boundary_hour: int) -> list[dict]:
    """Return [{"hour": "07:00", "arrivals": n}, ...] in workday order, trimmed to 07:00-19:00 or the data."""
    order = [(boundary_hour + n) % 24 for n in range(24)]
    positions = [order.index(h) for h in arrivals if arrivals[h]]
    low = min([order.index(7), *positions])
    high = max([order.index(19), *positions])
    return [{"hour": f"{h:02d}:00", "arrivals": arrivals.get(h, 0)} for h in order[low : high + 1]]


def today_rows_in_state(rows: Iterable, state: str) -> list:
    """Return the Today rows in `state` ("in", "out", "not_in"), the late ones for "late", all for ""."""
    if state == "late":
        return [row for row in rows if row.day.late]
    if state:
        return [row for row in rows if row.state == state]
    return list(rows)
