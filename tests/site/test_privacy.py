"""Deleting biometric data on request, and the retention policy, with real faces and real files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
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


# --- Deletion means gone from every recogniser version, file, frame and Redis (issue 13: 2, 3, 9) ---


def version_faces(version) -> tuple[set[int], np.ndarray]:
    """Return the people and gallery faces a stored version holds (nothing when its artifact is gone)."""
    from recognition.ml.recogniser import Recogniser

    version.refresh_from_db()
    if version.artifact is None:
        return set(), np.empty((0, 128), dtype=np.float32)
    recogniser = Recogniser.from_bytes(bytes(version.artifact), sha256=version.sha256)
    return set(recogniser.person_ids.tolist()), recogniser.gallery


def redis_values() -> list[bytes]:
    """Return every value of every key in the test broker's Redis database."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    values = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"string":
            values.append(client.get(key) or b"")
        elif kind == b"list":
            values.extend(client.lrange(key, 0, -1))
        elif kind == b"hash":
            values.extend(client.hvals(key))
        elif kind in (b"set", b"zset"):
            values.extend(client.smembers(key) if kind == b"set" else client.zrange(key, 0, -1))
        values.append(key)
    return values


@pytest.mark.django_db(transaction=True)
def test_a_deleted_person_leaves_no_trace_in_versions_files_frames_rows_or_redis(
    enrolled, media_root, settings
):
    """Deleting a person in the admin: no version can name them, no file, frame, embedding or Redis
    value of theirs is left; the others are still recognised by the active version at once."""
    from django.test import Client

    from recognition.services import embedding_identify

    settings.CHECKIN_KEEP_FRAMES = "all"
    madonna = enrolled["madonna"]
    photos = [bytes(f.image.read()) for f in FaceImage.objects.filter(person=madonna)]
    embeddings = [
        np.frombuffer(f.embedding, dtype=np.float32) for f in FaceImage.objects.filter(person=madonna)
    ]
    older = recogniser_train(trigger="older")
    active = recogniser_train(trigger="active")
    assert madonna.pk in version_faces(older)[0] and madonna.pk in version_faces(active)[0]
    frame = b"\xff\xd8 madonna at the kiosk " + bytes(range(256))
    attempt = CheckinAttempt.objects.create(kiosk=KioskFactory(), person=madonna)
    attempt.frame.save(f"{attempt.pk}.jpg", ContentFile(frame), save=True)
    frame_path = media_root / attempt.frame.name
    assert frame_path.exists()

    # Files other tests of this session left in the shared MEDIA_ROOT may hold the same photos.
    hers = {*files_of(madonna, media_root), frame_path}
    others = {p for p in media_root.rglob("*") if p.is_file()} - hers
    client = Client()
    client.force_login(UserFactory(username="hr-erase", is_staff=True, groups=["HR"]))
    response = client.post(f"/admin/people/person/{madonna.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Person.objects.filter(pk=madonna.pk).exists()

    # Recogniser versions: the active one is rewritten without her, the older one lost its artifact.
    for version in (older, active):
        people, gallery = version_faces(version)
        assert madonna.pk not in people
        for embedding in embeddings:
            assert not np.isclose(gallery, embedding, atol=1e-6).all(axis=1).any()
    active.refresh_from_db()
    assert active.is_active and version_faces(active)[0] == {
        enrolled["ben_afflek"].pk,
        enrolled["elton_john"].pk,
    }
    assert older.artifact is None
    for embedding in embeddings:  # the workers' active version does not name her, before any retrain
        _, answer = embedding_identify(embedding)
        assert answer.candidate_id != madonna.pk
    ben = FaceImage.objects.filter(person=enrolled["ben_afflek"]).first()
    _, answer = embedding_identify(np.frombuffer(ben.embedding, dtype=np.float32))
    assert answer.person_id == enrolled["ben_afflek"].pk

    # Files and frames: nothing under MEDIA_ROOT holds her photos or her check-in frame.
    assert not frame_path.exists()
    assert not any(p.exists() for p in hers)
    stored = [p.read_bytes() for p in media_root.rglob("*") if p.is_file() and p not in others]
    assert not any(data in stored for data in [*photos, frame])
    assert not CheckinAttempt.objects.exclude(frame="").filter(pk=attempt.pk).exists()
    # Rows: no embedding of hers anywhere.
    blobs = set(FaceImage.objects.values_list("embedding", flat=True))
    assert not any(e.tobytes() in blobs for e in embeddings)
    # Redis: no value holds her employee id, a photo, an embedding or the frame.
    needles = [
        madonna.employee_id.encode(),
        frame[:32],
        *(p[:64] for p in photos),
        *(e.tobytes() for e in embeddings),
    ]
    assert not any(needle in value for value in redis_values() for needle in needles)


@pytest.mark.django_db(transaction=True)
def test_deleting_biometric_data_makes_the_active_version_forget_at_once(enrolled):
    """With the training worker down, the active version no longer names her from the deletion on."""
    from recognition.services import embedding_identify

    madonna = enrolled["madonna"]
    embedding = np.frombuffer(FaceImage.objects.filter(person=madonna).first().embedding, dtype=np.float32)
    active = recogniser_train(trigger="before")
    assert embedding_identify(embedding)[1].person_id == madonna.pk
    person_biometrics_delete(person=madonna, reason="consent withdrawn")
    assert madonna.pk not in known_people(active)
    active.refresh_from_db()
    assert active.is_active and active.people_count == 2
    version_id, answer = embedding_identify(embedding)
    assert version_id == active.pk and answer.person_id != madonna.pk


@pytest.mark.django_db(transaction=True)
def test_a_training_run_that_read_a_person_before_their_deletion_does_not_bring_them_back(
    enrolled, monkeypatch
):
    """A run that read the faces before the deletion commits activates a version without that person."""
    from recognition import training

    stale = training.training_data()
    madonna = enrolled["madonna"]
    person_biometrics_delete(person=madonna, reason="consent withdrawn")
    monkeypatch.setattr(training, "training_data", lambda: stale)  # as read before the deletion
    version = recogniser_train(trigger="racing the deletion")
    assert version.is_active
    assert known_people(version) == {enrolled["ben_afflek"].pk, enrolled["elton_john"].pk}
