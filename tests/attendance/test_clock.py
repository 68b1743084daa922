"""The site's clock: time zone and workday boundary from the settings, the workday of a moment."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from attendance.clock import Clock, current_workday, workday_of

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_moment_before_the_boundary_belongs_to_the_previous_workday():
    """With a 04:00 boundary, 03:59 local is still yesterday's workday and 04:00 is today's."""
    boundary = dt.time(4, 0)
    assert workday_of(dt.datetime(2025, 3, 4, 3, 59, tzinfo=BERLIN), boundary=boundary, tz=BERLIN) == dt.date(
        2025, 3, 3
    )
    assert workday_of(dt.datetime(2025, 3, 4, 4, 0, tzinfo=BERLIN), boundary=boundary, tz=BERLIN) == dt.date(
        2025, 3, 4
    )


def test_a_naive_moment_is_refused():
    """A datetime without a zone cannot be placed in a workday: a ValueError says so."""
    with pytest.raises(ValueError, match="aware"):
        workday_of(dt.datetime(2025, 3, 4, 9, 0), boundary=dt.time(4, 0), tz=BERLIN)


def test_the_clock_reads_the_site_settings(settings):
    """Clock.from_settings takes TIME_ZONE and WORKDAY_START; times show as local HH:MM."""
    settings.TIME_ZONE = "Europe/Berlin"
    settings.WORKDAY_START = "05:30"
    clock = Clock.from_settings()
    assert (clock.tz, clock.boundary) == (BERLIN, dt.time(5, 30))
    utc_moment = dt.datetime(2025, 3, 4, 4, 15, tzinfo=dt.UTC)  # 05:15 in Berlin: before 05:30
    assert clock.workday(utc_moment) == dt.date(2025, 3, 3)
    assert clock.local_time(utc_moment) == "05:15"
    assert current_workday(utc_moment) == dt.date(2025, 3, 3)
