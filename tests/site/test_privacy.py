"""Deleting biometric data on request, and the retention policy, with real faces and real files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from attendance.models import AttendanceEvent, CheckinAttempt
from attendance_site.models import AuditEntry
from attendance_site.privacy import person_biometrics_delete, retention_apply
from people.models import FaceImage, Person
from recognition.services import (
    embedder_version,
    embedding_to_bytes,
    recogniser_train,
    recogniser_version_people,
)
from tests.factories import AttendanceEventFactory, KioskFactory, PersonFactory, UserFactory

PEOPLE = ("ben_afflek", "elton_john", "madonna")


@pytest.fixture
def enrolled(celebrity_analyses, media_root, db):
    """Three consenting people, each with four accepted photos (real files, real FaceNet embeddings)."""
    by_name = {}
    for name in PEOPLE:
        person = PersonFactory(full_name=name.replace("_", " ").title(), consent_given_at=timezone.now())
        photos = [p for p in celebrity_analyses["train"] if p.person == name and len(p.faces) == 1][:4]
        for photo in photos:
            face = FaceImage(
                person=person,
                status=FaceImage.Status.ACCEPTED,
                embedding=embedding_to_bytes(photo.faces[0].embedding),
                embedder_version=embedder_version(),
            )
            face.image.save(photo.path.name, ContentFile(photo.path.read_bytes()), save=True)
        by_name[name] = person
    return by_name


def files_of(person: Person, media_root: Path) -> list[Path]:
    folder = media_root / "faces" / str(person.pk)
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def known_people(version) -> set[int]:
    return recogniser_version_people(version_id=version.pk)


@pytest.mark.django_db(transaction=True)
def test_deleting_biometric_data_leaves_no_file_no_embedding_and_an_unknown_person(enrolled, media_root):
    """After deletion: no file of theirs in media, no embedding row, the next version does not know them."""
    madonna = enrolled["madonna"]
    before = recogniser_train(trigger="before deletion")
    assert madonna.pk in known_people(before)
    assert files_of(madonna, media_root)
    event = AttendanceEventFactory(person=madonna, timestamp=timezone.now() - dt.timedelta(hours=3))
    hr = UserFactory(username="hr-privacy", is_staff=True, groups=["HR"])

    result = person_biometrics_delete(person=madonna, by=hr, reason="consent withdrawn")

    assert result.photos == 4
    assert files_of(madonna, media_root) == []
    assert not FaceImage.objects.filter(person=madonna).exists()
    after = recogniser_train(trigger="after deletion")
    assert after.is_active
    assert madonna.pk not in known_people(after)
    assert known_people(after) == {enrolled["ben_afflek"].pk, enrolled["elton_john"].pk}
    assert AttendanceEvent.objects.filter(pk=event.pk).exists()
    entry = AuditEntry.objects.get(action="delete_biometrics")
    assert entry.username == "hr-privacy"
    assert madonna.employee_id in entry.person
    assert "consent withdrawn" in entry.detail


@pytest.mark.django_db(transaction=True)
def test_delete_command_dry_run_lists_and_keeps_everything(enrolled, media_root, capsys):
    """`delete_biometric_data --dry-run` names the files and deletes none of them."""
    elton = enrolled["elton_john"]
    call_command("delete_biometric_data", elton.employee_id, "--dry-run")
    out = capsys.readouterr().out
    assert "Would delete 4 face photos" in out
    assert len(files_of(elton, media_root)) == 4
    assert FaceImage.objects.filter(person=elton).count() == 4


@pytest.mark.django_db(transaction=True)
def test_retention_deletes_old_frames_and_long_inactive_peoples_face_data(enrolled, media_root):
    """Old frames and face data of long-inactive people go; recent frames and active people stay."""
    kiosk = KioskFactory()
    now = timezone.now()
    old, recent = (CheckinAttempt.objects.create(kiosk=kiosk) for _ in range(2))
    for attempt, age in ((old, 40), (recent, 2)):
        attempt.frame.save("frame.jpg", ContentFile(b"\xff\xd8 not really a frame"), save=True)
        CheckinAttempt.objects.filter(pk=attempt.pk).update(created_at=now - dt.timedelta(days=age))
    old_frame = media_root / CheckinAttempt.objects.get(pk=old.pk).frame.name
    ben = enrolled["ben_afflek"]
    Person.objects.filter(pk=ben.pk).update(is_active=False, deactivated_at=now - dt.timedelta(days=400))

    dry = retention_apply(dry_run=True)
    assert dry.frames == [str(old.pk)]
    assert dry.people == [f"{ben.employee_id} {ben.full_name}"]
    assert old_frame.exists() and files_of(ben, media_root)

    retention_apply()
    assert not old_frame.exists()
    assert CheckinAttempt.objects.get(pk=old.pk).frame.name == ""
    assert CheckinAttempt.objects.get(pk=recent.pk).frame.name != ""
    assert files_of(ben, media_root) == []
    assert FaceImage.objects.filter(person=enrolled["elton_john"]).count() == 4
    assert AuditEntry.objects.filter(action="retention").exists()


@pytest.mark.django_db(transaction=True)
def test_hr_deletes_biometric_data_from_the_admin_after_confirming(enrolled, media_root):
    """The admin action first asks for confirmation, then deletes the photos and logs HR's reason."""
    from django.test import Client

    elton = enrolled["elton_john"]
    client = Client()
    client.force_login(UserFactory(username="hr-action", is_staff=True, groups=["HR"]))
    form = {"action": "delete_biometric_data", "_selected_action": [elton.pk]}
    confirm = client.post("/admin/people/person/", form)
    assert confirm.status_code == 200
    assert b"4 face photos" in confirm.content
    assert FaceImage.objects.filter(person=elton).count() == 4

    done = client.post("/admin/people/person/", {**form, "confirm": "yes", "reason": "left the company"})
    assert done.status_code == 302
    assert files_of(elton, media_root) == []
    assert not FaceImage.objects.filter(person=elton).exists()
    assert Person.objects.filter(pk=elton.pk).exists()
    entry = AuditEntry.objects.get(action="delete_biometrics")
    assert (entry.username, entry.detail.endswith("left the company")) == ("hr-action", True)


@pytest.mark.django_db
def test_switching_a_person_off_in_the_admin_starts_the_retention_clock(db):
    """Deactivating a person records when; reactivating clears it."""
    from people.services import person_saved

    person = PersonFactory()
    person.is_active = False
    person.save()
    person_saved(person=person, changed=["is_active"])
    assert Person.objects.get(pk=person.pk).deactivated_at is not None
    person.is_active = True
    person.save()
    person_saved(person=person, changed=["is_active"])
    assert Person.objects.get(pk=person.pk).deactivated_at is None
