"""Privacy of biometric data: delete a person's face data on request, and keep it no longer than needed.

Attendance events are not biometric data and are kept: deleting a person's face data leaves their
timesheet intact. Every deletion is written to the audit log with who asked and what went.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from attendance.models import CheckinAttempt
from attendance_site.audit import audit_record, person_label
from attendance_site.models import AuditEntry
from people.models import FaceImage, Person
from people.services import person_delete, storage_delete
from recognition.services import recogniser_request_training, recogniser_versions_forget


@dataclass
class BiometricDeletion:
    person: str
    photos: int = 0
    frames: int = 0
    files: list[str] = field(default_factory=list)


def person_biometrics_delete(
    *, person: Person, by=None, reason: str = "", dry_run: bool = False
) -> BiometricDeletion:
    """Delete a person's face photos (files and embeddings) and stored check-in frames, then retrain.

    Every stored recogniser version forgets them in the same transaction (the active one is
    rewritten without them, older ones lose their artifact), so no worker names them from the
    commit on. The files are removed once the deletion commits, so a rolled-back deletion keeps
    them. With dry_run, only say what would go.
    """
    photos = list(person.face_images.values_list("pk", "image"))
    attempts = list(CheckinAttempt.objects.filter(person=person).exclude(frame="").values_list("pk", "frame"))
    result = BiometricDeletion(
        person=person_label(person),
        photos=len(photos),
        frames=len(attempts),
        files=[name for _, name in photos + attempts if name],
    )
    if dry_run:
        return result
    with transaction.atomic():
        FaceImage.objects.filter(pk__in=[pk for pk, _ in photos]).delete()
        recogniser_versions_forget(person_ids={person.pk})
        CheckinAttempt.objects.filter(pk__in=[pk for pk, _ in attempts]).update(frame="")
        Person.objects.filter(pk=person.pk).update(possible_duplicate_of=None, duplicate_distance=None)
        Person.objects.filter(possible_duplicate_of=person).update(
            possible_duplicate_of=None, duplicate_distance=None
        )
        detail = f"{result.photos} face photos, {result.frames} check-in frames. {reason}".strip()
        audit_record(
            user=by,
            action=AuditEntry.Action.DELETE_BIOMETRICS,
            what="biometric data",
            object_id=str(person.pk),
            person=result.person,
            detail=detail,
        )
        transaction.on_commit(lambda: storage_delete(result.files))
        if photos:
            recogniser_request_training(reason=f"biometric data of {person.employee_id} deleted")
    return result


def person_erase(*, person: Person, by=None) -> BiometricDeletion:
    """Delete a person and all their biometric data: photos, embeddings, kept check-in frames, and
    their place in every recogniser version; all or nothing.

    Their check-in attempts point to nobody once the person is gone (SET_NULL), so the frames are
    deleted first, while they can still be found by person.
    """
    with transaction.atomic():
        result = person_biometrics_delete(person=person, by=by, reason="person deleted")
        person_delete(person=person)
    return result


@dataclass
class RetentionReport:
    frames: list[str] = field(default_factory=list)  # attempt ids whose frame goes
    people: list[str] = field(default_factory=list)  # labels of people whose face data goes
    dry_run: bool = False

    def lines(self) -> list[str]:
        verb = "would delete" if self.dry_run else "deleted"
        days = settings.CHECKIN_FRAME_RETENTION_DAYS
        return [
            f"{verb} {len(self.frames)} check-in frames older than {days} days",
            *(f"  frame of attempt {attempt}" for attempt in self.frames),
            f"{verb} the biometric data of {len(self.people)} people inactive for more than "
            f"{settings.BIOMETRIC_RETENTION_INACTIVE_DAYS} days",
            *(f"  {person}" for person in self.people),
        ]


def retention_apply(*, now: dt.datetime | None = None, dry_run: bool = False) -> RetentionReport:
    """Delete check-in frames past their retention, and the face data of long-inactive people."""
    now = now or timezone.now()
    report = RetentionReport(dry_run=dry_run)
    frame_cutoff = now - dt.timedelta(days=settings.CHECKIN_FRAME_RETENTION_DAYS)
    old_frames = CheckinAttempt.objects.filter(created_at__lt=frame_cutoff).exclude(frame="")
    frames = list(old_frames.values_list("pk", "frame"))
    report.frames = [str(pk) for pk, _ in frames]
    people_cutoff = now - dt.timedelta(days=settings.BIOMETRIC_RETENTION_INACTIVE_DAYS)
    inactive = (
        Person.objects.filter(is_active=False, deactivated_at__lt=people_cutoff)
        .filter(face_images__isnull=False)
        .distinct()
    )
    report.people = [person_label(p) for p in inactive]
    if dry_run:
        return report
    with transaction.atomic():
        CheckinAttempt.objects.filter(pk__in=[pk for pk, _ in frames]).update(frame="")
        if frames:
            audit_record(
                user=None, action=AuditEntry.Action.RETENTION, what="check-in frames",
                detail=f"{len(frames)} frames older than {settings.CHECKIN_FRAME_RETENTION_DAYS} days",
            )  # fmt: skip
        transaction.on_commit(lambda: storage_delete([name for _, name in frames]))
    for person in inactive:
        person_biometrics_delete(
            person=person, reason=f"inactive for more than {settings.BIOMETRIC_RETENTION_INACTIVE_DAYS} days"
        )
    return report
