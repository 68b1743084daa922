"""recognition.training: versions trained from enrolled photos, activation, coalesced requests."""

import numpy as np
import pytest

from attendance_site.celery import app
from people.models import FaceImage
from recognition import training
from recognition.models import RecogniserVersion, TrainingState
from tests.factories import UserFactory
from tests.people.factories import AcceptedFaceImageFactory, ConsentedPersonFactory, enrolled_people

pytestmark = pytest.mark.django_db


def test_training_creates_an_active_version_with_its_figures(settings):
    """A run stores a ready, active version with people, photos, time, CV accuracy, threshold and sha256."""
    enrolled_people(3, 4)
    hr = UserFactory()
    version = training.recogniser_train(trigger="test", user=hr)
    version.refresh_from_db()
    assert version.status == RecogniserVersion.Status.READY
    assert version.is_active
    assert (version.people_count, version.photos_count) == (3, 12)
    assert version.training_seconds > 0
    assert 0.0 <= version.cv_accuracy <= 1.0
    # The open-set score's threshold: the best template must be nearer than the next ones.
    assert -2.0 < version.threshold < 0.0
    assert version.target_far == pytest.approx(settings.RECOGNISER_TARGET_FAR)
    assert len(version.sha256) == 64
    assert version.created_by == hr


def test_a_new_version_replaces_the_active_one():
    """Only the newest good version is active."""
    enrolled_people(2, 3)
    first = training.recogniser_train(trigger="one")
    second = training.recogniser_train(trigger="two")
    first.refresh_from_db()
    assert not first.is_active
    assert RecogniserVersion.objects.get(is_active=True) == second


def test_inactive_people_and_too_few_photos_drop_out_of_the_next_version(settings):
    """An inactive person, or one under the minimum of accepted photos, is not trained on."""
    settings.ENROLMENT_MIN_PHOTOS = 3
    groups = enrolled_people(3, 3)
    AcceptedFaceImageFactory.create_batch(2, person=ConsentedPersonFactory())
    person = groups[0][0].person
    person.is_active = False
    person.save()
    version = training.recogniser_train(trigger="test")
    assert version.people_count == 2
    assert person.pk not in training.recogniser_version_people(version_id=version.pk)


def test_a_failed_run_keeps_the_previous_version_active(monkeypatch):
    """When training fails, the version is marked failed with the error and the old one stays active."""
    enrolled_people(2, 3)
    good = training.recogniser_train(trigger="good")

    def broken(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(training.ml, "train", broken)
    bad = training.recogniser_train(trigger="bad")
    assert bad.status == RecogniserVersion.Status.FAILED
    assert "out of memory" in bad.error
    assert RecogniserVersion.objects.get(is_active=True) == good


def test_with_nobody_left_the_active_version_is_switched_off():
    """Once no person is ready any more, no version stays active (it would know deleted people)."""
    groups = enrolled_people(2, 3)
    training.recogniser_train(trigger="first")
    FaceImage.objects.all().delete()
    version = training.recogniser_train(trigger="empty")
    assert version.status == RecogniserVersion.Status.FAILED
    assert not RecogniserVersion.objects.filter(is_active=True).exists()
    assert groups


def test_a_burst_of_changes_is_trained_once(settings, django_capture_on_commit_callbacks):
    """Many changes before the run give one training run; the next run finds nothing to do."""
    settings.TRAINING_DEBOUNCE_SECONDS = 0
    enrolled_people(2, 3)
    with django_capture_on_commit_callbacks(execute=False):
        for i in range(5):
            training.training_request(reason=f"change {i}")
        first = training.training_run(task_id="a")
        second = training.training_run(task_id="b")
    assert first.outcome == "trained"
    assert second.outcome == "nothing to do"
    assert RecogniserVersion.objects.count() == 1
    assert TrainingState.objects.get(pk=1).dirty_since is None


def test_a_run_waits_for_the_debounce_after_the_last_change(settings, django_capture_on_commit_callbacks):
    """A run that starts right after a change defers itself instead of training."""
    settings.TRAINING_DEBOUNCE_SECONDS = 60
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        training.training_request(reason="change")
        result = training.training_run(task_id="a")
    assert result.outcome == "deferred"
    assert RecogniserVersion.objects.count() == 0
    assert len(callbacks) == 2  # the request's enqueue and the deferred re-enqueue


def test_a_redelivered_run_takes_over_from_its_killed_self(settings, django_capture_on_commit_callbacks):
    """A run killed mid-training is redone by its redelivered task; its orphan version is marked failed."""
    settings.TRAINING_DEBOUNCE_SECONDS = 0
    enrolled_people(2, 3)
    with django_capture_on_commit_callbacks(execute=False):
        training.training_request(reason="change")
    TrainingState.objects.filter(pk=1).update(
        running_task_id="task-1", running_since=TrainingState.objects.get().last_change_at
    )
    orphan = RecogniserVersion.objects.create(trigger="killed")
    with django_capture_on_commit_callbacks(execute=False):
        assert training.training_run(task_id="task-2").outcome == "deferred"
        assert training.training_run(task_id="task-1").outcome == "trained"
    orphan.refresh_from_db()
    assert orphan.status == RecogniserVersion.Status.FAILED
    assert RecogniserVersion.objects.get(is_active=True).status == RecogniserVersion.Status.READY


def test_a_request_queues_the_training_task_by_name_once_committed(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    """A change queues "recognition.train" on the training queue after the debounce, only on commit."""
    settings.TRAINING_DEBOUNCE_SECONDS = 7
    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, **options: sent.append((name, options)))
    with django_capture_on_commit_callbacks(execute=True):
        training.training_request(reason="change")
        assert sent == []  # nothing before the change commits
    [(name, options)] = sent
    assert name == "recognition.train"
    assert options["queue"] == "training" and options["countdown"] == 7


def test_version_people_are_those_the_artifact_knows():
    """The people a version can name are read from its stored artifact; a failed version knows nobody."""
    groups = enrolled_people(2, 3)
    version = training.recogniser_train(trigger="test")
    assert training.recogniser_version_people(version_id=version.pk) == {g[0].person_id for g in groups}
    FaceImage.objects.all().delete()
    empty = training.recogniser_train(trigger="nobody")
    assert training.recogniser_version_people(version_id=empty.pk) == set()


def test_status_reports_pending_changes_and_the_active_version(django_capture_on_commit_callbacks):
    """HR's status says when changes wait for a run and which version is active, with its figures."""
    assert training.training_status()["active"] is None
    enrolled_people(2, 3)
    version = training.recogniser_train(trigger="test")
    with django_capture_on_commit_callbacks(execute=False):
        training.training_request(reason="another photo")
    status = training.training_status()
    assert status["pending_changes"] and not status["running"]
    assert status["active"]["id"] == version.pk and status["active"]["people_count"] == 2
    assert status["latest"] == {"id": version.pk, "status": "ready", "error": ""}


def test_training_runs_on_the_configured_blas_threads(settings, monkeypatch):
    """RECOGNISER_TRAINING_JOBS is the number of BLAS threads a training run's fit may use."""
    from threadpoolctl import threadpool_info

    from recognition.ml import recogniser as ml

    seen = []
    real_train = ml.train

    def recording_train(*args, **kwargs):
        seen.append({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})
        return real_train(*args, **kwargs)

    monkeypatch.setattr(ml, "train", recording_train)
    x = np.eye(4, 128, dtype=np.float32).repeat(2, axis=0)
    ids = np.repeat(np.arange(4), 2)
    settings.RECOGNISER_TRAINING_JOBS = 1
    training.recogniser_fit(x, ids, embedder_version="v")
    settings.RECOGNISER_TRAINING_JOBS = 2
    training.recogniser_fit(x, ids, embedder_version="v")
    assert seen == [{1}, {2}]
