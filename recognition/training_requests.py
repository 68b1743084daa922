"""Asking for a training run: mark the enrolment as changed and queue the run after a debounce.

Its own module so that what asks for training (enrolment, re-embedding, the admin) and the training
run itself (recognition.training) import it without importing each other.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from attendance_site.dispatch import enqueue
from attendance_site.queues import Queue
from recognition.models import TrainingState

TRAIN_TASK = "recognition.train"


def training_request(*, reason: str) -> None:
    """Mark the enrolment as changed and queue a training run after the debounce delay.

    Call inside the transaction that made the change: the run is queued only once it commits.
    """
    now = timezone.now()
    with transaction.atomic():
        state = _training_state_locked()
        if state.dirty_since is None:
            state.dirty_since = now
        state.last_change_at = now
        state.last_reason = reason[:200]
        state.save()
    transaction.on_commit(_enqueue_training)


def _enqueue_training(countdown: float | None = None) -> None:
    delay = settings.TRAINING_DEBOUNCE_SECONDS if countdown is None else countdown
    enqueue(TRAIN_TASK, queue=Queue.TRAINING, countdown=delay)


def _training_state_locked() -> TrainingState:
    TrainingState.objects.get_or_create(pk=1)
    return TrainingState.objects.select_for_update().get(pk=1)
