"""Photos left half done by a worker killed outright are picked up when an enrolment worker starts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from people import services
from people.models import FaceImage
from tests.fixtures.services import process_env, start_worker, stop_process, wait_for
from tests.people.factories import ConsentedPersonFactory


def stale_photo(path, *, status: str, age: dt.timedelta) -> FaceImage:
    image = FaceImage(person=ConsentedPersonFactory(), status=status)
    image.image.save(path.name, ContentFile(path.read_bytes()), save=True)
    FaceImage.objects.filter(pk=image.pk).update(updated_at=timezone.now() - age)
    return image


@pytest.mark.django_db
def test_only_photos_waiting_longer_than_the_limit_are_queued_again(celebrity_photos, monkeypatch):
    """A photo 'processing' for five minutes is queued again; one uploaded a second ago is left alone."""
    queued = []
    monkeypatch.setattr(services, "_enqueue_processing", queued.append)
    photo = celebrity_photos["train"]["ben_afflek"][0]
    old = stale_photo(photo, status=FaceImage.Status.PROCESSING, age=dt.timedelta(minutes=5))
    stale_photo(photo, status=FaceImage.Status.PENDING, age=dt.timedelta(seconds=1))
    stale_photo(photo, status=FaceImage.Status.ACCEPTED, age=dt.timedelta(hours=1))
    assert services.enrolment_resume(older_than=dt.timedelta(seconds=60)) == [old.pk]
    assert queued == [old.pk]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_starting_enrolment_worker_finishes_a_photo_a_killed_worker_left(
    celebrity_photos, media_root, tmp_path, facenet_weights
):
    """No message is left for the photo, yet a freshly started enrolment worker processes it."""
    photo = max(celebrity_photos["train"]["elton_john"], key=lambda p: p.stat().st_size)
    image = stale_photo(photo, status=FaceImage.Status.PROCESSING, age=dt.timedelta(minutes=10))
    worker = start_worker(process_env(media_root, tmp_path), tmp_path / "worker.log", queues="enrolment")
    try:
        done = wait_for(
            lambda: FaceImage.objects.filter(pk=image.pk).exclude(status=FaceImage.Status.PROCESSING).first(),
            timeout=180,
            what="the starting worker to process the stale photo",
        )
    finally:
        stop_process(worker.process)
    assert done.status in (FaceImage.Status.ACCEPTED, FaceImage.Status.REJECTED), worker.log()[-2000:]
    assert done.processed_at is not None
    assert done.quality is not None
