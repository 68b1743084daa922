"""Training recogniser versions from enrolled photos, activation, coalescing, and recognising frames."""

import pytest

from people.models import FaceImage
from recognition import recogniser
from recognition.models import RecogniserVersion, TrainingState
from recognition.recogniser import embedding_from_bytes
from tests.factories import UserFactory
from tests.people.factories import AcceptedFaceImageFactory, ConsentedPersonFactory, unit_vector
from tests.people.fakes import fake_face, install_fake_engine

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_engine(monkeypatch):
    """The fake face engine (no TensorFlow), installed for this test."""
    return install_fake_engine(monkeypatch)


def enrol(people=3, photos=4):
    return [
        AcceptedFaceImageFactory.create_batch(photos, person=ConsentedPersonFactory()) for _ in range(people)
    ]


def test_training_creates_an_active_version_with_its_figures():
    """A run stores a ready, active version with people, photos, time, CV accuracy, threshold and sha256."""
    enrol(3, 4)
    hr = UserFactory()
    version = recogniser.recogniser_train(trigger="test", user=hr)
    version.refresh_from_db()
    assert version.status == RecogniserVersion.Status.READY
    assert version.is_active
    assert (version.people_count, version.photos_count) == (3, 12)
    assert version.training_seconds > 0
    assert 0.0 <= version.cv_accuracy <= 1.0
    assert 0.0 < version.threshold <= 1.0
    assert version.target_far == pytest.approx(0.001)
    assert len(version.sha256) == 64
    assert version.created_by == hr


def test_a_new_version_replaces_the_active_one():
    """Only the newest good version is active."""
    enrol(2, 3)
    first = recogniser.recogniser_train(trigger="one")
    second = recogniser.recogniser_train(trigger="two")
    first.refresh_from_db()
    assert not first.is_active
    assert RecogniserVersion.objects.get(is_active=True) == second


def test_inactive_people_and_too_few_photos_drop_out_of_the_next_version(settings):
    """An inactive person, or one under the minimum of accepted photos, is not trained on."""
    settings.ENROLMENT_MIN_PHOTOS = 3
    groups = enrol(3, 3)
    AcceptedFaceImageFactory.create_batch(2, person=ConsentedPersonFactory())
    person = groups[0][0].person
    person.is_active = False
    person.save()
    version = recogniser.recogniser_train(trigger="test")
    assert version.people_count == 2
    _, rec = recogniser.active_recogniser()
    assert person.pk not in rec.person_ids.tolist()


def test_a_failed_run_keeps_the_previous_version_active(monkeypatch):
    """When training fails, the version is marked failed with the error and the old one stays active."""
    enrol(2, 3)
    good = recogniser.recogniser_train(trigger="good")

    def broken(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(recogniser.ml, "train", broken)
    bad = recogniser.recogniser_train(trigger="bad")
    assert bad.status == RecogniserVersion.Status.FAILED
    assert "out of memory" in bad.error
    assert RecogniserVersion.objects.get(is_active=True) == good


def test_with_nobody_left_the_active_version_is_switched_off():
    """Once no person is ready any more, no version stays active (it would know deleted people)."""
    groups = enrol(2, 3)
    recogniser.recogniser_train(trigger="first")
    FaceImage.objects.all().delete()
    version = recogniser.recogniser_train(trigger="empty")
    assert version.status == RecogniserVersion.Status.FAILED
    assert not RecogniserVersion.objects.filter(is_active=True).exists()
    assert groups


def test_a_burst_of_changes_is_trained_once(settings, django_capture_on_commit_callbacks):
    """Many changes before the run give one training run; the next run finds nothing to do."""
    settings.TRAINING_DEBOUNCE_SECONDS = 0
    enrol(2, 3)
    with django_capture_on_commit_callbacks(execute=False):
        for i in range(5):
            recogniser.training_request(reason=f"change {i}")
        first = recogniser.training_run(task_id="a")
        second = recogniser.training_run(task_id="b")
    assert first.outcome == "trained"
    assert second.outcome == "nothing to do"
    assert RecogniserVersion.objects.count() == 1
    assert TrainingState.objects.get(pk=1).dirty_since is None


def test_a_run_waits_for_the_debounce_after_the_last_change(settings, django_capture_on_commit_callbacks):
    """A run that starts right after a change defers itself instead of training."""
    settings.TRAINING_DEBOUNCE_SECONDS = 60
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        recogniser.training_request(reason="change")
        result = recogniser.training_run(task_id="a")
    assert result.outcome == "deferred"
    assert RecogniserVersion.objects.count() == 0
    assert len(callbacks) == 2  # the request's enqueue and the deferred re-enqueue


def test_a_redelivered_run_takes_over_from_its_killed_self(settings, django_capture_on_commit_callbacks):
    """A run killed mid-training is redone by its redelivered task; its orphan version is marked failed."""
    settings.TRAINING_DEBOUNCE_SECONDS = 0
    enrol(2, 3)
    with django_capture_on_commit_callbacks(execute=False):
        recogniser.training_request(reason="change")
    TrainingState.objects.filter(pk=1).update(
        running_task_id="task-1", running_since=TrainingState.objects.get().last_change_at
    )
    orphan = RecogniserVersion.objects.create(trigger="killed")
    with django_capture_on_commit_callbacks(execute=False):
        assert recogniser.training_run(task_id="task-2").outcome == "deferred"
        assert recogniser.training_run(task_id="task-1").outcome == "trained"
    orphan.refresh_from_db()
    assert orphan.status == RecogniserVersion.Status.FAILED
    assert RecogniserVersion.objects.get(is_active=True).status == RecogniserVersion.Status.READY


def test_frame_recognise_names_enrolled_people_and_not_strangers(fake_engine):
    """The kiosk call names an enrolled face, says unknown for a stranger and explains a missing face."""
    groups = enrol(3, 4)
    version = recogniser.recogniser_train(trigger="test")
    member = groups[1][0]
    fake_engine.answers.append([fake_face(embedding_from_bytes(member.embedding))])
    seen = recogniser.frame_recognise(data=b"frame")
    assert seen.face_found
    assert seen.person_id == member.person_id
    assert seen.recogniser_version_id == version.pk
    assert seen.distance < version.threshold
    assert 0 < seen.confidence <= 1
    fake_engine.answers.append([fake_face(unit_vector(31337))])
    stranger = recogniser.frame_recognise(data=b"frame")
    assert stranger.face_found and stranger.person_id is None
    assert stranger.reason == "unknown face"
    fake_engine.answers.append([])
    empty = recogniser.frame_recognise(data=b"frame")
    assert not empty.face_found and empty.reason == "no face"


def test_frame_recognise_without_a_recogniser_says_so(fake_engine):
    """Before any version is trained, a face is found but nobody is named, with the reason."""
    fake_engine.answers.append([fake_face(unit_vector(1))])
    seen = recogniser.frame_recognise(data=b"frame")
    assert seen.face_found and seen.person_id is None
    assert seen.reason == "no trained recogniser"


def test_a_deactivated_person_is_not_named_even_by_an_older_version(fake_engine):
    """A person switched off after training is not named by the version that still knows them."""
    groups = enrol(2, 3)
    recogniser.recogniser_train(trigger="test")
    member = groups[0][0]
    member.person.is_active = False
    member.person.save()
    fake_engine.answers.append([fake_face(embedding_from_bytes(member.embedding))])
    seen = recogniser.frame_recognise(data=b"frame")
    assert seen.person_id is None
    assert seen.reason == "person no longer active"


def test_the_loaded_version_follows_a_new_activation():
    """The cached recogniser is replaced once another version is activated, without a restart."""
    enrol(2, 3)
    first = recogniser.recogniser_train(trigger="one")
    assert recogniser.active_recogniser()[0] == first.pk
    enrol(1, 3)
    second = recogniser.recogniser_train(trigger="two")
    version_id, rec = recogniser.active_recogniser()
    assert version_id == second.pk
    assert rec.people_count == 3


def test_the_services_door_gives_the_kiosk_its_answer(fake_engine):
    """recognition.services.frame_recognise returns the FrameRecognition shape the kiosk reads."""
    from recognition import services

    groups = enrol(2, 3)
    version = services.recogniser_train(trigger="test")
    fake_engine.answers.append([fake_face(embedding_from_bytes(groups[0][0].embedding))])
    seen = services.frame_recognise(data=b"frame")
    assert isinstance(seen, recogniser.FrameRecognition)
    assert (seen.person_id, seen.recogniser_version_id) == (groups[0][0].person_id, version.pk)
    assert seen.box is not None and "nose" in seen.landmarks
