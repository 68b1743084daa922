"""Pay periods: approved and locked before payroll, no hand-made change inside one until it is reopened
(with a reason), whoever tries: a manager on the site, HR in the admin's service, an approved request."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from attendance import services
from attendance.models import AttendanceEvent, AttendanceEventLog, PayPeriod, PayPeriodLog
from people.models import CorrectionRequest
from tests.attendance.reports.conftest import MONDAY
from tests.factories import DepartmentFactory, PersonFactory, UserFactory
from tests.support.reports import local, table_rows, workday_events

pytestmark = pytest.mark.django_db

MARCH = (dt.date(2025, 3, 1), dt.date(2025, 3, 31))


def timesheet_day(client: Client, person, day: dt.date) -> list[str]:
    page = client.get(
        "/reports/timesheet/",
        {"person": person.employee_id, "start": day.isoformat(), "end": day.isoformat()},
    ).content.decode()
    return table_rows(page)[1]


def test_a_locked_period_refuses_every_change_until_it_is_reopened_with_a_reason(berlin):
    """Ada worked 09:06-17:30 on Mon 3 March 2025 (8:24). HR locks March; the manager's move of her
    exit to 18:00 on the site is refused with a message, as are HR's add, change and delete through
    the services and a new request for a day in March: her day stays 8:24. Reopened with a reason
    (logged), the move goes through: 8:54."""
    sales = DepartmentFactory(name="Sales")
    ada = PersonFactory(full_name="Ada Archer", employee_id="A001", department=sales)
    entry, exit_ = workday_events(ada, MONDAY, ("09:06", "17:30"))
    hr_user = UserFactory(username="hr", groups=["HR"])
    hr = Client()
    hr.force_login(hr_user)
    manager = Client()
    manager.force_login(UserFactory(username="manager", groups=["Managers"]))

    assert hr.post("/reports/pay-periods/", {"start": "2025-03-01", "end": "2025-03-31"}).status_code == 302
    period = PayPeriod.objects.get()
    assert hr.post(f"/reports/pay-periods/{period.pk}/", {"action": "lock"}).status_code == 302
    period.refresh_from_db()
    assert period.locked and period.locked_by == hr_user

    page = manager.post(
        f"/reports/people/{ada.pk}/events/",
        {
            "action": "move",
            "day": "2025-03-03",
            "event": exit_.pk,
            "moment": "2025-03-03T18:00",
            "reason": "late",
        },
        follow=True,
    ).content.decode()
    assert "approved and locked" in page and "reopen it" in page
    with pytest.raises(services.PeriodLocked):
        services.attendance_event_add(
            person=ada, kind="in", timestamp=local(dt.date(2025, 3, 4), "09:00"), reason="x", by=hr_user
        )
    with pytest.raises(services.PeriodLocked):
        services.attendance_event_change(
            event=entry, person=ada, kind="in", timestamp=local(MONDAY, "09:00"), reason="x", by=hr_user
        )
    with pytest.raises(services.PeriodLocked):
        services.attendance_event_delete(event=entry, reason="x", by=hr_user)
    # Moving an event from an open day into the locked period is refused too.
    april = AttendanceEvent.objects.create(
        person=ada, kind="in", timestamp=local(dt.date(2025, 4, 1), "09:00"), workday=dt.date(2025, 4, 1)
    )
    with pytest.raises(services.PeriodLocked):
        services.attendance_event_change(
            event=april, person=ada, kind="in", timestamp=local(MONDAY, "08:00"), reason="x", by=hr_user
        )
    with pytest.raises(services.PeriodLocked):
        services.correction_request_create(
            person=ada, kind="out", moment=local(dt.date(2025, 3, 5), "17:00"), reason="forgot"
        )
    assert timesheet_day(hr, ada, MONDAY)[5] == "8:24"
    assert AttendanceEventLog.objects.count() == 0

    assert (
        "reason is required"
        in hr.post(
            f"/reports/pay-periods/{period.pk}/", {"action": "reopen", "reason": " "}, follow=True
        ).content.decode()
    )
    hr.post(f"/reports/pay-periods/{period.pk}/", {"action": "reopen", "reason": "Ada's overtime was missed"})
    period.refresh_from_db()
    assert not period.locked
    assert [(e.action, e.reason, e.by) for e in PayPeriodLog.objects.order_by("pk")] == [
        ("lock", "", hr_user),
        ("reopen", "Ada's overtime was missed", hr_user),
    ]
    manager.post(
        f"/reports/people/{ada.pk}/events/",
        {
            "action": "move",
            "day": "2025-03-03",
            "event": exit_.pk,
            "moment": "2025-03-03T18:00",
            "reason": "late",
        },
    )
    assert timesheet_day(hr, ada, MONDAY)[5] == "8:54"
    assert "Reopened by hr" in hr.get("/reports/pay-periods/").content.decode()


def test_a_period_is_locked_only_once_it_is_over_and_no_request_about_it_waits(berlin):
    """Locking a period that has not ended is refused (kiosks still record in it: their events are
    never refused); so is one with a pending request about its days, until that is decided."""
    hr_user = UserFactory(username="hr", groups=["HR"])
    ada = PersonFactory(full_name="Ada Archer", employee_id="A001")
    this_month = services.pay_period_create(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))
    with pytest.raises(ValueError, match="not over yet"):
        services.pay_period_lock(period=this_month, by=hr_user, today=dt.date(2025, 3, 31))
    item = services.correction_request_create(
        person=ada, kind="out", moment=local(MONDAY, "17:30"), reason="Forgot to check out"
    )
    with pytest.raises(ValueError, match="1 request"):
        services.pay_period_lock(period=this_month, by=hr_user, today=dt.date(2025, 4, 1))
    services.correction_request_decide(request=item, approve=False, by=hr_user)
    assert services.pay_period_lock(period=this_month, by=hr_user, today=dt.date(2025, 4, 1)).locked
    with pytest.raises(ValueError, match="overlaps"):
        services.pay_period_create(start=dt.date(2025, 3, 15), end=dt.date(2025, 4, 14))
    with pytest.raises(ValueError, match="ends before"):
        services.pay_period_create(start=dt.date(2025, 5, 2), end=dt.date(2025, 5, 1))


def test_managers_see_pay_periods_but_only_those_allowed_lock_them(berlin):
    """A manager reads the Pay periods page but gets 403 locking; HR locks."""
    period = services.pay_period_create(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))
    manager = Client()
    manager.force_login(UserFactory(username="manager", groups=["Managers"]))
    assert manager.get("/reports/pay-periods/").status_code == 200
    assert manager.post(f"/reports/pay-periods/{period.pk}/", {"action": "lock"}).status_code == 403
    period.refresh_from_db()
    assert not period.locked
    assert not CorrectionRequest.objects.exists()
