"""After an embedder upgrade: re-embed every accepted photo with the current embedder, then retrain.

Until every accepted photo of the people a recogniser would know is re-embedded, no new version is
trained (it would leave out whoever is not done yet) and the active version keeps serving: kiosk
frames are embedded as its gallery was (recognition.matching asks the engine for its version).
The job runs on the enrolment queue (its workers hold the face engine) in batches, re-queuing itself
until nothing is left, then asks for a training run. Each photo is re-checked under its row lock
before it is written, so a redelivered or doubled batch does no harm. HR sees the progress in
`training_status()["reembedding"]`.
"""

from __future__ import annotations

import logging

from django.db import transaction

from attendance_site.dispatch import enqueue
from attendance_site.queues import Queue
from recognition import engine
from recognition.ml.embeddings import embedding_to_bytes
from recognition.ml.images import ImageError
from recognition.training_requests import training_request

log = logging.getLogger(__name__)

# The Celery task that runs `reembed_batch` (recognition.tasks); the name is part of the deployment.
REEMBED_TASK = "recognition.reembed"
# Photos per task: about 0.2 s each on two cores, so a batch stays well inside the task time limit.
BATCH_SIZE = 25
NO_FACE_REASON = (
    "After the face model was updated no face could be found in this photo any more: please add another."
)


def _outdated(*, eligible_only: bool = False):
    """Return the accepted photos whose embedding was made by another embedder version."""
    from people.models import FaceImage

    rows = FaceImage.objects.filter(status=FaceImage.Status.ACCEPTED, embedding__isnull=False).exclude(
        embedder_version=engine.embedder_version()
    )
    if eligible_only:
        rows = rows.filter(person__is_active=True, person__consent_given_at__isnull=False)
    return rows


def reembedding_pending() -> int:
    """Return how many accepted photos of active, consenting people still hold an older embedding."""
    return _outdated(eligible_only=True).count()


def reembedding_status() -> dict:
    """Return {"pending", "done", "embedder_version"}: accepted photos still to re-embed, and done."""
    from people.models import FaceImage

    version = engine.embedder_version()
    done = FaceImage.objects.filter(
        status=FaceImage.Status.ACCEPTED, embedding__isnull=False, embedder_version=version
    ).count()
    return {"pending": _outdated().count(), "done": done, "embedder_version": version}


def reembedding_resume() -> bool:
    """Queue a re-embedding batch now if any accepted photo holds an older embedding (on worker start:
    the first start after an upgrade begins the job). Return whether one was queued."""
    if not _outdated().exists():
        return False
    enqueue(REEMBED_TASK, queue=Queue.ENROLMENT)
    return True


def reembedding_request() -> None:
    """Queue a re-embedding batch once the current transaction commits."""
    transaction.on_commit(lambda: enqueue(REEMBED_TASK, queue=Queue.ENROLMENT))


def reembed_batch(*, limit: int = BATCH_SIZE) -> dict:
    """Re-embed up to `limit` outdated accepted photos; queue the next batch, or a training run when done.

    Returns {"reembedded", "rejected", "pending"}. A photo in which the current engine finds no face is
    rejected with a reason HR can read (it could not be compared with anything any more). Should be
    called only by the re-embedding task.
    """
    from people.models import FaceImage

    version = engine.embedder_version()
    counts = {"reembedded": 0, "rejected": 0}
    for image_id in list(_outdated().order_by("pk").values_list("pk", flat=True)[:limit]):
        image = FaceImage.objects.filter(pk=image_id).first()
        if image is None:
            continue
        try:
            with image.image.open("rb") as handle:
                faces = engine.image_analyse(data=handle.read(), max_faces=1)
        except (OSError, ImageError) as exc:
            log.warning("photo %s cannot be re-embedded: %s", image_id, exc)
            faces = None
        with transaction.atomic():
            image = FaceImage.objects.select_for_update().filter(pk=image_id).first()
            if (
                image is None
                or image.status != FaceImage.Status.ACCEPTED
                or image.embedder_version == version
            ):
                continue  # deleted, rejected or done meanwhile
            if faces:
                image.embedding = embedding_to_bytes(faces[0].embedding)
                image.embedder_version = faces[0].embedder_version
                counts["reembedded"] += 1
            else:
                image.status = FaceImage.Status.REJECTED
                image.rejection_reason = NO_FACE_REASON
                image.embedding = None
                counts["rejected"] += 1
            image.save(
                update_fields=["embedding", "embedder_version", "status", "rejection_reason", "updated_at"]
            )
    pending = _outdated().count()
    with transaction.atomic():
        if pending:
            reembedding_request()
        elif counts["reembedded"] or counts["rejected"]:
            training_request(reason=f"photos re-embedded for {version}")
    log.info("re-embedded %(reembedded)s photos, rejected %(rejected)s", counts)
    return {**counts, "pending": pending}
