"""The check-in services with a fake recogniser: agreement, cooldown, kiosks, expiry, retention."""

import datetime as dt
import threading

import pytest
from django.db import close_old_connections
from django.utils import timezone

from attendance.checkin import services
from attendance.models import AttendanceEvent, CheckinAttempt
from tests.factories import CheckinAttemptFactory, KioskFactory, PersonFactory
from tests.fakes import FAKE_NO_FACE, FAKE_STRANGER, fake_seen
from tests.support.images import plain_jpeg

Outcome = CheckinAttempt.Outcome
pytestmark = pytest.mark.django_db


def frame_at(kiosk, recognition, **kwargs) -> CheckinAttempt:
    """Post a frame at `kiosk` and resolve it with the fake recogniser's answer."""
    attempt = CheckinAttemptFactory(kiosk=kiosk, **kwargs)
    return services.checkin_attempt_resolve(attempt_id=attempt.id, recognition=recognition)


def test_two_agreeing_frames_record_an_entry():
    """The first recognised frame waits for agreement; the second records an entry."""
    kiosk, ana = KioskFactory(), PersonFactory(full_name="Ana Lima")
    first = frame_at(kiosk, fake_seen(ana))
    assert first.outcome == Outcome.CONFIRMING
    assert not AttendanceEvent.objects.exists()
    second = frame_at(kiosk, fake_seen(ana))
    assert second.outcome == Outcome.CHECKED_IN
    event = AttendanceEvent.objects.get()
    assert (event.person, event.kind, event.kiosk, event.attempt) == (ana, "in", kiosk, second)
    assert event.timestamp == second.created_at
    assert "Ana. Checked in at" in second.message
    assert second.state == CheckinAttempt.State.DONE and second.latency_ms >= 0


def test_frames_of_two_kiosks_do_not_add_up():
    """One sighting at each of two kiosks is not agreement: nothing is recorded."""
    ana = PersonFactory()
    assert frame_at(KioskFactory(), fake_seen(ana)).outcome == Outcome.CONFIRMING
    assert frame_at(KioskFactory(), fake_seen(ana)).outcome == Outcome.CONFIRMING
    assert not AttendanceEvent.objects.exists()


def test_other_people_in_between_break_agreement():
    """Two sightings of Ana separated by two of Bo in the last three frames do not confirm Ana."""
    kiosk, ana, bo = KioskFactory(), PersonFactory(), PersonFactory()
    frame_at(kiosk, fake_seen(ana))
    frame_at(kiosk, fake_seen(bo))
    assert frame_at(kiosk, fake_seen(bo)).outcome == Outcome.CHECKED_IN
    assert frame_at(kiosk, fake_seen(ana)).outcome == Outcome.CONFIRMING
    assert list(AttendanceEvent.objects.values_list("person", flat=True)) == [bo.pk]


def test_recognition_within_cooldown_says_already_checked_in_at_another_kiosk():
    """After an entry at one kiosk, the same person at another kiosk within the cooldown records nothing."""
    ana = PersonFactory(full_name="Ana Lima")
    door, side = KioskFactory(), KioskFactory()
    frame_at(door, fake_seen(ana))
    frame_at(door, fake_seen(ana))
    frame_at(side, fake_seen(ana))
    again = frame_at(side, fake_seen(ana))
    assert again.outcome == Outcome.ALREADY
    assert "already checked in" in again.message
    assert AttendanceEvent.objects.count() == 1


def test_after_the_cooldown_the_next_event_is_an_exit():
    """Once the kiosk's minimum time (30 min by default) has passed, the next recognition is an exit."""
    kiosk, ana = KioskFactory(), PersonFactory(full_name="Ana Lima")
    frame_at(kiosk, fake_seen(ana))
    frame_at(kiosk, fake_seen(ana))
    half_an_hour_ago = timezone.now() - dt.timedelta(minutes=31)
    AttendanceEvent.objects.update(timestamp=half_an_hour_ago)
    CheckinAttempt.objects.update(created_at=half_an_hour_ago)
    assert frame_at(kiosk, fake_seen(ana)).outcome == Outcome.CONFIRMING
    out = frame_at(kiosk, fake_seen(ana))
    assert out.outcome == Outcome.CHECKED_OUT
    assert out.message.startswith("Goodbye, Ana. Checked out at")
    assert list(AttendanceEvent.objects.order_by("timestamp").values_list("kind", flat=True)) == ["in", "out"]


def _entry_minutes_ago(kiosk, person, minutes: float) -> None:
    """Check `person` in at `kiosk` and move that entry (and its frames) `minutes` back in time."""
    frame_at(kiosk, fake_seen(person))
    frame_at(kiosk, fake_seen(person))
    then = timezone.now() - dt.timedelta(minutes=minutes)
    AttendanceEvent.objects.update(timestamp=then)
    CheckinAttempt.objects.update(created_at=then)


def test_automatic_kiosk_ignores_a_pass_by_within_its_minimum_time():
    """Recognised 10 minutes after checking in (default minimum 30): "already checked in at", no exit."""
    kiosk, ana = KioskFactory(), PersonFactory(full_name="Ana Lima")
    assert kiosk.decision == "automatic" and kiosk.min_minutes_between_in_and_out == 30
    _entry_minutes_ago(kiosk, ana, 10)
    entry = AttendanceEvent.objects.get()
    frame_at(kiosk, fake_seen(ana))
    passing = frame_at(kiosk, fake_seen(ana))
    assert passing.outcome == Outcome.ALREADY
    local = timezone.localtime(entry.timestamp).strftime("%H:%M")
    assert passing.message == f"Ana, you are already checked in at {local}"
    assert list(AttendanceEvent.objects.values_list("kind", flat=True)) == ["in"]


def test_automatic_kiosk_minimum_time_is_per_kiosk():
    """A kiosk set to 5 minutes checks out after 6; another at its default 30 does not."""
    ana, bo = PersonFactory(), PersonFactory()
    quick, slow = KioskFactory(min_minutes_between_in_and_out=5), KioskFactory()
    _entry_minutes_ago(quick, ana, 6)
    assert frame_at(quick, fake_seen(ana)).outcome == Outcome.CONFIRMING
    assert frame_at(quick, fake_seen(ana)).outcome == Outcome.CHECKED_OUT
    AttendanceEvent.objects.all().delete()
    _entry_minutes_ago(slow, bo, 6)
    frame_at(slow, fake_seen(bo))
    assert frame_at(slow, fake_seen(bo)).outcome == Outcome.ALREADY


def test_minimum_time_never_goes_below_the_site_cooldown(settings):
    """A kiosk set to 0 minutes still keeps the site's cooldown (2 min) between two events."""
    kiosk, ana = KioskFactory(min_minutes_between_in_and_out=0), PersonFactory()
    _entry_minutes_ago(kiosk, ana, 1)
    frame_at(kiosk, fake_seen(ana))
    assert frame_at(kiosk, fake_seen(ana)).outcome == Outcome.ALREADY


def test_strangers_and_empty_frames_record_nothing():
    """A stranger is "not recognised", a frame without a face asks to look at the camera; no event."""
    kiosk = KioskFactory()
    for _ in range(3):
        stranger = frame_at(kiosk, FAKE_STRANGER)
        assert stranger.outcome == Outcome.UNKNOWN and stranger.person is None
    nobody = frame_at(kiosk, FAKE_NO_FACE)
    assert nobody.outcome == Outcome.NO_FACE
    assert nobody.message == "Please look at the camera"
    assert not AttendanceEvent.objects.exists()


def test_inactive_person_is_treated_as_a_stranger():
    """A person marked inactive is never checked in, even if the recogniser names them."""
    kiosk, gone = KioskFactory(), PersonFactory(is_active=False)
    frame_at(kiosk, fake_seen(gone))
    assert frame_at(kiosk, fake_seen(gone)).outcome == Outcome.UNKNOWN
    assert not AttendanceEvent.objects.exists()


def test_explicit_out_without_prior_in_records_an_exit():
    """Pressing "out" with no entry that day records an exit."""
    kiosk, ana = KioskFactory(), PersonFactory()
    frame_at(kiosk, fake_seen(ana), requested_kind="out")
    attempt = frame_at(kiosk, fake_seen(ana), requested_kind="out")
    assert attempt.outcome == Outcome.CHECKED_OUT
    assert AttendanceEvent.objects.get().kind == "out"


def test_pending_attempt_older_than_the_limit_is_expired_not_recorded():
    """A frame that waited too long for a worker is expired; the recogniser is never asked."""
    kiosk, ana = KioskFactory(), PersonFactory()
    frame_at(kiosk, fake_seen(ana))
    stale = CheckinAttemptFactory(kiosk=kiosk)
    CheckinAttempt.objects.filter(pk=stale.pk).update(created_at=timezone.now() - dt.timedelta(seconds=30))
    calls = []

    def recognise(*, data):
        calls.append(data)
        return fake_seen(ana)

    result = services.checkin_attempt_process(
        attempt_id=stale.id, frame=plain_jpeg((320, 240)), recognise=recognise
    )
    assert result.state == CheckinAttempt.State.EXPIRED
    assert calls == []
    assert not AttendanceEvent.objects.exists()


def test_processing_twice_records_once():
    """Running the task again for a finished attempt changes nothing (safe with acks_late)."""
    kiosk, ana = KioskFactory(), PersonFactory()
    frame_at(kiosk, fake_seen(ana))
    attempt = CheckinAttemptFactory(kiosk=kiosk)
    for _ in range(2):
        result = services.checkin_attempt_process(
            attempt_id=attempt.id, frame=plain_jpeg((320, 240)), recognise=lambda *, data: fake_seen(ana)
        )
        assert result.outcome == Outcome.CHECKED_IN
    assert AttendanceEvent.objects.count() == 1


def test_recogniser_fault_fails_the_attempt():
    """An exception in the recogniser finishes the attempt as failed, with the error kept."""
    attempt = CheckinAttemptFactory()

    def broken(*, data):
        raise RuntimeError("model file missing")

    result = services.checkin_attempt_process(
        attempt_id=attempt.id, frame=plain_jpeg((320, 240)), recognise=broken
    )
    assert (result.state, result.outcome) == (CheckinAttempt.State.FAILED, Outcome.ERROR)
    assert "model file missing" in result.message


def test_frames_are_not_kept_by_default(media_root):
    """Without a retention setting no check-in frame is written to storage."""
    attempt = CheckinAttemptFactory()
    services.checkin_attempt_resolve(
        attempt_id=attempt.id, recognition=FAKE_STRANGER, frame=plain_jpeg((320, 240))
    )
    attempt.refresh_from_db()
    assert not attempt.frame
    assert not any(path.name.startswith(str(attempt.id)) for path in media_root.rglob("*.jpg"))


def test_unrecognised_frames_kept_when_the_setting_says_so(settings, media_root):
    """CHECKIN_KEEP_FRAMES=unrecognised keeps a stranger's frame but not an employee's."""
    settings.CHECKIN_KEEP_FRAMES = "unrecognised"
    data = plain_jpeg((320, 240))
    stranger = CheckinAttemptFactory()
    services.checkin_attempt_resolve(attempt_id=stranger.id, recognition=FAKE_STRANGER, frame=data)
    known = CheckinAttemptFactory()
    services.checkin_attempt_resolve(attempt_id=known.id, recognition=fake_seen(PersonFactory()), frame=data)
    stranger.refresh_from_db()
    known.refresh_from_db()
    assert stranger.frame and (media_root / stranger.frame.name).read_bytes() == data
    assert not known.frame


def test_create_queues_recognition_after_commit(django_capture_on_commit_callbacks):
    """Posting a frame stores a pending attempt and queues its recognition only on commit."""
    kiosk = KioskFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        attempt = services.checkin_attempt_create(
            kiosk=kiosk, frame=plain_jpeg((320, 240)), requested_kind="in"
        )
    assert attempt.state == CheckinAttempt.State.PENDING and attempt.requested_kind == "in"
    assert len(callbacks) == 1
    kiosk.refresh_from_db()
    assert kiosk.last_seen_at is not None


@pytest.mark.django_db(transaction=True)
def test_two_workers_confirming_one_person_at_once_record_one_event():
    """Two kiosks confirming one person at the same instant, in parallel transactions, record one event."""
    rounds = 4
    for _ in range(rounds):
        ana = PersonFactory()
        kiosks = [KioskFactory(), KioskFactory()]
        for kiosk in kiosks:
            frame_at(kiosk, fake_seen(ana))
        attempts = [CheckinAttemptFactory(kiosk=kiosk) for kiosk in kiosks]
        barrier = threading.Barrier(len(attempts))
        outcomes, errors = [], []

        def work(attempt, person=ana, barrier=barrier, outcomes=outcomes, errors=errors):
            try:
                barrier.wait(timeout=10)
                result = services.checkin_attempt_resolve(
                    attempt_id=attempt.id, recognition=fake_seen(person)
                )
                outcomes.append(result.outcome)
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                close_old_connections()

        threads = [threading.Thread(target=work, args=(attempt,)) for attempt in attempts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []
        assert sorted(outcomes) == [Outcome.ALREADY, Outcome.CHECKED_IN]
        assert AttendanceEvent.objects.filter(person=ana).count() == 1


@pytest.mark.parametrize(
    ("face_height", "message"),
    [
        (50, "Not recognised: please step closer to the camera"),
        (200, "Not recognised: please try again or see HR"),
        (450, "Not recognised: please step back a little"),
    ],
)
def test_an_unknown_face_far_too_small_or_large_says_what_to_do(face_height, message):
    """The unknown outcome's sentence says "step closer" / "step back" from the face's share of the frame."""
    from dataclasses import replace

    kiosk = KioskFactory()
    attempt = CheckinAttemptFactory(kiosk=kiosk)
    stranger = replace(FAKE_STRANGER, box=[100.0, 20.0, face_height * 0.8, float(face_height)])
    done = services.checkin_attempt_resolve(
        attempt_id=attempt.id, recognition=stranger, frame=plain_jpeg((640, 480))
    )
    assert (done.outcome, done.message) == ("unknown", message)
