"""Celery tasks of enrolment: thin wrappers on the enrolment queue, taking ids."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task, signals
from django.db import InterfaceError, OperationalError

from attendance_site.celery import Queue

log = logging.getLogger(__name__)


@shared_task(
    name="people.face_image_process",
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


@shared_task(name="people.retention_apply", queue=Queue.DEFAULT.value, ignore_result=True)
def retention_apply_task() -> dict:
    """Delete check-in frames and long-inactive people's face data past their retention."""
    from people.privacy import retention_apply

    report = retention_apply()
    return {"frames": len(report.frames), "people": len(report.people)}


@signals.worker_ready.connect
def _resume_enrolment_on_start(sender=None, **_kwargs) -> None:
    """When an enrolment worker starts, pick up photos a killed worker left half done."""
    from attendance_site.workers import consumed_queues
    from people.services import enrolment_resume

    if Queue.ENROLMENT.value not in consumed_queues(getattr(sender, "app", None)):
        return
    try:
        resumed = enrolment_resume(older_than=dt.timedelta(seconds=60))
    except Exception as exc:  # the database may not be up yet; HR can "Check again" meanwhile
        log.warning("could not resume unfinished enrolment photos: %s", exc)
        return
    if resumed:
        log.info("queued %d unfinished enrolment photos again", len(resumed))
