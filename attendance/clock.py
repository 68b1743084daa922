"""The site's time rules, in one place: its time zone, the workday boundary, and the workday of a moment.

Check-in decides an event's workday with them and the reports group events by it, so both read them
here. A workday starts at a boundary, not at midnight, so that a night shift's exit after midnight
belongs to the workday it started on. Each person's boundary follows their work schedule
(people.WorkSchedule): its explicit boundary, or halfway through the off-shift gap (a 22:00-06:00
shift: 14:00). People with no schedule assigned keep the site's WORKDAY_START (04:00 by default).

A shift that starts before the boundary starts on the calendar day after its workday; a shift whose
end is not after its start ends on the next calendar day. Durations are taken in UTC, so a night
shift across a daylight-saving change is an hour shorter or longer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def workday_of(moment: dt.datetime, *, boundary: dt.time, tz: ZoneInfo) -> dt.date:
    """Return the local workday a moment belongs to; a workday starts at `boundary`, not midnight.

    With a 04:00 boundary, 02:30 on the 2nd belongs to the workday of the 1st (night shifts).
    """
    if moment.tzinfo is None:
        raise ValueError("workday_of needs an aware datetime")
    local = moment.astimezone(tz)
    day = local.date()
    return day - dt.timedelta(days=1) if local.time() < boundary else day


def boundary_between(shift_end: dt.time, next_start: dt.time) -> dt.time:
    """Return the time halfway through the off-shift gap from a shift's end to the next shift's start.

    09:00-17:00 gives 01:00 (16 h off, 8 h after 17:00); 22:00-06:00 gives 14:00.
    """
    end = shift_end.hour * 60 + shift_end.minute
    start = next_start.hour * 60 + next_start.minute
    gap = (start - end) % (24 * 60)
    middle = (end + gap // 2) % (24 * 60)
    return dt.time(middle // 60, middle % 60)


@dataclass(frozen=True)
class Shift:
    """When a scheduled shift starts and ends, as local wall-clock times."""

    start: dt.time
    end: dt.time

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def span(self, workday: dt.date, *, boundary: dt.time, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """Return the aware start and end of this shift on a workday."""
        start_date = workday if self.start >= boundary else workday + dt.timedelta(days=1)
        end_date = start_date + dt.timedelta(days=1) if self.crosses_midnight else start_date
        return (
            dt.datetime.combine(start_date, self.start, tzinfo=tz),
            dt.datetime.combine(end_date, self.end, tzinfo=tz),
        )

    def length(self, workday: dt.date, *, boundary: dt.time, tz: ZoneInfo) -> dt.timedelta:
        """Return the real time from start to end on a workday (22:00-06:00: 7 h when clocks go forward)."""
        start, end = self.span(workday, boundary=boundary, tz=tz)
        return end.astimezone(dt.UTC) - start.astimezone(dt.UTC)


@dataclass(frozen=True)
class WeekSchedule:
    """A person's weekly pattern as plain data: a shift or None (day off) per weekday, Monday first."""

    shifts: Sequence[Shift | None]
    break_minutes: int = 0
    grace_minutes: int = 5
    explicit_boundary: dt.time | None = None
    # The boundary when the schedule has neither an explicit one nor a working day.
    fallback_boundary: dt.time = dt.time(4, 0)

    @property
    def boundary(self) -> dt.time:
        """Return the explicit boundary, else halfway through the first working day's off-shift gap."""
        if self.explicit_boundary is not None:
            return self.explicit_boundary
        working = [shift for shift in self.shifts if shift is not None]
        if not working:
            return self.fallback_boundary
        return boundary_between(working[0].end, working[0].start)

    def shift_on(self, workday: dt.date) -> Shift | None:
        """Return the shift scheduled on a workday, None on a day off."""
        return self.shifts[workday.weekday()]

    def expected(self, workday: dt.date, *, tz: ZoneInfo) -> dt.timedelta:
        """Return the hours expected on a workday: the shift's length less the break, none on a day off."""
        shift = self.shift_on(workday)
        if shift is None:
            return dt.timedelta(0)
        worked = shift.length(workday, boundary=self.boundary, tz=tz) - dt.timedelta(
            minutes=self.break_minutes
        )
        return max(worked, dt.timedelta(0))


@dataclass(frozen=True)
class Clock:
    """The site's time zone and workday boundary, read from the settings once per use."""

    tz: ZoneInfo
    boundary: dt.time

    @classmethod
    def from_settings(cls) -> Clock:
        return cls(tz=ZoneInfo(settings.TIME_ZONE), boundary=dt.time.fromisoformat(settings.WORKDAY_START))

    def workday(self, moment: dt.datetime) -> dt.date:
        """Return the workday a moment belongs to."""
        return workday_of(moment, boundary=self.boundary, tz=self.tz)

    def local_time(self, moment: dt.datetime) -> str:
        """Return a moment as the site's local wall-clock time, "HH:MM"."""
        return timezone.localtime(moment, self.tz).strftime("%H:%M")


def current_workday(now: dt.datetime | None = None) -> dt.date:
    """Return the workday the present moment (or `now`) belongs to."""
    return Clock.from_settings().workday(now or timezone.now())


# ---------------------------------------------------------------------------------------------
# Each person's schedule and clock, from the database.
# ---------------------------------------------------------------------------------------------


def week_schedule_of(schedule) -> WeekSchedule:
    """Return a people.WorkSchedule (its `days` prefetched, or fetched here) as plain data."""
    shifts: list[Shift | None] = [None] * 7
    for day in schedule.days.all():
        shifts[day.weekday] = Shift(day.start, day.end)
    return WeekSchedule(
        shifts=tuple(shifts),
        break_minutes=schedule.break_minutes,
        grace_minutes=schedule.late_grace_minutes,
        explicit_boundary=schedule.workday_boundary,
        fallback_boundary=dt.time.fromisoformat(settings.WORKDAY_START),
    )


def default_schedule(person) -> WeekSchedule:
    """Return what a person without an assigned schedule works to: their shift on the working weekdays
    of REPORT_WORKING_WEEKDAYS, the grace of REPORT_LATE_GRACE_MINUTES, the boundary of WORKDAY_START."""
    shift = Shift(person.shift_start, person.shift_end)
    weekdays = set(settings.REPORT_WORKING_WEEKDAYS)
    boundary = dt.time.fromisoformat(settings.WORKDAY_START)
    return WeekSchedule(
        shifts=tuple(shift if n in weekdays else None for n in range(7)),
        grace_minutes=settings.REPORT_LATE_GRACE_MINUTES,
        explicit_boundary=boundary,
        fallback_boundary=boundary,
    )


def person_schedule(person, *, on: dt.date) -> WeekSchedule:
    """Return the schedule a person works to on a date: their latest assignment starting by then."""
    from people.models import ScheduleAssignment

    assignment = (
        ScheduleAssignment.objects.filter(person=person, start_date__lte=on)
        .select_related("schedule")
        .prefetch_related("schedule__days")
        .order_by("-start_date")
        .first()
    )
    return week_schedule_of(assignment.schedule) if assignment else default_schedule(person)


def person_clock(person, moment: dt.datetime) -> Clock:
    """Return the site's clock with this person's workday boundary, from their schedule at `moment`.

    Check-in and hand-made events place an event in a workday with it.
    """
    tz = ZoneInfo(settings.TIME_ZONE)
    schedule = person_schedule(person, on=moment.astimezone(tz).date())
    return Clock(tz=tz, boundary=schedule.boundary)
