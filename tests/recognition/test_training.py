"""recognition.training: versions trained from enrolled photos, activation, coalesced requests."""

import numpy as np
import pytest

from attendance_site.celery import app
from people.models import FaceImage
from recognition import training
from recognition.ml import recogniser as ml
from recognition.ml.synthetic import unit_vector
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


def test_only_the_newest_older_artifacts_are_kept(settings):
    """Activating a version drops the artifacts of all but RECOGNISER_KEEP_PREVIOUS_ARTIFACTS newer older
    versions; their rows and figures stay; the active version still answers."""
    settings.RECOGNISER_KEEP_PREVIOUS_ARTIFACTS = 2
    groups = enrolled_people(2, 3)
    versions = [training.recogniser_train(trigger=f"run {n}") for n in range(5)]
    held = dict(RecogniserVersion.objects.values_list("pk", "artifact"))
    assert [held[v.pk] is not None for v in versions] == [False, False, True, True, True]
    dropped = RecogniserVersion.objects.get(pk=versions[0].pk)
    assert dropped.sha256 == "" and dropped.status == RecogniserVersion.Status.READY
    assert dropped.people_count == 2 and dropped.threshold is not None
    assert RecogniserVersion.objects.get(is_active=True).pk == versions[-1].pk
    member = groups[0][0]
    _, answer = training_identify(member)
    assert answer.person_id == member.person_id
    settings.RECOGNISER_KEEP_PREVIOUS_ARTIFACTS = 0
    latest = training.recogniser_train(trigger="run 5")
    assert list(RecogniserVersion.objects.filter(artifact__isnull=False).values_list("pk", flat=True)) == [
        latest.pk
    ]


def training_identify(member):
    """Return (version id, identification) of an enrolled photo's embedding by the active version."""
    from recognition.services import embedding_from_bytes, embedding_identify

    return embedding_identify(embedding_from_bytes(member.embedding))


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


@pytest.mark.parametrize("path", ["full fit", "incremental update"])
def test_a_failed_run_keeps_the_previous_version_active(monkeypatch, settings, path):
    """When training fails, the version is marked failed with the error and the old one stays active."""
    enrolled_people(2, 3)
    good = training.recogniser_train(trigger="good")

    def broken(*args, **kwargs):
        raise MemoryError("out of memory")

    if path == "full fit":
        settings.RECOGNISER_INCREMENTAL_MAX_PEOPLE = 0  # incremental updates off
        monkeypatch.setattr(training.ml, "train", broken)
    else:
        monkeypatch.setattr(training.ml.Recogniser, "updated", broken)
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


def assert_answers_like_a_full_fit(version: RecogniserVersion) -> None:
    """Assert the version's recogniser is the full fit of today's training data, up to float rounding."""
    stored = ml.Recogniser.from_bytes(version.artifact, sha256=version.sha256)
    embeddings, person_ids = training.training_data()
    full = training.recogniser_fit(embeddings, person_ids, embedder_version=version.embedder_version)
    assert stored.person_ids.tolist() == full.person_ids.tolist()
    assert version.threshold == pytest.approx(full.threshold, abs=1e-5)
    assert version.genuine_accept_rate == pytest.approx(full.genuine_accept_rate)
    assert version.cv_accuracy == pytest.approx(full.cv_accuracy)
    people = full.person_ids.tolist()
    probes = np.stack(
        [unit_vector(5000 + p, noise=0.3, base=p) for p in people]
        + [unit_vector(6000 + p, noise=0.3, base=p + 10_000) for p in people]  # strangers
    )
    answers = [a.person_id for a in stored.identify_many(probes)]
    assert answers == [a.person_id for a in full.identify_many(probes)]
    assert answers[: len(people)] == people  # enrolled people named, so the comparison says something


def test_a_run_after_adding_a_person_updates_the_active_version_like_a_full_fit():
    """With an active version of the same kind, the next run refits only the person added: its trigger
    says it was incremental, and it answers as a full fit on the same data would."""
    enrolled_people(12, 3)
    first = training.recogniser_train(trigger="first")
    [[photo, *_]] = enrolled_people(1, 3)
    second = training.recogniser_train(trigger="a new person")
    second.refresh_from_db()
    assert second.is_active and second.status == RecogniserVersion.Status.READY
    assert second.trigger == f"a new person [incremental from v{first.pk}: 1 people changed]"
    assert second.people_count == 13 and second.format_version == ml.FORMAT_VERSION
    assert photo.person_id in training.recogniser_version_people(version_id=second.pk)
    assert_answers_like_a_full_fit(second)


def test_a_run_after_an_erasure_is_incremental_and_a_large_change_is_a_full_fit(settings):
    """After a person is erased (the active version rewritten without them) the next run updates it and
    recalibrates like a full fit; above RECOGNISER_INCREMENTAL_MAX_PEOPLE changed people it fits in full."""
    groups = enrolled_people(12, 3)
    first = training.recogniser_train(trigger="first")
    gone = groups[0][0].person_id
    FaceImage.objects.filter(person_id=gone).delete()
    assert training.recogniser_versions_forget(person_ids={gone}).rewritten == [first.pk]
    second = training.recogniser_train(trigger="erased")
    assert "incremental from" in second.trigger and second.people_count == 11
    assert_answers_like_a_full_fit(second)
    settings.RECOGNISER_INCREMENTAL_MAX_PEOPLE = 1
    enrolled_people(2, 3)
    third = training.recogniser_train(trigger="two new people")
    assert third.trigger == "two new people" and third.people_count == 13
    assert_answers_like_a_full_fit(third)
