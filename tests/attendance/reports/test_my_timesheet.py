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
    page = client.get("/").content.decode()
    assert 'id="my-timesheet" href="/me/timesheet/"' in page
    assert "no pages to open" not in page  # their own timesheet is theirs to open (issue 16)
    client.force_login(other)
    page = client.get("/").content.decode()
    assert 'id="my-timesheet"' not in page and "no pages to open" in page


def test_a_missed_exit_requested_by_the_employee_and_approved_by_the_manager_changes_the_timesheet(berlin):
    """Ada forgot to check out on Mon 3 March 2025 (in 09:06): she asks for an exit at 17:30; her
    manager approves; her day becomes 8:24 worked, present, and the event log keeps the reason.
    A second decision on the same request is refused; a manager limited to another department
    cannot see it."""
    from attendance.models import AttendanceEventLog, ReportAccess
    from people.models import CorrectionRequest
    from tests.factories import DepartmentFactory

    sales, ops = DepartmentFactory(name="Sales"), DepartmentFactory(name="Ops")
    user = UserFactory(username="ada")
    ada = PersonFactory(full_name="Ada Archer", employee_id="A001", user=user, department=sales)
    workday_events(ada, MONDAY, ("09:06", None))
    employee = Client()
    employee.force_login(user)
    before = table_rows(
        employee.get("/me/timesheet/", {"start": "2025-03-03", "end": "2025-03-03"}).content.decode()
    )
    assert before[1][3:6] == ["0:00", "6 min", "Incomplete: missing exit"]
    sent = employee.post(
        "/me/requests/",
        {"kind": "out", "date": "2025-03-03", "time": "17:30", "reason": "Forgot to check out"},
    )
    assert sent.status_code == 302
    item = CorrectionRequest.objects.get()
    assert (item.person, item.kind, item.status) == (ada, "out", "pending")

    other = UserFactory(username="ops-manager", groups=["Managers"])
    ReportAccess.objects.create(user=other).departments.add(ops)
    elsewhere = Client()
    elsewhere.force_login(other)
    assert "Ada Archer" not in elsewhere.get("/reports/requests/").content.decode()
    assert elsewhere.post(f"/reports/requests/{item.pk}/decide/", {"decision": "approve"}).status_code == 404

    manager = Client()
    manager.force_login(UserFactory(username="manager", groups=["Managers"]))
    assert "Forgot to check out" in manager.get("/reports/requests/").content.decode()
    assert manager.post(f"/reports/requests/{item.pk}/decide/", {"decision": "approve"}).status_code == 302
    item.refresh_from_db()
    assert item.status == "approved" and item.event_id is not None
    assert AttendanceEventLog.objects.get(event_pk=item.event_id).reason == (
        f"Correction request {item.pk}: Forgot to check out"
    )
    after = table_rows(
        employee.get("/me/timesheet/", {"start": "2025-03-03", "end": "2025-03-03"}).content.decode()
    )
    assert after[1][1:6] == ["09:06", "17:30", "8:24", "6 min", "Present"]
    manager.post(f"/reports/requests/{item.pk}/decide/", {"decision": "reject"})
    item.refresh_from_db()
    assert item.status == "approved"
    assert AttendanceEventLog.objects.count() == 1


def test_a_request_without_a_reason_or_in_the_future_is_refused(berlin):
    """No reason, or a time still to come: nothing is recorded and the page says what to fix."""
    from people.models import CorrectionRequest

    user = UserFactory(username="ada")
    PersonFactory(user=user)
    client = Client()
    client.force_login(user)
    page = client.post(
        "/me/requests/", {"kind": "out", "date": "2099-01-01", "time": "17:00", "reason": "x"}, follow=True
    ).content.decode()
    assert "in the future" in page
    page = client.post(
        "/me/requests/", {"kind": "out", "date": "2025-03-03", "time": "17:00", "reason": " "}, follow=True
    ).content.decode()
    assert "not sent" in page
    assert not CorrectionRequest.objects.exists()
