"""The audit log records who viewed or changed face data and attendance events."""

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from attendance_site.models import AuditEntry
from people.models import FaceImage
from tests.factories import AttendanceEventFactory, PersonFactory, UserFactory
from tests.support.images import plain_jpeg


@pytest.fixture
def photo(db):
    person = PersonFactory(employee_id="E-77", full_name="Ana Lima")
    face = FaceImage(person=person)
    face.image.save("face.jpg", ContentFile(plain_jpeg((40, 40))), save=True)
    return face


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_hr_opening_a_face_photo_is_logged_with_the_person(photo):
    """HR opening a face photo writes one 'view' entry naming HR, the photo and its person."""
    hr = UserFactory(username="hr-audit", is_staff=True, groups=["HR"])
    response = logged_in(hr).get(f"/enrolment/photos/{photo.pk}/")
    assert response.status_code == 200
    entry = AuditEntry.objects.get()
    assert (entry.username, entry.action, entry.what) == ("hr-audit", "view", "face photo")
    assert entry.object_id == str(photo.pk)
    assert entry.person == "E-77 Ana Lima"


@pytest.mark.django_db
def test_a_refused_view_is_not_logged_as_a_view(photo):
    """A manager refused a face photo (403) leaves no 'view' entry: nothing was shown."""
    manager = UserFactory(username="mgr-audit", groups=["Managers"])
    response = logged_in(manager).get(f"/enrolment/photos/{photo.pk}/")
    assert response.status_code in (302, 403)
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_report_export_is_logged(db):
    """A manager downloading a CSV report leaves an 'export' entry with the filters used."""
    manager = UserFactory(username="mgr-export", groups=["Managers"])
    day = timezone.localdate().isoformat()
    response = logged_in(manager).get(f"/reports/day.csv?day={day}")
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="export")
    assert entry.username == "mgr-export"
    assert f"day={day}" in entry.path


@pytest.mark.django_db
def test_admin_change_of_an_event_is_logged(db):
    """HR changing an attendance event in the admin is mirrored into the audit log with the person."""
    hr = UserFactory(username="hr-editor", is_staff=True, groups=["HR"])
    event = AttendanceEventFactory(timestamp=timezone.now() - dt.timedelta(hours=2))
    client = logged_in(hr)
    page = client.get(f"/admin/attendance/attendanceevent/{event.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(_split_datetime(form, "timestamp"))
    data["reason"] = "Badge reader was down"
    data["kind"] = "out"
    response = client.post(f"/admin/attendance/attendanceevent/{event.pk}/change/", data)
    assert response.status_code == 302, (
        getattr(response, "context", None) and response.context["adminform"].form.errors
    )
    actions = set(AuditEntry.objects.filter(username="hr-editor").values_list("action", flat=True))
    assert actions == {"view", "change"}
    change = AuditEntry.objects.get(action="change")
    assert change.what == "attendance event"
    assert change.person.startswith(event.person.employee_id)


def _split_datetime(form, name: str) -> dict:
    value = form[name].value()
    if isinstance(value, list):
        return {f"{name}_0": value[0], f"{name}_1": value[1]}
    local = timezone.localtime(value)
    return {f"{name}_0": local.date().isoformat(), f"{name}_1": local.time().strftime("%H:%M:%S")}


@pytest.mark.django_db
def test_hr_opening_a_face_photo_thumbnail_is_logged_with_the_person(photo):
    """The thumbnail shows the face too: opening it writes a 'view' entry naming the person (issue 13: 8)."""
    hr = UserFactory(username="hr-thumb", is_staff=True, groups=["HR"])
    response = logged_in(hr).get(f"/enrolment/photos/{photo.pk}/thumbnail/")
    assert response.status_code == 200
    entry = AuditEntry.objects.get()
    assert (entry.username, entry.action, entry.what) == ("hr-thumb", "view", "face photo thumbnail")
    assert (entry.object_id, entry.person) == (str(photo.pk), "E-77 Ana Lima")


@pytest.mark.django_db
def test_reading_the_json_report_api_is_logged(db):
    """A read of the report API, through HTTP Basic too, is logged with the user and filters (issue 13: 8)."""
    import base64

    UserFactory(username="mgr-api", groups=["Managers"])
    token = base64.b64encode(b"mgr-api:pw-for-tests").decode()
    day = timezone.localdate().isoformat()
    response = Client().get(f"/api/v1/reports/day/?day={day}", HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 200
    entry = AuditEntry.objects.get()
    assert (entry.username, entry.action, entry.what) == ("mgr-api", "view", "report API: day")
    assert f"day={day}" in entry.path
