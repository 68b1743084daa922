"""Celery tasks of enrolment: thin wrappers on the enrolment queue, taking ids."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from attendance_site.queues import Queue
from people.services import FACE_IMAGE_PROCESS_TASK, ZIP_IMPORT_CHECK_TASK

# Enrolment tasks: late acknowledgement (a killed worker's task runs again; the services are
# idempotent) and retries while the database is away.
ENROLMENT_TASK = {
    "queue": Queue.ENROLMENT.value,
    "acks_late": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(
    name=FACE_IMAGE_PROCESS_TASK,
    **ENROLMENT_TASK,
)
def face_image_process_task(face_image_id: int) -> dict:
    """Detect, check, align and embed one uploaded face photo (idempotent)."""
    from people.services import face_image_process

    image = face_image_process(face_image_id=face_image_id)
    if image is None:
        return {"id": face_image_id, "status": "deleted"}
    return {"id": face_image_id, "status": image.status}


@shared_task(
    name=ZIP_IMPORT_CHECK_TASK,
    **ENROLMENT_TASK,
)
def zip_import_check_task(zip_import_id: int) -> dict:
    """Check each photo of a staged zip import for a usable face, then save all or nothing (idempotent)."""
    from people.services import zip_import_check

    batch = zip_import_check(zip_import_id=zip_import_id)
    if batch is None:
        return {"id": zip_import_id, "status": "deleted"}
    return {"id": zip_import_id, "status": batch.status}
