"""An employee's own timesheet at /me/timesheet/: their days only, with expected hours and overtime."""

import datetime as dt

import pytest
from django.test import Client

from tests.attendance.reports.conftest import MONDAY
from tests.factories import PersonFactory, UserFactory
from tests.support.reports import table_rows, workday_events

pytestmark = pytest.mark.django_db


def test_an_employee_sees_their_own_days_and_nobody_elses(berlin):
    """Ada (linked to her account, no report permission) sees Mon 3 - Tue 4 March 2025: 8:24 and 7:02
    worked against 8:00 each, 0:24 overtime; Ben's day is not on her page."""
    user = UserFactory(username="ada")
    ada = PersonFactory(full_name="Ada Archer", employee_id="A001", user=user)
    ben = PersonFactory(full_name="Ben Baker", employee_id="B002")
    workday_events(ada, MONDAY, ("09:06", "17:30"))
    workday_events(ada, MONDAY + dt.timedelta(days=1), ("08:58", "12:00"), ("13:00", "17:00"))
    workday_events(ben, MONDAY, ("09:00", "17:00"))
    client = Client()
    client.force_login(user)
    response = client.get("/me/timesheet/", {"start": "2025-03-03", "end": "2025-03-04"})
    assert response.status_code == 200
    page = response.content.decode()
    rows = table_rows(page)[1:]
    assert [row[3] for row in rows] == ["8:24", "7:02"]
    assert [row[6:] for row in rows] == [["8:00", "0:24"], ["8:00", "0:00"]]
    assert 'id="total-hours">15:26<' in page and 'id="overtime-hours">0:24<' in page
    assert "Ben Baker" not in page and "Ada Archer (A001)" in page
    assert client.get("/reports/day/", {"day": "2025-03-03"}).status_code == 403


def test_an_account_without_a_person_is_told_to_ask_hr(berlin):
    """A login not linked to an employee record gets a page saying so, and no rows."""
    client = Client()
    client.force_login(UserFactory(username="nobody"))
    response = client.get("/me/timesheet/")
    assert response.status_code == 200
    assert 'id="not-linked"' in response.content.decode()


def test_anonymous_visitors_are_sent_to_the_login_page():
    """Without a login, /me/timesheet/ redirects to the site's login page."""
    response = Client().get("/me/timesheet/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_home_page_links_a_linked_employee_to_their_timesheet():
    """An account linked to a person finds "My timesheet" on the home page; another account does not."""
    linked, other = UserFactory(username="linked"), UserFactory(username="other")
    PersonFactory(user=linked)
    client = Client()
    client.force_login(linked)
    assert 'id="my-timesheet" href="/me/timesheet/"' in client.get("/").content.decode()
    client.force_login(other)
    assert 'id="my-timesheet"' not in client.get("/").content.decode()
