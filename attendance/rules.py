"""Attendance rules as plain functions over plain data: easy to test without a database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def workday_of(moment: dt.datetime, *, boundary: dt.time, tz: ZoneInfo) -> dt.date:
    """Return the local workday a moment belongs to; a workday starts at `boundary`, not midnight.

    With a 04:00 boundary, 02:30 on the 2nd belongs to the workday of the 1st (night shifts).
    """
    if moment.tzinfo is None:
        raise ValueError("workday_of needs an aware datetime")
    local = moment.astimezone(tz)
    day = local.date()
    return day - dt.timedelta(days=1) if local.time() < boundary else day
