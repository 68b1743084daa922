"""Celery tasks of the recogniser: thin wrappers on the training queue."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from attendance_site.celery import Queue
from recognition.reembedding import REEMBED_TASK
from recognition.training import TRAIN_TASK


@shared_task(
    bind=True,
    name=TRAIN_TASK,
    queue=Queue.TRAINING.value,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
    # Training a large gallery takes longer than the site-wide task limits.
    soft_time_limit=settings.TRAINING_TIME_LIMIT_SECONDS,
    time_limit=settings.TRAINING_TIME_LIMIT_SECONDS + 60,
)
def recogniser_train_task(self) -> dict:
    """Train one recogniser version for every enrolment change marked so far (coalesced)."""
    from recognition.training import training_run

    result = training_run(task_id=self.request.id or "")
    return {"outcome": result.outcome, "version_id": result.version_id}


@shared_task(
    name=REEMBED_TASK,
    queue=Queue.ENROLMENT.value,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def reembed_task() -> dict:
    """Re-embed one batch of enrolled photos made by an older embedder (queues the next, then training)."""
    from recognition.reembedding import reembed_batch

    return reembed_batch()
