"""Employees' requests beyond a missed punch (a wrong time, leave), decided by their manager or HR on
the site; managers' direct corrections of their departments' events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from attendance.models import AttendanceEventLog, ReportAccess
from people.models import CorrectionRequest, Leave
from tests.attendance.reports.conftest import MONDAY
from tests.factories import DepartmentFactory, PersonFactory, UserFactory
from tests.support.reports import table_rows, workday_events

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def my_day(client: Client, day: dt.date) -> list[str]:
    page = client.get("/me/timesheet/", {"start": day.isoformat(), "end": day.isoformat()}).content.decode()
    return table_rows(page)[1]


def test_a_wrong_time_approved_by_the_manager_changes_the_report(berlin):
    """Ada's entry was recorded at 09:36 on Mon 3 March 2025 (she was let in by a colleague; exit 17:30):
    7:54 worked, 36 min late. She asks for 09:06; the manager approves: 8:24 worked, 6 min late, and
    the event log keeps the old time, the new one and her reason."""
    sales = DepartmentFactory(name="Sales")
    user = UserFactory(username="ada")
    ada = PersonFactory(full_name="Ada Archer", employee_id="A001", user=user, department=sales)
    entry, _ = workday_events(ada, MONDAY, ("09:36", "17:30"))
    employee = logged_in(user)
    assert my_day(employee, MONDAY)[1:5] == ["09:36", "17:30", "7:54", "36 min"]

    sent = employee.post(
        "/me/requests/wrong-time/",
        {"wt-event": entry.pk, "wt-right_time": "2025-03-03T09:06", "wt-reason": "Badge reader was down"},
    )
    assert sent.status_code == 302
    item = CorrectionRequest.objects.get()
    assert (item.kind, item.event_id, item.status) == ("time", entry.pk, "pending")
    assert item.what == "Wrong time: Mon 03 Mar 09:36 should be Mon 03 Mar 09:06"

    manager = logged_in(UserFactory(username="manager", groups=["Managers"]))
    assert "Badge reader was down" in manager.get("/reports/requests/").content.decode()
    manager.post(f"/reports/requests/{item.pk}/decide/", {"decision": "approve", "note": "Confirmed"})
    item.refresh_from_db()
    assert (item.status, item.decision_note) == ("approved", "Confirmed")
    assert my_day(employee, MONDAY)[1:5] == ["09:06", "17:30", "8:24", "6 min"]
    log = AttendanceEventLog.objects.get()
    assert (log.action, log.event_pk) == ("change", entry.pk)
    assert log.before["timestamp"] == "2025-03-03T08:36:00+00:00"
    assert log.after["timestamp"] == "2025-03-03T08:06:00+00:00"
    assert log.reason == f"Correction request {item.pk}: Badge reader was down"


def test_nobody_asks_to_move_somebody_elses_event(berlin):
    """An event id of another person is not among the choices: the request is not sent."""
    user = UserFactory(username="ada")
    PersonFactory(user=user)
    ben = PersonFactory(full_name="Ben Baker")
    (bens,) = workday_events(ben, MONDAY, ("09:00", None))
    page = logged_in(user).post(
        "/me/requests/wrong-time/",
        {"wt-event": bens.pk, "wt-right_time": "2025-03-03T08:00", "wt-reason": "x"},
        follow=True,
    )
    assert "not sent" in page.content.decode()
    assert not CorrectionRequest.objects.exists()


def test_leave_approved_by_hr_on_the_site_adds_the_leave_row(berlin):
    """Ada asks for vacation on Wed 5 - Thu 6 March 2025 and a half day of sick leave on Fri 7.
    HR (now with the reports permission) opens /reports/requests/ and approves both: two Leave rows;
    her Wednesday reads "On leave: Vacation" with 0:00 expected, her Friday 4:00 expected (half of 8:00)."""
    user = UserFactory(username="ada")
    ada = PersonFactory(full_name="Ada Archer", employee_id="A001", user=user)
    employee = logged_in(user)
    employee.post(
        "/me/requests/leave/",
        {
            "leave-leave_kind": "vacation",
            "leave-start": "2025-03-05",
            "leave-end": "2025-03-06",
            "leave-reason": "Trip",
        },
    )
    employee.post(
        "/me/requests/leave/",
        {
            "leave-leave_kind": "sick",
            "leave-start": "2025-03-07",
            "leave-end": "2025-03-07",
            "leave-half_day": "on",
            "leave-reason": "Dentist",
        },
    )
    bad = employee.post(
        "/me/requests/leave/",
        {
            "leave-leave_kind": "vacation",
            "leave-start": "2025-03-10",
            "leave-end": "2025-03-11",
            "leave-half_day": "on",
            "leave-reason": "x",
        },
        follow=True,
    ).content.decode()
    assert "A half day is one day" in bad
    assert CorrectionRequest.objects.count() == 2

    hr = logged_in(UserFactory(username="hr", groups=["HR"]))
    page = hr.get("/reports/requests/").content.decode()
    assert "Vacation, Wed 05 Mar 2025 to Thu 06 Mar 2025" in page and "Sick leave (half day)" in page
    for item in CorrectionRequest.objects.all():
        assert hr.post(f"/reports/requests/{item.pk}/decide/", {"decision": "approve"}).status_code == 302
    leaves = sorted(Leave.objects.values_list("kind", "start_date", "end_date", "half_day"))
    assert leaves == [
        ("sick", dt.date(2025, 3, 7), dt.date(2025, 3, 7), True),
        ("vacation", dt.date(2025, 3, 5), dt.date(2025, 3, 6), False),
    ]
    assert all(item.leave_id for item in CorrectionRequest.objects.all())
    wednesday = my_day(employee, dt.date(2025, 3, 5))
    assert wednesday[5:] == ["On leave: Vacation", "0:00", "0:00"]
    assert my_day(employee, dt.date(2025, 3, 7))[6] == "4:00"
    assert ada.leaves.count() == 2


def test_nobody_decides_their_own_request(berlin):
    """A manager who is also an employee cannot approve their own request; it stays pending."""
    user = UserFactory(username="boss", groups=["Managers"])
    boss = PersonFactory(user=user)
    workday_events(boss, MONDAY, ("09:00", None))
    client = logged_in(user)
    client.post("/me/requests/", {"kind": "out", "date": "2025-03-03", "time": "17:00", "reason": "Forgot"})
    item = CorrectionRequest.objects.get()
    page = client.post(f"/reports/requests/{item.pk}/decide/", {"decision": "approve"}, follow=True)
    assert "your own request" in page.content.decode()
    item.refresh_from_db()
    assert item.status == "pending"


def test_a_manager_corrects_their_departments_events_on_the_site(berlin):
    """The Sales manager adds Ada's missed 17:30 exit (8:24 worked), moves it to 17:00 (7:54), deletes
    it; each with a reason, each in the log with the manager's name. No reason, a future time, Ops
    people (404) and their own record are refused."""
    sales, ops = DepartmentFactory(name="Sales"), DepartmentFactory(name="Ops")
    ada = PersonFactory(full_name="Ada Archer", employee_id="A001", department=sales)
    cy = PersonFactory(full_name="Cy Cooper", employee_id="C003", department=ops)
    workday_events(ada, MONDAY, ("09:06", None))
    boss_user = UserFactory(username="sales-manager", groups=["Managers"])
    ReportAccess.objects.create(user=boss_user).departments.add(sales)
    PersonFactory(full_name="Sam Sales", user=boss_user, department=sales)
    boss = logged_in(boss_user)
    url = f"/reports/people/{ada.pk}/events/"
    assert boss.get(url, {"day": "2025-03-03"}).status_code == 200

    def hours() -> str:
        return table_rows(
            boss.get(
                "/reports/timesheet/", {"person": "A001", "start": "2025-03-03", "end": "2025-03-03"}
            ).content.decode()
        )[1][5]

    refused = boss.post(
        url,
        {"action": "add", "day": "2025-03-03", "kind": "out", "moment": "2025-03-03T17:30", "reason": ""},
        follow=True,
    ).content.decode()
    assert "Nothing changed" in refused
    refused = boss.post(
        url,
        {"action": "add", "day": "2025-03-03", "kind": "out", "moment": "2099-03-03T17:30", "reason": "x"},
        follow=True,
    ).content.decode()
    assert "in the future" in refused
    boss.post(
        url,
        {
            "action": "add",
            "day": "2025-03-03",
            "kind": "out",
            "moment": "2025-03-03T17:30",
            "reason": "Forgot",
        },
    )
    assert hours() == "8:24"
    exit_ = ada.attendance_events.get(kind="out")
    boss.post(
        url,
        {
            "action": "move",
            "day": "2025-03-03",
            "event": exit_.pk,
            "moment": "2025-03-03T17:00",
            "reason": "Left at 5",
        },
    )
    assert hours() == "7:54"
    boss.post(url, {"action": "delete", "day": "2025-03-03", "event": exit_.pk, "reason": "Never left"})
    assert hours() == "0:00"
    log = list(AttendanceEventLog.objects.order_by("pk").values_list("action", "reason", "by__username"))
    assert log == [
        ("add", "Forgot", "sales-manager"),
        ("change", "Left at 5", "sales-manager"),
        ("delete", "Never left", "sales-manager"),
    ]
    assert boss.get(f"/reports/people/{cy.pk}/events/").status_code == 404
    own = boss_user.person
    page = boss.post(
        f"/reports/people/{own.pk}/events/",
        {"action": "add", "day": "2025-03-03", "kind": "in", "moment": "2025-03-03T09:00", "reason": "x"},
        follow=True,
    ).content.decode()
    assert "your own attendance" in page and not own.attendance_events.exists()


def test_an_employee_without_the_permission_cannot_correct(berlin):
    """An account without attendance.correct_events gets 403 on the corrections page."""
    ada = PersonFactory()
    assert (
        logged_in(UserFactory(username="plain")).get(f"/reports/people/{ada.pk}/events/").status_code == 403
    )
