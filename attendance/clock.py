"""The site's time rules, in one place: its time zone, the workday boundary, and the workday of a moment.

Check-in decides an event's workday with them and the reports group events by it, so both read them
here. A workday starts at WORKDAY_START (04:00 by default), not at midnight, so that a night shift's
exit after midnight belongs to the workday it started on.
"""

from __future__ import annotations

import datetime as dt
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
