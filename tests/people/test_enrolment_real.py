"""Enrolment end to end: the admin, a real Celery worker on Redis and PostgreSQL, real photos and models."""

from __future__ import annotations

import io
import os
import signal
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageFilter

from people.models import FaceImage, Person
from recognition.models import RecogniserVersion
from recognition.services import frame_recognise
from tests.factories import UserFactory
from tests.fixtures.services import process_env, start_worker, stop_process, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STRANGER = "madonna"  # never enrolled: her photos must come back unknown
INLINE = {
    "face_images-TOTAL_FORMS": "0",
    "face_images-INITIAL_FORMS": "0",
    "face_images-MIN_NUM_FORMS": "0",
    "face_images-MAX_NUM_FORMS": "1000",
}


def photos_of(root: Path, split: str, person: str) -> list[Path]:
    return sorted(
        p for p in (root / split / person).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")
    )


def as_upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="image/jpeg")


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=92)
    return out.getvalue()


def enrol_through_admin(client, employee_id: str, full_name: str, files: list[SimpleUploadedFile]) -> Person:
    data = {
        "employee_id": employee_id,
        "full_name": full_name,
        "email": "",
        "department": "",
        "is_active": "on",
        "shift_start": "09:00",
        "shift_end": "17:00",
        "consent": "on",
        "photos": files,
        **INLINE,
    }
    response = client.post(reverse("admin:people_person_add"), data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    return Person.objects.get(employee_id=employee_id)


def all_processed() -> bool:
    return not FaceImage.objects.filter(status__in=["pending", "processing"]).exists()


@pytest.fixture
def hr_client(client):
    client.force_login(UserFactory(is_staff=True, groups=["HR"]))
    return client


def test_enrolled_celebrities_are_recognised_and_a_stranger_is_unknown(
    celebrity_dir, celebrity_worker_ready, hr_client, engine
):
    """Four people enrolled through the admin are named in their validation photos; the fifth is unknown."""
    people = sorted(p.name for p in (celebrity_dir / "train").iterdir() if p.is_dir())
    enrolled = {}
    for name in people:
        if name == STRANGER:
            continue
        files = [as_upload(p) for p in photos_of(celebrity_dir, "train", name)]
        enrolled[name] = enrol_through_admin(hr_client, f"C-{name}", name.replace("_", " ").title(), files)

    wait_for(all_processed, timeout=400, interval=1, what="the worker to process every photo")
    accepted = FaceImage.objects.filter(status="accepted").count()
    rejected = FaceImage.objects.filter(status="rejected")
    assert accepted >= 3 * len(enrolled)
    assert all(r.rejection_reason for r in rejected)

    def trained():
        return RecogniserVersion.objects.filter(is_active=True, photos_count=accepted).first()

    version = wait_for(
        trained, timeout=240, interval=1, what="a recogniser version trained on every accepted photo"
    )
    assert version.people_count == len(enrolled)
    assert version.cv_accuracy > 0.9
    assert version.training_seconds > 0

    wrong = []
    for name in people:
        for path in photos_of(celebrity_dir, "val", name):
            seen = frame_recognise(data=path.read_bytes())
            expected = None if name == STRANGER else enrolled[name].pk
            if seen.person_id != expected:
                wrong.append((name, path.name, seen))
            if seen.person_id is not None:
                assert seen.recogniser_version_id == version.pk
    assert wrong == []

    page = hr_client.get(reverse("admin:recognition_recogniserversion_changelist")).content.decode()
    assert f"{version.training_seconds:.1f} s" in page
    assert f"{version.cv_accuracy:.1%}" in page


@pytest.fixture
def celebrity_worker_ready(celery_worker_process, settings):
    """The real worker, with training debounced by its default; enrolment state starts empty."""
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    return celery_worker_process


def test_quality_rejections_with_real_photos(celebrity_dir, celebrity_worker_ready, hr_client):
    """No face, two faces, a tiny face and a strongly blurred face are each rejected with their reason."""
    sources = photos_of(celebrity_dir, "train", "ben_afflek")
    largest = max(sources, key=lambda p: Image.open(p).size[0] * Image.open(p).size[1])
    person = enrol_through_admin(hr_client, "Q-1", "Quality Check", [as_upload(largest)])
    wait_for(all_processed, timeout=180, interval=0.5, what="the reference photo")
    reference = person.face_images.get()
    assert reference.status == "accepted", reference.rejection_reason
    face_px = max(reference.box[2], reference.box[3])

    original = Image.open(largest).convert("RGB")
    blank = Image.new("RGB", (640, 480), (128, 128, 128))
    landscape = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    second = Image.open(photos_of(celebrity_dir, "train", "elton_john")[0]).convert("RGB")
    height = 300
    left = original.resize((round(original.width * height / original.height), height))
    right = second.resize((round(second.width * height / second.height), height))
    pair = Image.new("RGB", (left.width + right.width, height))
    pair.paste(left, (0, 0))
    pair.paste(right, (left.width, 0))
    scale = 58 / face_px
    tiny = original.resize((round(original.width * scale), round(original.height * scale)))
    blurred = original.filter(ImageFilter.GaussianBlur(face_px / 20))
    cases = {
        "blank.jpg": (blank, "No face"),
        "landscape.jpg": (landscape, "No face"),
        "pair.jpg": (pair, "2 faces"),
        "tiny.jpg": (tiny, "too small"),
        "blurred.jpg": (blurred, "too blurred"),
    }
    files = [
        SimpleUploadedFile(name, jpeg(img), content_type="image/jpeg") for name, (img, _) in cases.items()
    ]
    data = {
        "employee_id": "Q-1",
        "full_name": "Quality Check",
        "email": "",
        "department": "",
        "is_active": "on",
        "shift_start": "09:00",
        "shift_end": "17:00",
        "photos": files,
        "face_images-TOTAL_FORMS": "1",
        "face_images-INITIAL_FORMS": "1",
        "face_images-MIN_NUM_FORMS": "0",
        "face_images-MAX_NUM_FORMS": "1000",
        "face_images-0-id": str(reference.pk),
        "face_images-0-person": str(person.pk),
    }
    response = hr_client.post(reverse("admin:people_person_change", args=[person.pk]), data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    wait_for(all_processed, timeout=180, interval=0.5, what="the test photos")
    new = list(person.face_images.exclude(pk=reference.pk).order_by("created_at"))
    assert len(new) == len(cases)
    for image, (name, (_, reason)) in zip(new, cases.items(), strict=True):
        assert image.status == "rejected", (name, image.quality)
        assert reason in image.rejection_reason, (name, image.rejection_reason, image.quality)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(v) for v in out.split()]


def test_a_photo_survives_its_worker_process_being_killed(
    celebrity_dir, media_root, tmp_path, hr_client, monkeypatch
):
    """Killing the worker child mid-photo loses nothing: the photo is processed by its replacement."""
    from people import services
    from people.tasks import face_image_process_task

    # This photo goes to a queue only the worker started here consumes, not the shared worker.
    monkeypatch.setattr(services, "_enqueue_processing", lambda pk: None)

    queue = "enrolment-kill-test"
    worker = start_worker(process_env(media_root, tmp_path), tmp_path / "worker.log", queues=queue)
    try:
        photo = photos_of(celebrity_dir, "train", "elton_john")[0]
        big = Image.open(photo).convert("RGB")
        big = big.resize((big.width * 12, big.height * 12))  # a slow photo: a wide window to kill in
        person = enrol_through_admin(hr_client, "K-1", "Kill Test", [])
        image = services.face_image_add(
            person=person,
            upload=SimpleUploadedFile("big.jpg", jpeg(big), content_type="image/jpeg"),
            source="upload",
            uploaded_by=None,
        )
        face_image_process_task.apply_async(args=[image.pk], queue=queue)

        def processing():
            return FaceImage.objects.filter(pk=image.pk, status="processing").exists()

        wait_for(processing, timeout=180, interval=0.01, what="the worker to start on the photo")
        children = _children(worker.process.pid)
        assert children, worker.log()[-2000:]
        for pid in children:
            os.kill(pid, signal.SIGKILL)

        def done():
            return FaceImage.objects.filter(pk=image.pk, status__in=["accepted", "rejected"]).first()

        result = wait_for(done, timeout=180, interval=0.5, what="the photo to be processed after the kill")
        assert result.status == "accepted", result.rejection_reason
        assert "WorkerLostError" in worker.log() or "exited with" in worker.log()
    finally:
        stop_process(worker.process)
