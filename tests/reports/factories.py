"""Helpers to lay down a person's workday as local clock times, for hand-computed report tests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings

from attendance.models import AttendanceEvent
from tests.factories import AttendanceEventFactory


def local(day: dt.date, clock: str) -> dt.datetime:
    """Return the aware moment of a local wall-clock time ("09:06", "09:05:59") on a calendar day."""
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=ZoneInfo(settings.TIME_ZONE))


def workday_events(person, workday: dt.date, *pairs: tuple[str, str | None]) -> list[AttendanceEvent]:
    """Record entry/exit pairs of local times on a workday, in order; None for a missing exit.

    Times run forward: a time earlier than the one before it (or, first, earlier than the
    workday boundary) is on the next calendar day, as on a night shift ("22:10", "06:10").
    """
    boundary = dt.time.fromisoformat(settings.WORKDAY_START)
    events, day, previous = [], workday, boundary
    for pair in pairs:
        for kind, clock in zip((AttendanceEvent.Kind.IN, AttendanceEvent.Kind.OUT), pair, strict=True):
            if clock is None:
                continue
            time = dt.time.fromisoformat(clock)
            if time < previous and day == workday:
                day = workday + dt.timedelta(days=1)
            previous = time
            events.append(AttendanceEventFactory(person=person, kind=kind, timestamp=local(day, clock)))
    return events
