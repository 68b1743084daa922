"""HR's page of one person's attendance history."""

import pytest

from tests.factories import AttendanceEventFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_person_view_shows_details_and_history_to_hr_only(client):
    """HR sees a person's details and events by workday; a manager gets 403; anonymous must log in."""
    ana = PersonFactory(full_name="Ana Lima", employee_id="E-77")
    AttendanceEventFactory(person=ana, kind="in")
    url = f"/attendance/people/{ana.pk}/"
    assert client.get(url).status_code == 302
    client.force_login(UserFactory(groups=["Managers"]))
    assert client.get(url).status_code == 403
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    html = client.get(url).content.decode()
    assert "Ana Lima" in html and "E-77" in html and "Entry" in html


@pytest.mark.parametrize("days", ["abc", "0", "-5", "100000", "1.5"])
def test_a_bad_number_of_days_is_a_400_that_says_what_is_allowed(client, days):
    """?days= that is not a whole number of days in range is refused with a message, not a 500."""
    ana = PersonFactory()
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    response = client.get(f"/attendance/people/{ana.pk}/", {"days": days})
    assert response.status_code == 400
    assert "days must be a whole number from 1 to" in response.content.decode()
    assert client.get(f"/attendance/people/{ana.pk}/", {"days": "30"}).status_code == 200


def test_person_page_counts_accepted_photos_and_says_still_in_after_a_later_entry(client):
    """Rejected photos are not counted; a day with out then in again shows "still in", not the old exit."""
    import datetime as dt

    from django.utils import timezone

    from people.models import FaceImage

    ana = PersonFactory(full_name="Ana Lima")
    for status in ("accepted", "accepted", "rejected"):
        FaceImage.objects.create(person=ana, image=f"faces/{status}.jpg", status=status)
    morning = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0)
    for kind, hours in (("in", 0), ("out", 3), ("in", 4)):
        AttendanceEventFactory(person=ana, kind=kind, timestamp=morning + dt.timedelta(hours=hours))
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    html = client.get(f"/attendance/people/{ana.pk}/").content.decode()
    assert "2 accepted" in html
    assert "still in" in html
    assert "<main" in html  # the site's page, not a bare one


def test_a_kept_check_in_frame_is_shown_to_hr_only_and_audited(client, settings, tmp_path):
    """HR opens a PIN punch's kept frame (private, no-store, audited); a manager gets 403."""
    from django.core.files.base import ContentFile

    from attendance_site.models import AuditEntry
    from tests.factories import CheckinAttemptFactory

    settings.MEDIA_ROOT = tmp_path
    attempt = CheckinAttemptFactory(by_pin=True)
    attempt.frame.save("evidence.jpg", ContentFile(b"\xff\xd8 jpeg bytes"), save=True)
    url = f"/attendance/attempts/{attempt.pk}/frame/"
    client.force_login(UserFactory(groups=["Managers"]))
    assert client.get(url).status_code == 403
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    response = client.get(url)
    assert response.status_code == 200 and response.content == b"\xff\xd8 jpeg bytes"
    assert response["Cache-Control"] == "private, no-store"
    assert AuditEntry.objects.filter(what="check-in frame", object_id=str(attempt.pk)).exists()
    admin_list = client.get("/admin/attendance/checkinattempt/").content.decode()
    assert url in admin_list
