"""recognition.tasks in a real Celery worker process: killing a training run keeps the previous version."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from django.utils import timezone

from people.models import FaceImage, Person
from recognition import engine, training
from recognition.ml.embeddings import embedding_to_bytes
from recognition.ml.synthetic import synthetic_gallery
from recognition.models import RecogniserVersion, TrainingState
from tests.fixtures.services import process_env, start_worker, stop_process, wait_for
from tests.people.factories import AcceptedFaceImageFactory, ConsentedPersonFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(v) for v in out.split()]


def _bulk_enrol(people: int) -> None:
    """Enrol `people` synthetic people with 5 accepted embeddings each (rows only, no files)."""
    x, labels, _ = synthetic_gallery(people, seed=3)
    now = timezone.now()
    persons = Person.objects.bulk_create(
        Person(employee_id=f"S{i:05d}", full_name=f"Synthetic {i}", consent_given_at=now)
        for i in range(people)
    )
    version = engine.embedder_version()
    FaceImage.objects.bulk_create(
        FaceImage(
            person=persons[label],
            image="",
            status=FaceImage.Status.ACCEPTED,
            embedding=embedding_to_bytes(vector),
            embedder_version=version,
        )
        for vector, label in zip(x, labels, strict=True)
    )


def test_killing_the_worker_mid_training_keeps_the_previous_version(media_root, tmp_path, monkeypatch):
    """The old version stays active while a killed run is redone; the redone run then replaces it."""
    from recognition.tasks import recogniser_train_task

    for _ in range(2):
        AcceptedFaceImageFactory.create_batch(3, person=ConsentedPersonFactory())
    previous = training.recogniser_train(trigger="before the kill")
    assert previous.is_active
    _bulk_enrol(600)  # several seconds of training: a window to kill in

    monkeypatch.setattr(training, "_enqueue_training", lambda countdown=None: None)
    training.training_request(reason="bulk enrolment")
    queue = "training-kill-test"
    # A full fit (incremental updates off): the 600 new people must take seconds to train.
    env = process_env(
        media_root,
        tmp_path,
        TRAINING_DEBOUNCE_SECONDS="0",
        WORKER_WARM_UP="false",
        RECOGNISER_INCREMENTAL_MAX_PEOPLE="0",
    )
    worker = start_worker(env, tmp_path / "worker.log", queues=queue)
    try:
        recogniser_train_task.apply_async(queue=queue)
        wait_for(
            lambda: RecogniserVersion.objects.filter(status=RecogniserVersion.Status.TRAINING).exists(),
            timeout=120,
            interval=0.05,
            what="the worker to start training",
        )
        for pid in _children(worker.process.pid):
            os.kill(pid, signal.SIGKILL)
        assert RecogniserVersion.objects.get(is_active=True) == previous

        def replaced():
            return RecogniserVersion.objects.filter(is_active=True, people_count=602).first()

        new = wait_for(replaced, timeout=400, interval=1, what="the redelivered run to finish")
        assert new.status == RecogniserVersion.Status.READY
        assert RecogniserVersion.objects.filter(error__contains="stopped before finishing").count() == 1
        assert TrainingState.objects.get(pk=1).dirty_since is None
        assert "WorkerLostError" in worker.log() or "exited with" in worker.log()
    finally:
        stop_process(worker.process)
