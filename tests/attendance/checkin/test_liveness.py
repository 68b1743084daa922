"""Liveness challenges in the kiosk flow: when they are asked, answering them, pass and fail, the API."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from attendance.checkin import rules, services
from attendance.models import AttendanceEvent, CheckinAttempt, Kiosk
from recognition.ml.synthetic import LEFT_THEN_RIGHT
from recognition.ml.synthetic import landmark_track as track
from recognition.models import RecogniserVersion
from tests.factories import CheckinAttemptFactory, KioskFactory, PersonFactory
from tests.fakes import fake_seen
from tests.support.images import plain_jpeg

pytestmark = pytest.mark.django_db
URL = "/api/v1/checkins/"
Outcome = CheckinAttempt.Outcome


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()
    yield
    cache.clear()


def confirmed(kiosk, person, recognition=None):
    """Return the attempt on which `person` is confirmed at `kiosk` (K=2 of M=3 frames)."""
    recognition = recognition or fake_seen(person)
    attempt = None
    for _ in range(2):
        attempt = CheckinAttemptFactory(kiosk=kiosk)
        attempt = services.checkin_attempt_resolve(attempt_id=attempt.id, recognition=recognition)
    return attempt


def fake_analyse(faces):
    """Return a fake frame analyser that 'sees' the given FrameFaces whatever the frames are."""
    return lambda frames: faces


def answering_time(attempt, seconds=5.0):
    """Return the moment `seconds` after the challenge was asked: the kiosk's capture takes about 4 s."""
    return attempt.challenge_issued_at + dt.timedelta(seconds=seconds)


def answer(attempt, faces, **kwargs):
    """Answer the attempt's challenge (with its nonce, a plausible time after it was asked) and run the
    check with a fake analyser showing `faces`."""
    kwargs.setdefault("nonce", attempt.challenge_nonce)
    kwargs.setdefault("now", answering_time(attempt))
    services.checkin_challenge_answer(
        attempt_id=attempt.id, kiosk=attempt.kiosk, frames=[b"frame"] * len(faces), **kwargs
    )
    return services.checkin_liveness_process(
        attempt_id=attempt.id, frames=[b"frame"] * len(faces), analyse=fake_analyse(faces)
    )


def turn_for(steps, person=None):
    """Return landmark tracks turning in the order of `steps`."""
    yaws = LEFT_THEN_RIGHT if steps == ["left", "right"] else [-y for y in LEFT_THEN_RIGHT]
    return track(yaws, person=person)


# --- rules ---


@pytest.mark.parametrize(
    ("mode", "distance", "confidence", "expected"),
    [
        ("off", 0.9, 0.3, False),
        ("always", 0.1, 1.0, True),
        ("when_unsure", 0.5, 0.95, False),  # well inside the threshold, confident
        ("when_unsure", 0.8, 0.95, True),  # above 75% of the 1.0 threshold
        ("when_unsure", 0.5, 0.6, True),  # the classifier hesitates
        ("when_unsure", None, None, True),  # no figures: unsure
    ],
)
def test_liveness_required_by_mode(mode, distance, confidence, expected):
    """Off never, always always, when_unsure only for a distance near the threshold or a low confidence."""
    assert (
        rules.liveness_required(
            mode=mode,
            distance=distance,
            confidence=confidence,
            threshold=1.0,
            distance_fraction=0.75,
            min_confidence=0.8,
        )
        is expected
    )


def test_challenge_order_is_random_and_always_both_ways():
    """Every challenge asks left and right once; both orders occur."""
    rng = random.Random(7)
    orders = {tuple(rules.challenge_steps(rng)) for _ in range(40)}
    assert orders == {("left", "right"), ("right", "left")}


# --- services ---


def test_kiosks_default_to_no_challenge():
    """Existing and new kiosks have liveness off: a confirmed person is recorded at once."""
    kiosk, ana = KioskFactory(), PersonFactory()
    assert kiosk.liveness_mode == Kiosk.Liveness.OFF
    attempt = confirmed(kiosk, ana)
    assert attempt.outcome == Outcome.CHECKED_IN and attempt.challenge is None


def test_always_mode_answers_with_a_challenge_instead_of_recording():
    """With liveness always on, a confirmed person gets a challenge and no event yet."""
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory()
    attempt = confirmed(kiosk, ana)
    assert attempt.outcome == Outcome.CHALLENGE and attempt.person == ana
    assert sorted(attempt.challenge) == ["left", "right"]
    assert attempt.challenge_expires_at > timezone.now()
    assert "Turn your head slightly" in attempt.message
    assert not AttendanceEvent.objects.exists()


def test_when_unsure_challenges_only_doubtful_recognitions(settings):
    """when_unsure: a recognition far inside the threshold is recorded, one near it is challenged."""
    version = RecogniserVersion.objects.create(status="active", threshold=1.0)
    kiosk, ana, ben = KioskFactory(liveness_mode="when_unsure"), PersonFactory(), PersonFactory()
    sure = fake_seen(ana)
    sure.distance, sure.confidence, sure.recogniser_version_id = 0.4, 0.97, version.pk
    assert confirmed(kiosk, ana, sure).outcome == Outcome.CHECKED_IN
    doubtful = fake_seen(ben)
    doubtful.distance, doubtful.confidence, doubtful.recogniser_version_id = 0.9, 0.97, version.pk
    assert confirmed(KioskFactory(liveness_mode="when_unsure"), ben, doubtful).outcome == Outcome.CHALLENGE


def test_already_checked_in_needs_no_challenge():
    """Within the cooldown nothing would be recorded, so no challenge is asked."""
    kiosk, ana = KioskFactory(), PersonFactory()
    confirmed(kiosk, ana)
    Kiosk.objects.filter(pk=kiosk.pk).update(liveness_mode="always")
    assert confirmed(kiosk, ana).outcome == Outcome.ALREADY


def test_passed_challenge_records_the_event():
    """A turn in the asked order by the same person records the entry through the usual rules."""
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory(full_name="Ana Lima")
    attempt = confirmed(kiosk, ana)
    done = answer(attempt, turn_for(attempt.challenge, person=ana.pk))
    assert (done.state, done.outcome, done.liveness_reason) == ("done", Outcome.CHECKED_IN, "ok")
    assert "Checked in at" in done.message
    event = AttendanceEvent.objects.get()
    assert (event.person, event.attempt_id, event.kind) == (ana, attempt.id, "in")
    assert done.liveness_figures["reached"] == attempt.challenge


@pytest.mark.parametrize(
    ("make_faces", "reason"),
    [
        (lambda steps, pk: track([0] * 10, person=pk), "no_turn"),
        (lambda steps, pk: turn_for(list(reversed(steps)), person=pk), "wrong_direction"),
        (lambda steps, pk: turn_for(steps, person=pk + 1000), "identity_changed"),
    ],
    ids=["still", "wrong-order", "someone-else"],
)
def test_failed_challenge_records_nothing_and_keeps_the_reason(make_faces, reason):
    """A failed check stores liveness_failed with its reason and figures for HR; no event."""
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory()
    attempt = confirmed(kiosk, ana)
    done = answer(attempt, make_faces(attempt.challenge, ana.pk))
    assert (done.state, done.outcome, done.liveness_reason) == ("done", Outcome.LIVENESS_FAILED, reason)
    assert done.liveness_figures["detail"]
    assert "try again" in done.message
    assert not AttendanceEvent.objects.exists()


def test_a_challenge_is_answered_once():
    """A second answer to the same challenge is refused (409) and changes nothing."""
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory()
    attempt = confirmed(kiosk, ana)
    answer(attempt, turn_for(attempt.challenge, person=ana.pk))
    with pytest.raises(services.ChallengeError) as raised:
        services.checkin_challenge_answer(
            attempt_id=attempt.id, kiosk=kiosk, frames=[b"f"] * 10, nonce=attempt.challenge_nonce
        )
    assert raised.value.status == 409
    assert AttendanceEvent.objects.count() == 1


def test_late_answer_is_stored_as_failed(settings):
    """An answer after the challenge expired is refused (410) and stored as liveness_failed, expired."""
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory()
    attempt = confirmed(kiosk, ana)
    late = attempt.challenge_expires_at + dt.timedelta(seconds=1)
    with pytest.raises(services.ChallengeError) as raised:
        services.checkin_challenge_answer(
            attempt_id=attempt.id, kiosk=kiosk, frames=[b"f"] * 10, nonce=attempt.challenge_nonce, now=late
        )
    assert raised.value.status == 410
    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.liveness_reason) == (Outcome.LIVENESS_FAILED, "expired")


def test_answered_challenge_waiting_too_long_expires(settings):
    """An answer no worker took within LIVENESS_MAX_PENDING_SECONDS expires instead of recording late."""
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory()
    attempt = confirmed(kiosk, ana)
    answered = answering_time(attempt)
    services.checkin_challenge_answer(
        attempt_id=attempt.id, kiosk=kiosk, frames=[b"f"] * 10, nonce=attempt.challenge_nonce, now=answered
    )
    later = answered + dt.timedelta(seconds=settings.LIVENESS_MAX_PENDING_SECONDS + 1)
    assert services.checkin_attempts_expire(now=later) == 1
    done = services.checkin_liveness_process(
        attempt_id=attempt.id, frames=[b"f"] * 10, analyse=fake_analyse(turn_for(attempt.challenge))
    )
    assert done.state == "expired" and not AttendanceEvent.objects.exists()


# --- API ---


def auth(kiosk):
    return {"HTTP_AUTHORIZATION": f"Kiosk {kiosk.token}"}


def frames_payload(count=8, data=None, nonce="unused"):
    return {
        "frames": [
            SimpleUploadedFile(f"f{i}.jpg", data or plain_jpeg((320, 240)), "image/jpeg")
            for i in range(count)
        ],
        "nonce": nonce,
    }


def asked_seconds_ago(attempt, seconds=5.0):
    """Move the challenge's start back, as if the kiosk had spent `seconds` capturing its answer."""
    attempt.challenge_issued_at -= dt.timedelta(seconds=seconds)
    CheckinAttempt.objects.filter(pk=attempt.pk).update(challenge_issued_at=attempt.challenge_issued_at)
    return attempt


def test_api_shows_the_open_challenge_then_takes_the_answer(client):
    """The attempt's JSON carries the instructions and answer URL; posting frames answers it (202)."""
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory()
    attempt = confirmed(kiosk, ana)
    body = client.get(f"{URL}{attempt.id}/", **auth(kiosk)).json()
    assert body["outcome"] == "challenge" and body["first_name"] is None
    challenge = body["challenge"]
    assert challenge["steps"] == attempt.challenge
    assert challenge["instructions"] == rules.challenge_instructions(attempt.challenge)
    assert challenge["answer_url"] == f"{URL}{attempt.id}/challenge/"
    assert len(challenge["nonce"]) >= 32 and challenge["nonce"] == attempt.challenge_nonce
    asked_seconds_ago(attempt)
    response = client.post(challenge["answer_url"], frames_payload(nonce=challenge["nonce"]), **auth(kiosk))
    assert response.status_code == 202, response.json()
    assert response.json()["state"] == "pending" and response.json()["challenge"] is None
    again = client.post(challenge["answer_url"], frames_payload(nonce=challenge["nonce"]), **auth(kiosk))
    assert again.status_code == 409 and "already answered" in again.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (lambda: frames_payload(2), "needs 4 to"),
        (lambda: frames_payload(40), "needs 4 to"),
        (lambda: frames_payload(5, data=b"not an image"), "Frame 1: The frame is not a readable image."),
        (lambda: {}, "frames:"),
        (lambda: {"frames": frames_payload()["frames"]}, "nonce: This field is required"),
    ],
    ids=["too-few", "too-many", "not-images", "none", "no-nonce"],
)
def test_api_refuses_bad_answers_and_keeps_the_challenge_open(client, payload, reason):
    """Too few, too many or unreadable frames: 400 with a reason; the challenge stays open."""
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory()
    attempt = confirmed(kiosk, ana)
    response = client.post(f"{URL}{attempt.id}/challenge/", payload(), **auth(kiosk))
    assert response.status_code == 400 and reason in response.json()["detail"]
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.CHALLENGE and attempt.challenge_answered_at is None


def test_api_answer_to_another_kiosks_or_no_challenge(client):
    """Another kiosk's attempt is 404; an attempt without a challenge is 409; no token is 401."""
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory()
    attempt = confirmed(kiosk, ana)
    other = KioskFactory()
    assert client.post(f"{URL}{attempt.id}/challenge/", frames_payload(), **auth(other)).status_code == 404
    plain = confirmed(other, PersonFactory())
    response = client.post(f"{URL}{plain.id}/challenge/", frames_payload(), **auth(other))
    assert response.status_code == 409 and "no open liveness challenge" in response.json()["detail"]
    assert client.post(f"{URL}{attempt.id}/challenge/", frames_payload()).status_code == 401


def test_admin_filters_failed_liveness_attempts(admin_client):
    """HR finds failed liveness attempts in the admin by outcome and reason, and sets a kiosk's mode."""
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory(full_name="Ana Lima")
    attempt = confirmed(kiosk, ana)
    answer(attempt, track([0] * 10, person=ana.pk))
    page = admin_client.get(
        "/admin/attendance/checkinattempt/?outcome=liveness_failed&liveness_reason=no_turn"
    )
    assert page.status_code == 200 and "Ana Lima" in page.content.decode()
    assert (
        admin_client.get("/admin/attendance/checkinattempt/?outcome=checked_in")
        .content.decode()
        .count("Ana Lima")
        == 0
    )
    change = admin_client.get(f"/admin/attendance/kiosk/{kiosk.pk}/change/")
    assert 'name="liveness_mode"' in change.content.decode()


def test_api_answer_to_a_made_up_attempt_is_404_before_any_frame_is_read(client):
    """A random attempt id is refused before the frames are looked at (unreadable ones included), so a
    flood of huge frames at made-up ids costs a query each, not seconds of decoding."""
    import uuid

    kiosk = KioskFactory()
    garbage = frames_payload(data=b"not an image at all")
    response = client.post(f"{URL}{uuid.uuid4()}/challenge/", garbage, **auth(kiosk))
    assert response.status_code == 404, response.content


# --- the answer is bound to its challenge: nonce, timing (issue 13, finding 1) ---


def test_an_answer_needs_the_challenges_nonce_once():
    """A wrong or missing nonce is refused (409) and leaves the challenge open; the right one is
    taken once, and cleared so that it cannot answer again."""
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory()
    attempt = confirmed(kiosk, ana)
    nonce = attempt.challenge_nonce
    assert len(nonce) >= 32
    for wrong in ("", "x" * len(nonce), nonce[:-1]):
        with pytest.raises(services.ChallengeError) as raised:
            answer(attempt, turn_for(attempt.challenge, person=ana.pk), nonce=wrong)
        assert raised.value.status == 409 and "nonce" in str(raised.value)
    attempt.refresh_from_db()
    assert attempt.outcome == Outcome.CHALLENGE and attempt.challenge_answered_at is None
    done = answer(attempt, turn_for(attempt.challenge, person=ana.pk), nonce=nonce)
    assert done.outcome == Outcome.CHECKED_IN and done.challenge_nonce == ""
    with pytest.raises(services.ChallengeError):
        answer(attempt, turn_for(attempt.challenge, person=ana.pk), nonce=nonce)


def test_each_challenge_has_its_own_nonce():
    """Two challenges never share a nonce (a nonce seen once does not answer the next challenge)."""
    kiosk = KioskFactory(liveness_mode="always")
    first, second = confirmed(kiosk, PersonFactory()), confirmed(kiosk, PersonFactory())
    assert first.challenge_nonce and second.challenge_nonce
    assert first.challenge_nonce != second.challenge_nonce
    with pytest.raises(services.ChallengeError):
        answer(second, turn_for(second.challenge), nonce=first.challenge_nonce)


def test_an_answer_sooner_than_its_frames_could_be_captured_is_refused_and_stored():
    """A burst posted at once after the challenge appears (a recording) is refused (409) with the reason,
    stored as a failed liveness check ("too_fast"), and records nothing."""
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory()
    attempt = confirmed(kiosk, ana)
    with pytest.raises(services.ChallengeError) as raised:
        answer(attempt, turn_for(attempt.challenge, person=ana.pk), now=answering_time(attempt, 0.5))
    assert raised.value.status == 409
    assert "10 frames came 0.5 s after the challenge was asked" in str(raised.value)
    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.liveness_reason) == (Outcome.LIVENESS_FAILED, "too_fast")
    assert "at least 0.9 s" in attempt.liveness_figures["detail"]  # 9 intervals of 0.1 s
    assert not AttendanceEvent.objects.exists()


@pytest.mark.parametrize(
    ("seconds", "frames", "refused"), [(0.0, 14, True), (2.5, 14, True), (2.6, 14, False), (0.0, 1, False)]
)
def test_answer_too_fast_rule(seconds, frames, refused):
    """n frames 0.2 s apart at the least take (n - 1) x 0.2 s after the challenge was asked."""
    asked = timezone.now()
    why = rules.answer_too_fast(
        issued_at=asked,
        answered_at=asked + dt.timedelta(seconds=seconds),
        frames=frames,
        min_frame_interval=dt.timedelta(seconds=0.2),
    )
    assert (why is not None) == refused, why


def test_api_answer_with_a_wrong_nonce_or_too_fast(client):
    """Through the API: a wrong nonce is a 409 that keeps the challenge open; the right nonce posted at
    once after the challenge appeared is a 409 that says too fast, and the challenge is spent."""
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory()
    attempt = confirmed(kiosk, ana)
    url = f"{URL}{attempt.id}/challenge/"
    wrong = client.post(url, frames_payload(nonce="guessed"), **auth(kiosk))
    assert wrong.status_code == 409 and "nonce" in wrong.json()["detail"]
    fast = client.post(url, frames_payload(nonce=attempt.challenge_nonce), **auth(kiosk))
    assert fast.status_code == 409 and "after the challenge was asked" in fast.json()["detail"]
    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.liveness_reason) == (Outcome.LIVENESS_FAILED, "too_fast")


# --- the kiosk's liveness setting: none, active, passive, both ---


def test_kiosks_default_to_active_which_keeps_the_challenge_setting():
    """New kiosks say "active": the head-turn challenge is asked as liveness_mode says (off by default)."""
    kiosk = KioskFactory()
    assert kiosk.liveness_checks == Kiosk.LivenessChecks.ACTIVE
    assert confirmed(KioskFactory(liveness_mode="always"), PersonFactory()).outcome == Outcome.CHALLENGE


@pytest.mark.parametrize("checks", ["none", "passive"])
def test_none_and_passive_ask_no_challenge(checks):
    """Liveness "none" or "passive": no head-turn challenge even with liveness_mode "always"."""
    kiosk = KioskFactory(liveness_mode="always", liveness_checks=checks)
    assert confirmed(kiosk, PersonFactory()).outcome == Outcome.CHECKED_IN


@pytest.mark.parametrize(("score", "refused"), [(0.02, True), (0.6, False)])
def test_a_passive_score_below_the_threshold_refuses_the_face(settings, score, refused):
    """A recognised face scoring below LIVENESS_PASSIVE_THRESHOLD is refused with the photo/screen
    message and records nothing; above it, the check-in goes on. The score is kept for HR."""
    settings.LIVENESS_PASSIVE_THRESHOLD = 0.1
    kiosk, ana = KioskFactory(liveness_checks="passive"), PersonFactory()
    attempt = None
    for _ in range(2):
        attempt = CheckinAttemptFactory(kiosk=kiosk)
        attempt = services.checkin_attempt_resolve(
            attempt_id=attempt.id, recognition=fake_seen(ana), passive_score=score
        )
    assert attempt.liveness_figures["passive_score"] == score
    if refused:
        assert (attempt.outcome, attempt.liveness_reason) == (Outcome.LIVENESS_FAILED, "passive")
        assert "photo or a screen" in attempt.message
        assert not AttendanceEvent.objects.exists()
    else:
        assert attempt.outcome == Outcome.CHECKED_IN


def test_both_refuses_a_head_turn_whose_frames_score_as_a_spoof():
    """Liveness "both": a burst that turned as asked but scores as a photo fails with reason "passive"."""
    from recognition.services import LivenessVerdict

    kiosk, ana = KioskFactory(liveness_mode="always", liveness_checks="both"), PersonFactory()
    attempt = confirmed(kiosk, ana)
    services.checkin_challenge_answer(
        attempt_id=attempt.id,
        kiosk=kiosk,
        frames=[b"f"] * 10,
        nonce=attempt.challenge_nonce,
        now=answering_time(attempt),
    )
    turned = LivenessVerdict(True, "ok", "the head turned as asked", {})
    done = services.checkin_liveness_resolve(attempt_id=attempt.id, verdict=turned, passive_score=0.01)
    assert (done.outcome, done.liveness_reason) == (Outcome.LIVENESS_FAILED, "passive")
    assert not AttendanceEvent.objects.exists()


def test_admin_sets_a_kiosks_liveness_checks(admin_client):
    """The kiosk's admin page offers none / active / passive / both and saves the choice."""
    kiosk = KioskFactory()
    page = admin_client.get(f"/admin/attendance/kiosk/{kiosk.pk}/change/").content.decode()
    for value in ("none", "active", "passive", "both"):
        assert f'value="{value}"' in page
    listing = admin_client.get("/admin/attendance/kiosk/?liveness_checks__exact=passive")
    assert listing.status_code == 200


def three_photos(attempt):
    """Return landmarks of a frontal photo, a photo turned the first asked way, then its mirror image."""
    sign = 1 if attempt.challenge[0] == "left" else -1
    return track([0] * 4 + [16 * sign] * 4 + [0, 0] + [-16 * sign] * 2, person=attempt.person_id)


def test_the_part_way_setting_refuses_a_set_of_photos_that_skips_the_angles_in_between(settings):
    """With LIVENESS_INTERMEDIATE_FRACTION at 0.25 (the default), frontal, turned and mirrored photos
    in the asked order are refused as a jump (issue 13, finding 1: they passed while the rule was off);
    at 0 the same frames pass."""
    assert settings.LIVENESS_INTERMEDIATE_FRACTION == 0.25
    kiosk, ana = KioskFactory(liveness_mode="always"), PersonFactory()
    attempt = confirmed(kiosk, ana)
    done = answer(attempt, three_photos(attempt))
    assert (done.outcome, done.liveness_reason) == (Outcome.LIVENESS_FAILED, "jump"), done.liveness_figures
    assert not AttendanceEvent.objects.exists()
    settings.LIVENESS_INTERMEDIATE_FRACTION = 0.0
    again = confirmed(KioskFactory(liveness_mode="always"), PersonFactory())
    sign = 1 if again.challenge[0] == "left" else -1
    photos = track(
        [0, 0, 0, 0, 16 * sign] * 1 + [16 * sign] * 3 + [0, 0] + [-16 * sign] * 2, person=again.person_id
    )
    assert answer(again, photos).outcome == Outcome.CHECKED_IN
