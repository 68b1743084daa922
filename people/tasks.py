"""Celery tasks of enrolment: thin wrappers on the enrolment queue, taking ids."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from attendance_site.queues import Queue
from people.services import FACE_IMAGE_PROCESS_TASK


@shared_task(
    name=FACE_IMAGE_PROCESS_TASK,
    queue=Queue.ENROLMENT.value,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def face_image_process_task(face_image_id: int) -> dict:
    """Detect, check, align and embed one uploaded face photo (idempotent)."""
    from people.services import face_image_process

    image = face_image_process(face_image_id=face_image_id)
    if image is None:
        return {"id": face_image_id, "status": "deleted"}
    return {"id": face_image_id, "status": image.status}
