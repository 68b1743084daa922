"""The PIN fallback: HR sets a hashed PIN; a kiosk punches by employee id and PIN, 3 wrong PINs lock it."""

import datetime as dt

import pytest
from django.contrib.auth.hashers import check_password
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from attendance.checkin import services
from attendance.models import AttendanceEvent, CheckinAttempt, KioskPin
from tests.factories import KioskFactory, PersonFactory, UserFactory
from tests.support.images import plain_jpeg

pytestmark = pytest.mark.django_db
URL = "/api/v1/checkins/pin/"


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()
    yield
    cache.clear()


def punch(client, kiosk, employee_id, pin, **fields):
    payload = {
        "frame": SimpleUploadedFile("frame.jpg", plain_jpeg((320, 240)), "image/jpeg"),
        "employee_id": employee_id,
        "pin": pin,
        **fields,
    }
    return client.post(URL, payload, HTTP_AUTHORIZATION=f"Kiosk {kiosk.token}")


def test_a_pin_is_stored_hashed_and_must_be_4_to_8_digits():
    """The stored value is a hash that checks the PIN; letters or 3 digits are refused with the rule."""
    ana = PersonFactory()
    row = services.kiosk_pin_set(person=ana, pin="4711")
    assert "4711" not in row.pin_hash and check_password("4711", row.pin_hash)
    for bad in ("123", "12a4", "123456789"):
        with pytest.raises(ValueError, match="4 to 8 digits"):
            services.kiosk_pin_set(person=ana, pin=bad)


def test_a_right_pin_records_an_event_marked_pin_with_its_frame(client, media_root):
    """Employee id + PIN at a kiosk: an entry whose source is "pin", the frame kept as evidence."""
    kiosk, ana = KioskFactory(), PersonFactory(full_name="Ana Lima", employee_id="E-42")
    services.kiosk_pin_set(person=ana, pin="4711")
    response = punch(client, kiosk, "E-42", "4711")
    assert response.status_code == 201
    body = response.json()
    assert body["outcome"] == "checked_in" and body["first_name"] == "Ana" and body["employee_id"] == "E-42"
    event = AttendanceEvent.objects.get()
    assert (event.person, event.kind, event.source, event.kiosk) == (ana, "in", "pin", kiosk)
    attempt = CheckinAttempt.objects.get()
    assert attempt.by_pin and attempt.frame and attempt.frame.read() == plain_jpeg((320, 240))


def test_three_wrong_pins_lock_the_pin_even_against_the_right_one(client, settings, media_root):
    """Two wrong PINs say "not accepted"; the third locks (423) and then the right PIN is refused too."""
    settings.KIOSK_PIN_MAX_FAILURES, settings.KIOSK_PIN_LOCK_MINUTES = 3, 15
    kiosk, ana = KioskFactory(), PersonFactory(employee_id="E-42")
    services.kiosk_pin_set(person=ana, pin="4711")
    for _ in range(2):
        wrong = punch(client, kiosk, "E-42", "0000")
        assert wrong.status_code == 403 and "not accepted" in wrong.json()["detail"]
    locked = punch(client, kiosk, "E-42", "0000")
    assert locked.status_code == 423 and "locked until" in locked.json()["detail"]
    assert punch(client, kiosk, "E-42", "4711").status_code == 423
    assert not AttendanceEvent.objects.exists()
    row = KioskPin.objects.get()
    assert dt.timedelta(minutes=14) < row.locked_until - timezone.now() <= dt.timedelta(minutes=15)
    # Once the lock is over the right PIN works again, and the count starts afresh.
    KioskPin.objects.update(locked_until=timezone.now() - dt.timedelta(seconds=1))
    assert punch(client, kiosk, "E-42", "4711").status_code == 201


def test_a_right_pin_resets_the_count_of_wrong_ones(client, media_root):
    """Wrong, right, wrong, wrong: no lock, since the wrong ones were not three in a row."""
    kiosk, ana = KioskFactory(), PersonFactory(employee_id="E-42")
    services.kiosk_pin_set(person=ana, pin="4711")
    assert punch(client, kiosk, "E-42", "1111").status_code == 403
    assert punch(client, kiosk, "E-42", "4711").status_code == 201
    assert [punch(client, kiosk, "E-42", "1111").status_code for _ in range(2)] == [403, 403]
    assert KioskPin.objects.get().locked_until is None


def test_unknown_ids_people_without_a_pin_and_inactive_people_get_the_same_answer(client):
    """The keypad does not tell who exists or has a PIN: the same 403 and sentence for all three."""
    kiosk = KioskFactory()
    PersonFactory(employee_id="NOPIN")
    gone = PersonFactory(employee_id="GONE", is_active=False)
    services.kiosk_pin_set(person=gone, pin="4711")
    answers = {punch(client, kiosk, eid, "4711").json()["detail"] for eid in ("NOBODY", "NOPIN", "GONE")}
    assert answers == {"Employee id or PIN not accepted: please try again or see HR"}
    assert not CheckinAttempt.objects.exists()


def test_a_pin_punch_with_a_chosen_kind_records_it(client, media_root):
    """At an explicit kiosk the keypad sends the chosen kind: a break start is recorded as such."""
    kiosk, ana = KioskFactory(decision="explicit"), PersonFactory(employee_id="E-42")
    services.kiosk_pin_set(person=ana, pin="4711")
    assert punch(client, kiosk, "E-42", "4711", kind="break_start").json()["outcome"] == "break_started"


def test_hr_sets_a_pin_in_the_admin(client):
    """The admin form takes the PIN and stores only its hash, with who set it."""
    hr = UserFactory(groups=["HR"], is_staff=True, is_superuser=True)
    client.force_login(hr)
    ana = PersonFactory()
    response = client.post("/admin/attendance/kioskpin/add/", {"person": ana.pk, "pin": "24680"})
    assert response.status_code == 302, response.content.decode()[:2000]
    row = KioskPin.objects.get(person=ana)
    assert check_password("24680", row.pin_hash) and row.set_by == hr
    refused = client.post("/admin/attendance/kioskpin/add/", {"person": PersonFactory().pk, "pin": "12ab"})
    assert "Use digits only" in refused.content.decode()


def test_hr_finds_pin_punches_in_the_admin(client, media_root):
    """The events list filters by source "PIN" and the attempts list by "by PIN"."""
    kiosk, ana, bo = KioskFactory(), PersonFactory(employee_id="E-42"), PersonFactory()
    services.kiosk_pin_set(person=ana, pin="4711")
    assert punch(client, kiosk, "E-42", "4711").status_code == 201
    CheckinAttempt.objects.create(kiosk=kiosk, person=bo)
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    events = client.get("/admin/attendance/attendanceevent/?source__exact=pin")
    assert events.status_code == 200 and events.context["cl"].result_count == 1
    attempts = client.get("/admin/attendance/checkinattempt/?by_pin__exact=1")
    assert attempts.status_code == 200 and attempts.context["cl"].result_count == 1
    assert CheckinAttempt.objects.count() == 2
    assert "by PIN" in [spec.title for spec in attempts.context["cl"].filter_specs]
