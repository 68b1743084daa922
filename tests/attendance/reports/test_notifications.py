"""E-mails: each manager's daily digest (sent once per day, however often the task runs) and the
decision on a request to the employee (sent once). Django's locmem backend stands in for SMTP."""

from __future__ import annotations

import pytest
from django.core import mail

from attendance import notifications, services
from attendance.models import ManagerDigest, ReportAccess
from attendance.tasks import manager_digests_send_task
from tests.attendance.reports.conftest import MONDAY
from tests.factories import UserFactory
from tests.support.reports import local

pytestmark = pytest.mark.django_db


def test_a_digest_is_sent_once_per_manager_and_day(scenario):
    """Mon 3 March 2025 (the scenario): Ada late 6 min, Eve late 10, Fay absent, Cy's exit missing; Ben
    asks for a missed exit. The Sales manager's digest: 1 late, 1 absent, 0 missing exits, 1 request;
    the unlimited manager's: 2 late, 1 absent, 1 missing exit, 1 request. Running the task a second
    time sends nothing; a manager without an e-mail address gets none."""
    sales_user = UserFactory(username="sales-manager", email="sales@example.com", groups=["Managers"])
    ReportAccess.objects.create(user=sales_user).departments.add(scenario.sales)
    UserFactory(username="all-manager", email="all@example.com", groups=["Managers"])
    UserFactory(username="no-address", groups=["Managers"])
    services.correction_request_create(
        person=scenario.people["ben"], kind="out", moment=local(MONDAY, "17:00"), reason="Forgot"
    )

    assert manager_digests_send_task.apply(args=[MONDAY.isoformat()]).get() == 2
    assert manager_digests_send_task.apply(args=[MONDAY.isoformat()]).get() == 0
    assert notifications.manager_digests_send(day=MONDAY) == 0

    assert sorted(m.to[0] for m in mail.outbox) == ["all@example.com", "sales@example.com"]
    digests = {d.recipient: d.summary for d in ManagerDigest.objects.all()}
    assert digests == {
        "sales@example.com": {"late": 1, "absent": 1, "missing_exit": 0, "pending_requests": 1},
        "all@example.com": {"late": 2, "absent": 1, "missing_exit": 1, "pending_requests": 1},
    }
    sales_mail = next(m for m in mail.outbox if m.to == ["sales@example.com"])
    assert (
        sales_mail.subject == "Attendance Mon 03 Mar: 1 late, 1 absent, 0 missing exits, 1 requests waiting"
    )
    assert "Ada Archer (A001), 6 min late" in sales_mail.body and "Fay Fisher (F006)" in sales_mail.body
    assert "Cy Cooper" not in sales_mail.body and "Eve Evans" not in sales_mail.body
    assert "Ben Baker: Missed exit at Mon 03 Mar 2025 17:00 (Forgot)" in sales_mail.body


def test_a_failed_send_records_nothing_and_the_next_run_sends_it(scenario, settings):
    """With a backend that fails, no digest is recorded; once it works the same day's digest goes out."""
    UserFactory(username="all-manager", email="all@example.com", groups=["Managers"])
    settings.EMAIL_BACKEND = "tests.attendance.reports.test_notifications.FailingBackend"
    assert notifications.manager_digests_send(day=MONDAY) == 0
    assert not ManagerDigest.objects.exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications.manager_digests_send(day=MONDAY) == 1
    assert len(mail.outbox) == 1


class FailingBackend:
    """An e-mail backend whose server is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("connection refused")


def test_the_employee_is_told_of_the_decision_once(scenario):
    """Ada (ada@example.com) asks for a missed exit; the manager rejects it with a note; she gets one
    e-mail saying so, however many times the task or the sweep runs."""
    ada = scenario.people["ada"]
    ada.email = "ada@example.com"
    ada.save()
    manager = UserFactory(username="manager", groups=["Managers"])
    item = services.correction_request_create(
        person=ada, kind="in", moment=local(MONDAY, "09:00"), reason="x"
    )
    assert notifications.request_decision_mail_send(request_id=item.pk) is False  # still pending
    services.correction_request_decide(request=item, approve=False, by=manager, note="You came at 09:06")
    assert notifications.request_decision_mail_send(request_id=item.pk) is True
    assert notifications.request_decision_mail_send(request_id=item.pk) is False
    assert notifications.request_decision_mails_send() == 0
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject == "Your request was rejected: Missed entry at Mon 03 Mar 2025 09:00"
    assert "Their note: You came at 09:06" in message.body
