"""Trained recogniser versions and the workers that run them."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RecogniserVersion(models.Model):
    """One training run: its figures, and the trained artifact stored in the database.

    The artifact is kept in the database (not a path on one machine) so that every worker, on any
    machine, loads exactly the same version.
    """

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(max_length=200, blank=True, help_text="What started the run.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRAINING)
    is_active = models.BooleanField(default=False)
    people_count = models.PositiveIntegerField(default=0)
    photos_count = models.PositiveIntegerField(default=0)
    training_seconds = models.FloatField(null=True, blank=True)
    cv_accuracy = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(
        null=True,
        blank=True,
        help_text="Open-set score threshold: a face is accepted when its distance to the nearest person "
        "minus its mean distance to the next ones is below it (format 1 versions: a distance threshold).",
    )
    target_far = models.FloatField(null=True, blank=True)
    genuine_accept_rate = models.FloatField(
        null=True,
        blank=True,
        help_text="Share of enrolled photos accepted against the person's other photos.",
    )
    embedder_version = models.CharField(max_length=100, blank=True)
    format_version = models.PositiveIntegerField(default=1)
    artifact = models.BinaryField(null=True, blank=True, editable=False)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="one_active_recogniser"
            )
        ]

    def __str__(self) -> str:
        return f"Recogniser v{self.pk}"


class TrainingState(models.Model):
    """The one row (pk=1) that coalesces training requests: changes mark it dirty, one run cleans it.

    Changes set `dirty_since` (if unset) and queue a run after a short delay; the run takes the row's
    lock, trains from what is committed, and clears the mark only if no change arrived meanwhile.
    `running_task_id` lets a redelivered run (its worker was killed) take over its own run.
    """

    dirty_since = models.DateTimeField(null=True, blank=True)
    last_change_at = models.DateTimeField(null=True, blank=True)
    last_reason = models.CharField(max_length=200, blank=True)
    running_task_id = models.CharField(max_length=255, blank=True)
    running_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return "Training state"


class WorkerHeartbeat(models.Model):
    """A Celery worker that reported in recently, and the queues it consumes."""

    hostname = models.CharField(max_length=200, unique=True)
    queues = models.CharField(max_length=200, blank=True)
    pid = models.PositiveIntegerField(null=True)
    last_seen = models.DateTimeField()
    # Set by the worker's child once MTCNN and FaceNet are loaded: until then face work would wait.
    engine_ready = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.hostname
