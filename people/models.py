"""Employees, their departments and their face photos."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models


class Department(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ConsentText(models.Model):
    """A version of the face data consent text people agree to before enrolment.

    The newest is the current one. A text that somebody agreed to is never changed (the admin
    refuses): a new wording is a new version, so what each person agreed to stays on record.
    """

    version = models.CharField(max_length=50, unique=True, help_text="A short name, e.g. 2026-1.")
    text = models.TextField(
        help_text="The words the person reads and agrees to; blank lines separate paragraphs."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        get_latest_by = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Consent text {self.version}"


class Person(models.Model):
    employee_id = models.CharField(max_length=50, unique=True)
    full_name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="people"
    )
    is_active = models.BooleanField("active", default=True)
    # When the person was last switched to inactive: the retention policy counts from here.
    deactivated_at = models.DateTimeField(null=True, blank=True, editable=False)
    shift_start = models.TimeField(default=dt.time(9, 0))
    shift_end = models.TimeField(default=dt.time(17, 0))
    consent_given_at = models.DateTimeField(null=True, blank=True)
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    consent_text_version = models.CharField(max_length=50, blank=True)
    # Set by the enrolment worker when this person's face matches somebody else's: HR checks it.
    possible_duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    duplicate_distance = models.FloatField(null=True, blank=True)
    # HR checked a flag and found two different people: this one is never flagged against them again.
    not_duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["full_name"]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return f"{self.full_name} ({self.employee_id})"

    @property
    def first_name(self) -> str:
        return self.full_name.split()[0] if self.full_name else ""


def face_image_path(instance: FaceImage, filename: str) -> str:
    """Store photos under an unguessable name in a per-person folder of private storage."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"faces/{instance.person_id}/{uuid.uuid4().hex}.{suffix[:5]}"


class FaceImage(models.Model):
    class Source(models.TextChoices):
        UPLOAD = "upload", "Uploaded file"
        WEBCAM = "webcam", "Webcam shot"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="face_images")
    image = models.FileField(upload_to=face_image_path, max_length=255)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.UPLOAD)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The pose a guided webcam shot asked for (people.rules.POSES); blank for uploads.
    asked_pose = models.CharField(max_length=10, blank=True, editable=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    rejection_reason = models.TextField(blank=True)
    # Detected face: box as [x, y, w, h] in pixels, landmarks as {name: [x, y]}.
    box = models.JSONField(null=True, blank=True)
    landmarks = models.JSONField(null=True, blank=True)
    # Quality numbers: face_px, confidence, sharpness, brightness, yaw, roll.
    quality = models.JSONField(null=True, blank=True)
    # 128 little-endian float32 (512 bytes): portable across PostgreSQL and SQLite.
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    embedder_version = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["person", "created_at"]

    def __str__(self) -> str:
        return f"Photo {self.pk} of {self.person}"
