"""Kiosks, check-in attempts and the attendance events they record."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from people.models import Department, Person


class Kiosk(models.Model):
    class Liveness(models.TextChoices):
        OFF = "off", "Off"
        ALWAYS = "always", "Challenge every time"
        WHEN_UNSURE = "when_unsure", "Challenge when the recognition is not confident"

    name = models.CharField(max_length=100)
    location = models.CharField(max_length=200, blank=True)
    # Only a hash of the secret token is stored; the browser keeps the token itself.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField("active", default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    liveness_mode = models.CharField(
        "liveness challenge",
        max_length=12,
        choices=Liveness.choices,
        default=Liveness.OFF,
        help_text="Ask the person to turn their head before an event is recorded (against photo attacks).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class CheckinAttempt(models.Model):
    """One frame a kiosk sent, and what recognising it led to."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        EXPIRED = "expired", "Expired"
        FAILED = "failed", "Failed"

    class Outcome(models.TextChoices):
        CHECKED_IN = "checked_in", "Checked in"
        CHECKED_OUT = "checked_out", "Checked out"
        ALREADY = "already", "Already recorded"
        CONFIRMING = "confirming", "Recognised, waiting for agreement"
        UNKNOWN = "unknown", "Not recognised"
        NO_FACE = "no_face", "No face"
        ERROR = "error", "Error"
        CHALLENGE = "challenge", "Liveness challenge asked"
        LIVENESS_FAILED = "liveness_failed", "Liveness failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kiosk = models.ForeignKey(Kiosk, on_delete=models.CASCADE, related_name="attempts")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    requested_kind = models.CharField(
        max_length=3, blank=True, help_text="'in' or 'out' when asked explicitly."
    )
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    distance = models.FloatField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    recogniser_version = models.ForeignKey(
        "recognition.RecogniserVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    latency_ms = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=200, blank=True)
    frame = models.FileField(upload_to="checkin-frames/%Y/%m/%d/", blank=True)
    # Liveness: the directions asked ("left"/"right", in order), until when they may be answered, when
    # the answer came (a challenge is answered once), and what the check found.
    challenge = models.JSONField(null=True, blank=True)
    challenge_expires_at = models.DateTimeField(null=True, blank=True)
    challenge_answered_at = models.DateTimeField(null=True, blank=True)
    liveness_reason = models.CharField(max_length=20, blank=True, db_index=True)
    liveness_figures = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # The K-of-M agreement reads a kiosk's latest attempts on every frame.
        indexes = [models.Index(fields=["kiosk", "-created_at"], name="attempt_kiosk_recent")]

    def __str__(self) -> str:
        return f"Attempt {self.id} at {self.kiosk_id}: {self.state} {self.outcome}"


class AttendanceEvent(models.Model):
    """An entry or an exit of a person, from a kiosk or entered by HR."""

    class Kind(models.TextChoices):
        IN = "in", "Entry"
        OUT = "out", "Exit"

    class Source(models.TextChoices):
        KIOSK = "kiosk", "Kiosk"
        MANUAL = "manual", "Entered by HR"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="attendance_events")
    kind = models.CharField(max_length=3, choices=Kind.choices)
    timestamp = models.DateTimeField(db_index=True)
    # The local workday the event belongs to (the boundary is settings.WORKDAY_START, not midnight).
    workday = models.DateField(db_index=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.KIOSK)
    kiosk = models.ForeignKey(Kiosk, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    attempt = models.OneToOneField(
        CheckinAttempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="event"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True, help_text="Why HR added or changed this event.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["timestamp"]
        indexes = [models.Index(fields=["person", "workday"])]
        permissions = [("view_reports", "Can view attendance reports")]

    def __str__(self) -> str:
        return f"{self.person} {self.kind} {self.timestamp:%Y-%m-%d %H:%M}"


class AttendanceEventLog(models.Model):
    """Who added, changed or deleted an attendance event by hand, when, and why.

    Kept apart from the event so that a deleted event still leaves its trace (and its last values).
    """

    class Action(models.TextChoices):
        ADD = "add", "Added"
        CHANGE = "change", "Changed"
        DELETE = "delete", "Deleted"

    event = models.ForeignKey(
        AttendanceEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="log"
    )
    event_pk = models.BigIntegerField(help_text="The event's id, kept after it is deleted.")
    person = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    reason = models.TextField()
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = "attendance event change"

    def __str__(self) -> str:
        return f"{self.get_action_display()} event {self.event_pk} by {self.by} at {self.at:%Y-%m-%d %H:%M}"


class ReportAccess(models.Model):
    """Limits a manager's reports to its departments; no row means all, a row with none means none."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_access"
    )
    departments = models.ManyToManyField(Department, blank=True)

    class Meta:
        verbose_name_plural = "report access"

    def __str__(self) -> str:
        return f"Report access of {self.user}"
