"""Read a person's attendance history for HR's person page (a selector: reads only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from attendance.models import AttendanceEvent
from people.models import Person


@dataclass
class AttendanceDay:
    workday: dt.date
    events: list[AttendanceEvent] = field(default_factory=list)

    @property
    def first_in(self) -> AttendanceEvent | None:
        return next((e for e in self.events if e.kind == AttendanceEvent.Kind.IN), None)

    @property
    def last_move(self) -> AttendanceEvent | None:
        """The day's last entry or exit (breaks are neither)."""
        moves = (AttendanceEvent.Kind.IN, AttendanceEvent.Kind.OUT)
        return next((e for e in reversed(self.events) if e.kind in moves), None)

    @property
    def last_out(self) -> AttendanceEvent | None:
        """The day's exit, only if nothing came after it: after a later entry the person is back in."""
        last = self.last_move
        return last if last is not None and last.kind == AttendanceEvent.Kind.OUT else None

    @property
    def in_now(self) -> bool:
        last = self.last_move
        return last is not None and last.kind == AttendanceEvent.Kind.IN


def person_attendance_days(*, person: Person, days: int = 60) -> list[AttendanceDay]:
    """Return the person's events of the last `days` workdays, newest workday first."""
    days = max(1, min(days, 3660))
    since = timezone.localdate() - dt.timedelta(days=days)
    events = (
        AttendanceEvent.objects.filter(person=person, workday__gte=since)
        .select_related("kiosk", "created_by", "updated_by")
        .order_by("-workday", "timestamp")
    )
    result: list[AttendanceDay] = []
    for event in events:
        if not result or result[-1].workday != event.workday:
            result.append(AttendanceDay(workday=event.workday))
        result[-1].events.append(event)
    return result
