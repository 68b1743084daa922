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

    class Decision(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic (entry, then exit)"
        EXPLICIT = "explicit", "Explicit (the person chooses)"

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
    decision = models.CharField(
        "how it decides",
        max_length=10,
        choices=Decision.choices,
        default=Decision.AUTOMATIC,
        help_text="Automatic: entry, then exit, with a minimum time between them. Explicit: the person "
        "chooses check in, check out, start break or end break after being recognised.",
    )
    min_minutes_between_in_and_out = models.PositiveIntegerField(
        "minimum minutes between an entry and an exit",
        default=30,
        help_text="Automatic kiosks only: a recognition within this time after the person's last event "
        "records nothing, so that walking past never checks anyone out.",
    )
    choice_confirm_seconds = models.PositiveSmallIntegerField(
        "seconds before the preselected choice is confirmed",
        default=4,
        help_text="Explicit kiosks only: the likely choice is confirmed after this long, unless tapped.",
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
        BREAK_STARTED = "break_started", "Break started"
        BREAK_ENDED = "break_ended", "Break ended"
        CHOOSING = "choosing", "Recognised, waiting for the person's choice"
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
        max_length=11, blank=True, help_text="The event kind the person chose or pressed, if any."
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
    # Explicit kiosks: when the person's choice (requested_kind) was confirmed; a choice is made once.
    choice_made_at = models.DateTimeField(null=True, blank=True)
    # A punch by employee id and PIN after a failed recognition: its frame is kept as evidence.
    by_pin = models.BooleanField("by PIN", default=False, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        # The K-of-M agreement reads a kiosk's latest attempts on every frame.
        indexes = [models.Index(fields=["kiosk", "-created_at"], name="attempt_kiosk_recent")]

    def __str__(self) -> str:
        return f"Attempt {self.id} at {self.kiosk_id}: {self.state} {self.outcome}"


class AttendanceEvent(models.Model):
    """An entry, an exit or a break's start or end of a person, from a kiosk or entered by HR."""

    class Kind(models.TextChoices):
        IN = "in", "Entry"
        OUT = "out", "Exit"
        BREAK_START = "break_start", "Break start"
        BREAK_END = "break_end", "Break end"

    class Source(models.TextChoices):
        KIOSK = "kiosk", "Kiosk"
        PIN = "pin", "PIN"
        MANUAL = "manual", "Entered by HR"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="attendance_events")
    kind = models.CharField(max_length=11, choices=Kind.choices)
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
        permissions = [
            ("view_reports", "Can view attendance reports"),
            ("correct_events", "Can correct attendance events on the site (in the departments reported on)"),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.kind} {self.timestamp:%Y-%m-%d %H:%M}"


class KioskPin(models.Model):
    """A person's kiosk PIN, the fallback when the face is not recognised: only its hash is stored.

    Wrong PINs in a row count up to KIOSK_PIN_MAX_FAILURES, which locks the PIN until `locked_until`.
    """

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="kiosk_pin")
    pin_hash = models.CharField(max_length=128, editable=False)
    failures = models.PositiveSmallIntegerField("wrong PINs in a row", default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "kiosk PIN"
        verbose_name_plural = "kiosk PINs"

    def __str__(self) -> str:
        return f"PIN of {self.person}"


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


class PayPeriod(models.Model):
    """A stretch of workdays paid together (a month, say): approved and locked before payroll.

    While locked, no hand-made change (HR, managers, approved requests, the admin) may add, move or
    delete an event on a workday inside it; reopening it takes a reason, kept in PayPeriodLog.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        LOCKED = "locked", "Approved and locked"

    start = models.DateField()
    end = models.DateField(help_text="The period's last workday, included.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="pay_period_ends_after_start"
            ),
            models.UniqueConstraint(fields=["start"], name="pay_period_unique_start"),
        ]

    def __str__(self) -> str:
        return f"Pay period {self.start:%d %b %Y} to {self.end:%d %b %Y}"

    @property
    def locked(self) -> bool:
        return self.status == self.Status.LOCKED


class PayPeriodLog(models.Model):
    """Who approved and locked, or reopened, a pay period, when, and why."""

    class Action(models.TextChoices):
        LOCK = "lock", "Approved and locked"
        REOPEN = "reopen", "Reopened"

    period = models.ForeignKey(PayPeriod, on_delete=models.CASCADE, related_name="log")
    action = models.CharField(max_length=10, choices=Action.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "pay period change"

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.period} by {self.by}"


class ManagerDigest(models.Model):
    """A daily digest e-mail sent to a manager for one workday: one row per manager and day, so that
    running the task twice sends it once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)
    recipient = models.EmailField()
    summary = models.JSONField(default=dict, help_text="The figures the e-mail gave.")

    class Meta:
        ordering = ["-day", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="one_digest_per_manager_and_day")]

    def __str__(self) -> str:
        return f"Digest of {self.day} to {self.recipient}"
