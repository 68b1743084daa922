"""Explicit kiosks: after the K-of-M recognition the person chooses what to record, once, in time."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from attendance.checkin import services
from attendance.models import AttendanceEvent, CheckinAttempt
from tests.factories import CheckinAttemptFactory, KioskFactory, PersonFactory
from tests.fakes import fake_seen

Outcome = CheckinAttempt.Outcome
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()
    yield
    cache.clear()


def frame_at(kiosk, recognition, **kwargs) -> CheckinAttempt:
    attempt = CheckinAttemptFactory(kiosk=kiosk, **kwargs)
    return services.checkin_attempt_resolve(attempt_id=attempt.id, recognition=recognition)


def recognised(kiosk, person) -> CheckinAttempt:
    """Two agreeing frames of `person` at `kiosk`: the second is the confirmed recognition."""
    frame_at(kiosk, fake_seen(person))
    return frame_at(kiosk, fake_seen(person))


def choose(client, kiosk, attempt, kind):
    return client.post(
        f"/api/v1/checkins/{attempt.id}/choice/",
        {"kind": kind},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Kiosk {kiosk.token}",
    )


def test_explicit_kiosk_asks_the_choice_and_records_nothing_yet():
    """A confirmed recognition at an explicit kiosk waits for the choice, showing name and employee id."""
    kiosk, ana = KioskFactory(decision="explicit"), PersonFactory(full_name="Ana Lima", employee_id="E-042")
    attempt = recognised(kiosk, ana)
    assert attempt.outcome == Outcome.CHOOSING and attempt.person == ana
    assert attempt.message == "Ana · E-042"
    assert not AttendanceEvent.objects.exists()


def test_the_kiosk_reads_the_choices_with_the_likely_one(client):
    """The attempt's answer lists the four choices, preselects "in" first, then "out" after an entry."""
    kiosk, ana = KioskFactory(decision="explicit", choice_confirm_seconds=3), PersonFactory(employee_id="E-7")
    attempt = recognised(kiosk, ana)
    auth = {"HTTP_AUTHORIZATION": f"Kiosk {kiosk.token}"}
    body = client.get(f"/api/v1/checkins/{attempt.id}/", **auth).json()
    assert body["outcome"] == "choosing" and body["employee_id"] == "E-7"
    choice = body["choice"]
    assert choice["kinds"] == ["in", "out", "break_start", "break_end"]
    assert choice["likely"] == "in" and choice["confirm_after_ms"] == 3000
    assert choice["confirm_url"] == f"/api/v1/checkins/{attempt.id}/choice/"
    assert choose(client, kiosk, attempt, "in").status_code == 200
    AttendanceEvent.objects.update(timestamp=timezone.now() - dt.timedelta(hours=1))
    later = recognised(kiosk, ana)
    assert client.get(f"/api/v1/checkins/{later.id}/", **auth).json()["choice"]["likely"] == "out"


def test_a_choice_records_its_event_once(client):
    """Choosing "in" records an entry timed at the recognition; a second choice is refused (409)."""
    kiosk, ana = KioskFactory(decision="explicit"), PersonFactory(full_name="Ana Lima", employee_id="E-1")
    attempt = recognised(kiosk, ana)
    response = choose(client, kiosk, attempt, "in")
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "checked_in" and body["first_name"] == "Ana" and body["employee_id"] == "E-1"
    assert "Ana. Checked in at" in body["message"] and body["choice"] is None
    event = AttendanceEvent.objects.get()
    assert (event.kind, event.attempt_id, event.timestamp) == ("in", attempt.id, attempt.created_at)
    again = choose(client, kiosk, attempt, "out")
    assert again.status_code == 409 and "already" in again.json()["detail"]
    assert AttendanceEvent.objects.count() == 1


def test_break_choices_record_break_events(client):
    """Start break, then end break, each chosen after its own recognition."""
    kiosk, ana = KioskFactory(decision="explicit"), PersonFactory(full_name="Ana Lima")
    assert choose(client, kiosk, recognised(kiosk, ana), "break_start").json()["outcome"] == "break_started"
    CheckinAttempt.objects.update(created_at=timezone.now() - dt.timedelta(seconds=30))
    body = choose(client, kiosk, recognised(kiosk, ana), "break_end").json()
    assert body["outcome"] == "break_ended" and body["message"].startswith("Welcome back, Ana.")
    assert list(AttendanceEvent.objects.order_by("timestamp").values_list("kind", flat=True)) == [
        "break_start",
        "break_end",
    ]


def test_choosing_the_event_just_recorded_says_already(client):
    """Checking in twice within the site's cooldown records one entry; the second says "already"."""
    kiosk, ana = KioskFactory(decision="explicit"), PersonFactory(full_name="Ana Lima")
    choose(client, kiosk, recognised(kiosk, ana), "in")
    CheckinAttempt.objects.update(created_at=timezone.now() - dt.timedelta(seconds=30))
    body = choose(client, kiosk, recognised(kiosk, ana), "in").json()
    assert body["outcome"] == "already" and "already checked in at" in body["message"]
    assert AttendanceEvent.objects.count() == 1


def test_a_late_choice_is_refused(client, settings):
    """A choice sent after CHECKIN_CHOICE_MAX_SECONDS gets 410 and records nothing."""
    settings.CHECKIN_CHOICE_MAX_SECONDS = 30
    kiosk, ana = KioskFactory(decision="explicit"), PersonFactory()
    attempt = recognised(kiosk, ana)
    CheckinAttempt.objects.filter(pk=attempt.pk).update(finished_at=timezone.now() - dt.timedelta(seconds=31))
    response = choose(client, kiosk, attempt, "in")
    assert response.status_code == 410 and "Too late" in response.json()["detail"]
    assert not AttendanceEvent.objects.exists()


def test_only_the_kiosks_own_recognised_attempt_can_be_chosen(client):
    """Another kiosk gets 404; an attempt not waiting for a choice gets 409; a bad kind gets 400."""
    kiosk, other, ana = KioskFactory(decision="explicit"), KioskFactory(), PersonFactory()
    attempt = recognised(kiosk, ana)
    assert choose(client, other, attempt, "in").status_code == 404
    assert choose(client, kiosk, attempt, "lunch").status_code == 400
    third = KioskFactory(decision="explicit")
    confirming = frame_at(third, fake_seen(ana))
    assert confirming.outcome == Outcome.CONFIRMING
    assert choose(client, third, confirming, "in").status_code == 409
    assert not AttendanceEvent.objects.exists()


def test_a_button_pressed_before_recognition_records_at_once_on_an_explicit_kiosk():
    """The person already chose with the Check out button: no second question."""
    kiosk, ana = KioskFactory(decision="explicit"), PersonFactory()
    frame_at(kiosk, fake_seen(ana), requested_kind="out")
    assert frame_at(kiosk, fake_seen(ana), requested_kind="out").outcome == Outcome.CHECKED_OUT


def test_automatic_kiosks_never_ask():
    """The default decision is automatic: a recognition records an entry directly."""
    kiosk, ana = KioskFactory(), PersonFactory()
    assert recognised(kiosk, ana).outcome == Outcome.CHECKED_IN


def test_a_recorded_attempt_gives_the_time_in_the_sites_zone(client, settings):
    """The kiosk shows the event's time from the server, in the site's zone (not the browser's)."""
    settings.TIME_ZONE = "Asia/Tokyo"
    kiosk, ana = KioskFactory(), PersonFactory(employee_id="E-9")
    attempt = recognised(kiosk, ana)
    body = client.get(f"/api/v1/checkins/{attempt.id}/", HTTP_AUTHORIZATION=f"Kiosk {kiosk.token}").json()
    event = AttendanceEvent.objects.get()
    tokyo = event.timestamp.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert body["event_local_time"] == f"{tokyo:%H:%M}" and body["employee_id"] == "E-9"
