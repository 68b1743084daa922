"""A hand-made workday in Berlin (UTC+1 in early March) that the report tests check every output against."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.test import Client

from tests.factories import DepartmentFactory, PersonFactory, UserFactory
from tests.support.reports import workday_events

MONDAY = dt.date(2025, 3, 3)


@pytest.fixture
def berlin(settings):
    """Report in Europe/Berlin with a 5-minute grace and a 04:00 workday boundary."""
    settings.TIME_ZONE = "Europe/Berlin"
    settings.WORKDAY_START = "04:00"
    settings.REPORT_LATE_GRACE_MINUTES = 5
    settings.REPORT_WORKING_WEEKDAYS = [0, 1, 2, 3, 4]
    settings.REPORT_MAX_RANGE_DAYS = 93
    settings.REPORT_PAGE_SIZE = 50
    return settings


@dataclass
class Scenario:
    sales: object
    ops: object
    people: dict


@pytest.fixture
def scenario(db, berlin) -> Scenario:
    """Six people on Monday 3 March 2025, 09:00 shifts unless said otherwise.

    ada   Sales  09:06-17:30                      late 6 min, 8 h 24 = 8.40 h, present
    ben   Sales  09:05-17:00                      within grace, 7 h 55 = 7.92 h, present
    fay   Sales  nothing                          absent
    cy    Ops    09:01 in, no exit                on time (within grace), missing exit, 0.00 h, incomplete
    dee   Ops    08:00-12:00, 12:30-15:00, 15:15-17:45   9.00 h, present
    eve   Ops    18:00 shift, 18:10 to 02:10 Tuesday     late 10 min, 8.00 h, present (one workday:
                                                         02:10 is before the 04:00 boundary)
    """
    sales, ops = DepartmentFactory(name="Sales"), DepartmentFactory(name="Ops")
    people = {
        "ada": PersonFactory(full_name="Ada Archer", employee_id="A001", department=sales),
        "ben": PersonFactory(full_name="Ben Baker", employee_id="B002", department=sales),
        "fay": PersonFactory(full_name="Fay Fisher", employee_id="F006", department=sales),
        "cy": PersonFactory(full_name="Cy Cooper", employee_id="C003", department=ops),
        "dee": PersonFactory(full_name="Dee Dyer", employee_id="D004", department=ops),
        "eve": PersonFactory(
            full_name="Eve Evans",
            employee_id="E005",
            department=ops,
            shift_start=dt.time(18),
            shift_end=dt.time(2),
        ),
    }
    workday_events(people["ada"], MONDAY, ("09:06", "17:30"))
    workday_events(people["ben"], MONDAY, ("09:05", "17:00"))
    workday_events(people["cy"], MONDAY, ("09:01", None))
    workday_events(people["dee"], MONDAY, ("08:00", "12:00"), ("12:30", "15:00"), ("15:15", "17:45"))
    workday_events(people["eve"], MONDAY, ("18:10", "02:10"))
    return Scenario(sales=sales, ops=ops, people=people)


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", groups=["Managers"])


@pytest.fixture
def manager_client(manager) -> Client:
    client = Client()
    client.force_login(manager)
    return client
