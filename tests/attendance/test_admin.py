"""The attendance admin: revoking kiosks, HR's corrections to events with who and why, attempts."""

import datetime as dt

import pytest

from attendance.models import AttendanceEvent, AttendanceEventLog
from tests.factories import AttendanceEventFactory, KioskFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_revoke_action_disables_the_token(client):
    """HR revokes a kiosk from the admin list; its token is refused afterwards."""
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    kiosk = KioskFactory()
    response = client.post(
        "/admin/attendance/kiosk/", {"action": "revoke", "_selected_action": [kiosk.pk]}, follow=True
    )
    assert response.status_code == 200
    kiosk.refresh_from_db()
    assert not kiosk.is_active


def test_a_revoked_kiosk_cannot_be_ticked_active_again(client):
    """Revocation is final: the change form shows "active" read-only, so the old token never works again."""
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    kiosk = KioskFactory(is_active=False, name="Front door")
    form = {
        "name": "Front door", "location": "", "is_active": "on", "liveness_mode": "off",
        "decision": "automatic", "min_minutes_between_in_and_out": 30, "choice_confirm_seconds": 4,
    }  # fmt: skip
    response = client.post(f"/admin/attendance/kiosk/{kiosk.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    kiosk.refresh_from_db()
    assert not kiosk.is_active
    page = client.get(f"/admin/attendance/kiosk/{kiosk.pk}/change/").content.decode()
    assert 'name="is_active"' not in page


def test_hr_adds_an_event_in_the_admin_with_who_and_why(client):
    """An event HR adds is marked manual, carries its author and reason, and is logged."""
    hr = UserFactory(groups=["HR"], is_staff=True)
    client.force_login(hr)
    ana = PersonFactory()
    form = {"person": ana.pk, "kind": "out", "timestamp_0": "2025-06-02", "timestamp_1": "17:30:00"}
    refused = client.post("/admin/attendance/attendanceevent/add/", form)
    assert refused.status_code == 200 and not AttendanceEvent.objects.exists()  # a reason is required
    response = client.post(
        "/admin/attendance/attendanceevent/add/", {**form, "reason": "Forgot to check out"}
    )
    assert response.status_code == 302
    event = AttendanceEvent.objects.get()
    assert (event.source, event.created_by, event.reason, event.workday) == (
        "manual",
        hr,
        "Forgot to check out",
        dt.date(2025, 6, 2),
    )
    log = AttendanceEventLog.objects.get()
    assert (log.action, log.by, log.event_pk, log.after["kind"]) == ("add", hr, event.pk, "out")


def test_hr_fixes_an_event_and_the_old_values_are_kept(client):
    """Changing an event's time keeps the values before and after, who changed it and why."""
    hr = UserFactory(groups=["HR"], is_staff=True)
    client.force_login(hr)
    event = AttendanceEventFactory(kind="in", timestamp=dt.datetime(2025, 6, 2, 9, 40, tzinfo=dt.UTC))
    form = {
        "person": event.person_id,
        "kind": "in",
        "timestamp_0": "2025-06-02",
        "timestamp_1": "08:55:00",
        "reason": "Camera was down",
    }
    response = client.post(f"/admin/attendance/attendanceevent/{event.pk}/change/", form)
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.timestamp == dt.datetime(2025, 6, 2, 8, 55, tzinfo=dt.UTC)
    assert event.updated_by == hr and event.reason == "Camera was down"
    log = AttendanceEventLog.objects.get()
    assert log.before["timestamp"].startswith("2025-06-02T09:40") and log.after["timestamp"].startswith(
        "2025-06-02T08:55"
    )


def test_deleting_an_event_needs_a_reason_and_leaves_a_trace(client):
    """Delete without a reason is refused; with one, the event goes and the log keeps who, when, why."""
    hr = UserFactory(groups=["HR"], is_staff=True)
    client.force_login(hr)
    event = AttendanceEventFactory()
    url = f"/admin/attendance/attendanceevent/{event.pk}/delete/"
    refused = client.post(url, {"post": "yes"})
    assert refused.status_code == 200 and b"Say why" in refused.content
    assert AttendanceEvent.objects.filter(pk=event.pk).exists()
    response = client.post(url, {"post": "yes", "reason": "Duplicate of a manual entry"})
    assert response.status_code == 302
    assert not AttendanceEvent.objects.filter(pk=event.pk).exists()
    log = AttendanceEventLog.objects.get()
    assert (log.action, log.by, log.reason, log.event_pk, log.person_id) == (
        "delete",
        hr,
        "Duplicate of a manual entry",
        event.pk,
        event.person_id,
    )
    assert log.before["kind"] == event.kind


def test_checkin_attempt_admin_is_read_only_and_hides_frames(client):
    """HR can list attempts but not change them, and no frame field is shown."""
    from tests.factories import CheckinAttemptFactory

    attempt = CheckinAttemptFactory()
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    assert client.get("/admin/attendance/checkinattempt/").status_code == 200
    page = client.get(f"/admin/attendance/checkinattempt/{attempt.pk}/change/")
    assert page.status_code == 200
    assert b'name="frame"' not in page.content
    assert (
        client.post(f"/admin/attendance/checkinattempt/{attempt.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )


def test_checkin_attempt_list_rounds_the_figures_and_shows_seconds(client):
    """The attempts list shows 0.53, not 0.5297415256500244, and the time to the second."""
    from django.utils import timezone

    from attendance.models import CheckinAttempt
    from tests.factories import CheckinAttemptFactory

    attempt = CheckinAttemptFactory()
    CheckinAttempt.objects.filter(pk=attempt.pk).update(distance=0.5297415256500244, confidence=0.912345)
    attempt.refresh_from_db()
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    html = client.get("/admin/attendance/checkinattempt/").content.decode()
    assert "0.53" in html and "0.91" in html and "0.5297" not in html
    assert timezone.localtime(attempt.created_at).strftime("%H:%M:%S") in html


@pytest.mark.parametrize("model", ["kiosk", "attendanceevent", "attendanceeventlog", "checkinattempt"])
def test_hr_can_open_the_attendance_admin_lists(client, model):
    """HR staff can open each attendance admin list, and event rows link to the person view."""
    event = AttendanceEventFactory()
    KioskFactory()
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    response = client.get(f"/admin/attendance/{model}/")
    assert response.status_code == 200
    if model == "attendanceevent":
        assert f"/attendance/people/{event.person_id}/" in response.content.decode()


def test_hr_cannot_add_or_move_an_event_into_the_future(client):
    """An entry or exit HR types in the future is refused with a message, in the admin and the service."""
    import datetime as _dt

    from django.utils import timezone

    from attendance.services import attendance_event_add

    hr = UserFactory(groups=["HR"], is_staff=True)
    client.force_login(hr)
    ana = PersonFactory()
    tomorrow = timezone.localtime() + _dt.timedelta(days=1)
    form = {
        "person": ana.pk, "kind": "out", "timestamp_0": tomorrow.date().isoformat(),
        "timestamp_1": "17:30:00", "reason": "Forgot to check out",
    }  # fmt: skip
    response = client.post("/admin/attendance/attendanceevent/add/", form)
    assert response.status_code == 200 and not AttendanceEvent.objects.exists()
    assert "in the future" in response.content.decode()
    with pytest.raises(ValueError, match="in the future"):
        attendance_event_add(person=ana, kind="out", timestamp=tomorrow, reason="x", by=hr)


def test_the_admin_refuses_changes_inside_a_locked_pay_period(client):
    """With June 2025 approved and locked, HR's change, add and delete of a 2 June event in the admin
    are refused with a message (no 500), and the event keeps its time; nothing is logged."""
    from attendance.models import PayPeriod

    hr = UserFactory(groups=["HR"], is_staff=True)
    client.force_login(hr)
    event = AttendanceEventFactory(kind="in", timestamp=dt.datetime(2025, 6, 2, 9, 40, tzinfo=dt.UTC))
    PayPeriod.objects.create(start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 30), status="locked")
    form = {
        "person": event.person_id, "kind": "in", "timestamp_0": "2025-06-02", "timestamp_1": "08:55:00",
        "reason": "Camera was down",
    }  # fmt: skip
    changed = client.post(f"/admin/attendance/attendanceevent/{event.pk}/change/", form)
    assert changed.status_code == 200 and "approved and locked" in changed.content.decode()
    added = client.post("/admin/attendance/attendanceevent/add/", form)
    assert added.status_code == 200 and "approved and locked" in added.content.decode()
    url = f"/admin/attendance/attendanceevent/{event.pk}/delete/"
    deleted = client.post(url, {"post": "yes", "reason": "Duplicate"})
    assert deleted.status_code == 200 and "approved and locked" in deleted.content.decode()
    event.refresh_from_db()
    assert event.timestamp == dt.datetime(2025, 6, 2, 9, 40, tzinfo=dt.UTC)
    assert AttendanceEvent.objects.count() == 1 and not AttendanceEventLog.objects.exists()
