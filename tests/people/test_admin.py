"""The HR admin: enrolling with consent and several photos, refusing bad uploads, private photos."""

import io
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from people.models import FaceImage, Person
from recognition.models import RecogniserVersion, TrainingState
from tests.factories import UserFactory
from tests.people.factories import AcceptedFaceImageFactory, ConsentedPersonFactory
from tests.support.images import plain_jpeg

pytestmark = pytest.mark.django_db

INLINE = {
    "face_images-TOTAL_FORMS": "0",
    "face_images-INITIAL_FORMS": "0",
    "face_images-MIN_NUM_FORMS": "0",
    "face_images-MAX_NUM_FORMS": "1000",
}


@pytest.fixture
def queued(monkeypatch):
    """Record the names of the tasks that would be sent to the workers instead of sending them."""
    from attendance_site.celery import app

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, *args, **options: sent.append(name))
    return sent


@pytest.fixture
def hr_client(client):
    client.force_login(UserFactory(is_staff=True, groups=["HR"]))
    return client


def person_data(**extra):
    return {
        "employee_id": "E-100",
        "full_name": "Ada Lovelace",
        "email": "",
        "department": "",
        "is_active": "on",
        "shift_start": "09:00",
        "shift_end": "17:00",
        **INLINE,
        **extra,
    }


def photo(name="a.jpg", data=None, content_type="image/jpeg"):
    return SimpleUploadedFile(
        name, data if data is not None else plain_jpeg((200, 160)), content_type=content_type
    )


def stored_faces(media_root):
    return (
        [p for p in (media_root / "faces").rglob("*") if p.is_file()]
        if (media_root / "faces").exists()
        else []
    )


def test_hr_enrols_a_person_with_consent_and_several_photos(
    hr_client, queued, django_capture_on_commit_callbacks
):
    """One admin post creates the person, records consent and queues each photo for processing."""
    with django_capture_on_commit_callbacks(execute=True):
        response = hr_client.post(
            reverse("admin:people_person_add"),
            person_data(consent="on", photos=[photo("a.jpg"), photo("b.png", _png())]),
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    person = Person.objects.get(employee_id="E-100")
    assert person.consent_given_at is not None
    assert person.consent_recorded_by.groups.filter(name="HR").exists()
    images = list(person.face_images.all())
    assert [i.status for i in images] == [FaceImage.Status.PENDING] * 2
    assert queued == ["people.face_image_process", "people.face_image_process"]


def _png():
    out = io.BytesIO()
    Image.new("RGB", (120, 120), (10, 20, 30)).save(out, format="PNG")
    return out.getvalue()


def _truncated_jpeg():
    """Return a real photo-sized JPEG cut off halfway through its image data."""
    import numpy as np

    noise = np.random.default_rng(0).integers(0, 255, size=(300, 400, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, format="JPEG")
    data = out.getvalue()
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda: photo("notes.jpg", b"these are not pixels"), "not an image"),
        (lambda: photo("cut.jpg", _truncated_jpeg()), "damaged or incomplete"),
        (lambda: photo("doc.jpg", plain_jpeg(), content_type="text/plain"), "not accepted"),
        (lambda: photo("huge.jpg", plain_jpeg((1200, 1000))), "over the limit"),
    ],
    ids=["not-an-image", "truncated-jpeg", "wrong-content-type", "too-many-pixels"],
)
def test_bad_uploads_are_refused_and_nothing_is_saved(
    hr_client, queued, settings, media_root, upload, message
):
    """A bad photo is refused in the form with a clear message; no person, photo or file remains."""
    settings.ENROLMENT_MAX_PIXELS = 1_000_000
    before = stored_faces(media_root)
    response = hr_client.post(
        reverse("admin:people_person_add"), person_data(consent="on", photos=[upload()])
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Person.objects.filter(employee_id="E-100").exists()
    assert FaceImage.objects.count() == 0
    assert stored_faces(media_root) == before
    assert queued == []


def test_a_file_over_the_size_limit_is_refused(hr_client, queued, settings):
    """A file larger than ENROLMENT_MAX_UPLOAD_BYTES is refused, naming the limit."""
    settings.ENROLMENT_MAX_UPLOAD_BYTES = 1000
    response = hr_client.post(reverse("admin:people_person_add"), person_data(consent="on", photos=[photo()]))
    assert (
        "over the limit of 0.0 MB" in response.content.decode()
        or "over the limit" in response.content.decode()
    )
    assert not Person.objects.exists()


def test_photos_without_consent_are_refused(hr_client, queued):
    """Photos cannot be added in the same post unless consent is ticked."""
    response = hr_client.post(reverse("admin:people_person_add"), person_data(photos=[photo()]))
    assert response.status_code == 200
    assert "Record the person&#x27;s consent" in response.content.decode()
    assert not Person.objects.exists()


def test_face_photos_are_served_only_to_hr(client, settings):
    """Anonymous users are sent to log in, a manager is refused, HR gets the photo and a thumbnail."""
    assert settings.MEDIA_URL is None
    image = AcceptedFaceImageFactory(box=[10, 10, 30, 30], landmarks={"nose": [20, 20]})
    url = reverse("people:face-image", args=[image.pk])
    thumb = reverse("people:face-image-thumbnail", args=[image.pk])
    assert client.get(url).status_code == 302
    client.force_login(UserFactory(is_staff=True, groups=["Managers"]))
    assert client.get(url).status_code == 403
    assert client.get(thumb).status_code == 403
    client.force_login(UserFactory(is_staff=True, groups=["HR"]))
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"]
    thumbnail = client.get(thumb)
    assert thumbnail.status_code == 200
    assert Image.open(io.BytesIO(thumbnail.content)).format == "JPEG"


def test_person_list_shows_photo_counts_and_filters_by_enrolment_state(hr_client, settings):
    """The list shows accepted photos and the state; the state filter keeps only matching people."""
    settings.ENROLMENT_MIN_PHOTOS = 3
    ready = ConsentedPersonFactory(full_name="Ready Person")
    AcceptedFaceImageFactory.create_batch(3, person=ready)
    ConsentedPersonFactory(full_name="Nobody Yet")
    url = reverse("admin:people_person_changelist")
    page = hr_client.get(url).content.decode()
    assert "Ready Person" in page and "Not enrolled" in page and "Ready" in page
    filtered = hr_client.get(url, {"enrolment": "ready"}).content.decode()
    assert "Ready Person" in filtered and "Nobody Yet" not in filtered


def test_progress_json_reports_each_photo_and_training(hr_client):
    """The progress endpoint lists the person's photos with status and the training state."""
    image = AcceptedFaceImageFactory()
    data = hr_client.get(reverse("people:person-progress", args=[image.person_id])).json()
    assert data["photos"][0]["status"] == "accepted"
    assert data["accepted"] == 1
    assert "training" in data
    # After an embedder upgrade HR sees how many photos are still to re-embed (none here).
    assert data["training"]["reembedding"]["pending"] == 0 and data["training"]["reembedding"]["done"] == 1


def test_retrain_button_queues_a_training_run(hr_client, queued):
    """HR's "Retrain recogniser now" marks the enrolment changed and queues a run."""
    response = hr_client.post(reverse("admin:recognition_recogniserversion_retrain"))
    assert response.status_code == 302
    assert TrainingState.objects.get(pk=1).dirty_since is not None


def test_versions_show_training_time_and_cv_accuracy(hr_client):
    """The versions list shows each run's training time, cross-validated accuracy and threshold."""
    RecogniserVersion.objects.create(
        status="ready", training_seconds=12.345, cv_accuracy=0.9876, threshold=0.8761, sha256="ab" * 32
    )
    page = hr_client.get(reverse("admin:recognition_recogniserversion_changelist")).content.decode()
    assert "12.3 s" in page and "98.8%" in page and "0.88" in page
    assert 'id="figures-explained"' in page  # what the threshold means, for HR


def test_deleting_a_person_in_the_admin_removes_their_files(
    hr_client, queued, django_capture_on_commit_callbacks
):
    """Deleting a person through the admin removes their photo files and asks for retraining."""
    images = AcceptedFaceImageFactory.create_batch(2, person=ConsentedPersonFactory())
    names = [i.image.name for i in images]
    with django_capture_on_commit_callbacks(execute=True):
        response = hr_client.post(
            reverse("admin:people_person_delete", args=[images[0].person_id]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not any(default_storage.exists(n) for n in names)
    assert "recognition.train" in queued


def _zip(entries):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    return SimpleUploadedFile("people.zip", out.getvalue(), content_type="application/zip")


def test_zip_enrols_many_people_at_once(hr_client, queued, django_capture_on_commit_callbacks):
    """A folder-per-person zip creates the people with consent and queues all their photos."""
    archive = _zip({f"{who}/{i}.jpg": plain_jpeg() for who in ("E-1", "E-2") for i in range(3)})
    with django_capture_on_commit_callbacks(execute=True):
        response = hr_client.post(
            reverse("admin:people_person_import_zip"),
            {"archive": archive, "create_missing": "on", "consent_confirmed": "on", "mode": "keep"},
        )
    assert response.status_code == 302
    assert set(Person.objects.values_list("employee_id", flat=True)) == {"E-1", "E-2"}
    assert all(p.consent_given_at for p in Person.objects.all())
    assert FaceImage.objects.count() == 6
    assert queued.count("people.face_image_process") == 6


def test_zip_with_one_bad_photo_saves_nothing(hr_client, queued, media_root):
    """One unreadable photo in the zip refuses the whole zip, naming the file."""
    before = stored_faces(media_root)
    archive = _zip({"E-1/a.jpg": plain_jpeg(), "E-1/b.jpg": b"garbage"})
    response = hr_client.post(
        reverse("admin:people_person_import_zip"),
        {"archive": archive, "create_missing": "on", "consent_confirmed": "on", "mode": "keep"},
    )
    assert response.status_code == 200
    assert "E-1/b.jpg" in response.content.decode()
    assert not Person.objects.exists()
    assert stored_faces(media_root) == before


def test_webcam_shot_stores_a_webcam_photo_and_refuses_bad_ones(client, queued):
    """A webcam shot is stored as a webcam photo; a non-image or a person without consent is refused."""
    from tests.factories import PersonFactory

    person = ConsentedPersonFactory()
    url = reverse("people:webcam-shot", args=[person.pk])
    client.force_login(UserFactory(is_staff=True, groups=["Managers"]))
    assert client.post(url, {"shot": photo()}).status_code == 403
    client.force_login(UserFactory(is_staff=True, groups=["HR"]))
    response = client.post(url, {"shot": photo("shot.jpg")})
    assert response.status_code == 201
    assert FaceImage.objects.get(pk=response.json()["id"]).source == FaceImage.Source.WEBCAM
    bad = client.post(url, {"shot": photo("shot.jpg", b"\xff\xd8 not really")})
    assert bad.status_code == 400 and "image" in bad.json()["error"]
    no_consent = client.post(reverse("people:webcam-shot", args=[PersonFactory().pk]), {"shot": photo()})
    assert no_consent.status_code == 400 and "consent" in no_consent.json()["error"]
    assert FaceImage.objects.count() == 1


def test_switching_a_person_off_asks_for_retraining(hr_client, queued, django_capture_on_commit_callbacks):
    """Unticking Active in the admin marks the enrolment changed, so the next version drops them."""
    person = ConsentedPersonFactory(employee_id="E-100")
    data = person_data()
    data.pop("is_active")
    with django_capture_on_commit_callbacks(execute=True):
        response = hr_client.post(reverse("admin:people_person_change", args=[person.pk]), data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    person.refresh_from_db()
    assert not person.is_active
    assert TrainingState.objects.get(pk=1).last_reason == "E-100 deactivated"
    assert "recognition.train" in queued


def test_a_refused_form_says_to_choose_the_photos_again(hr_client, queued):
    """An error elsewhere in the form (a taken employee id) names the photos to choose again."""
    ConsentedPersonFactory(employee_id="E-100")
    response = hr_client.post(
        reverse("admin:people_person_add"), person_data(consent="on", photos=[photo("a.jpg"), photo("b.jpg")])
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "the 2 photo(s) you chose were not kept" in text
    assert FaceImage.objects.count() == 0 and queued == []
