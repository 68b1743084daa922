"""The HR zip import against hostile archives (issue 13: 6, and the zip half of 13).

The attack: a 2 MB zip whose entry declared 1,000 bytes but inflated to 1.9 GB grew the web worker
from 413 MB to 2.3 GB, because declared sizes were trusted and every photo was decoded before the
employee ids were checked.
"""

import io
import struct
import tracemalloc
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from people.models import FaceImage, Person
from people.services import zip_read
from tests.factories import UserFactory
from tests.people.factories import ConsentedPersonFactory
from tests.support.images import plain_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def hr_client(client):
    client.force_login(UserFactory(is_staff=True, groups=["HR"]))
    return client


def zip_upload(entries: dict[str, bytes], *, declare: dict[str, int] | None = None) -> SimpleUploadedFile:
    """Return a deflated zip of `entries`; `declare` overwrites the uncompressed sizes its headers state."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    raw = bytearray(out.getvalue())
    for name, size in (declare or {}).items():
        encoded = name.encode()
        # Local file header: uncompressed size at offset 22; central directory entry: at offset 24.
        for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
            start = 0
            while (start := raw.find(signature, start)) != -1:
                if raw[start + name_at : start + name_at + len(encoded)] == encoded:
                    struct.pack_into("<I", raw, start + size_at, size)
                start += 4
    return SimpleUploadedFile("people.zip", bytes(raw), content_type="application/zip")


def test_an_entry_inflating_far_beyond_its_declared_size_is_refused_in_bounded_memory():
    """An entry declaring 1,000 bytes that inflates to 100 MB is refused while peak memory stays small."""
    ConsentedPersonFactory(employee_id="E-1")
    bomb = b"\0" * (100 * 1024 * 1024)
    archive = zip_upload({"E-1/a.jpg": bomb}, declare={"E-1/a.jpg": 1000})
    del bomb
    assert archive.size < 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError) as caught:
            zip_read(archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "E-1/a.jpg" in caught.value.messages[0] and "zip bomb" in caught.value.messages[0]
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB while reading a 100 MB bomb"


def test_real_inflated_sizes_count_against_the_per_photo_limit(settings):
    """A photo over the per-photo limit once inflated is refused, whatever the zip declares."""
    settings.ENROLMENT_MAX_UPLOAD_BYTES = 200_000
    ConsentedPersonFactory(employee_id="E-1")
    archive = zip_upload({"E-1/a.jpg": b"\0" * 1_000_000}, declare={"E-1/a.jpg": 100_000})
    with pytest.raises(ValidationError) as caught:
        zip_read(archive)
    assert "E-1/a.jpg" in " ".join(caught.value.messages)


def test_unknown_employee_ids_are_refused_before_any_photo_is_decoded():
    """Without "create missing", an unknown folder is named at once; its photos are never decoded."""
    archive = zip_upload({"NOBODY/a.jpg": b"not an image at all"})
    with pytest.raises(ValidationError) as caught:
        zip_read(archive, create_missing=False)
    message = " ".join(caught.value.messages)
    assert "NOBODY" in message and "employee id" in message
    assert "a.jpg" not in message  # the photo was not even looked at


def test_a_folder_name_too_long_for_an_employee_id_is_a_clear_error_not_a_500(hr_client):
    """A 60-character folder with "create missing" says the name is too long; nothing is saved."""
    folder = "x" * 60
    response = hr_client.post(
        reverse("admin:people_person_import_zip"),
        {"archive": zip_upload({f"{folder}/a.jpg": plain_jpeg()}), "create_missing": "on",
         "consent_confirmed": "on", "mode": "keep"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "at most 50" in response.content.decode()
    assert not Person.objects.exists() and not FaceImage.objects.exists()


def test_a_bomb_through_the_admin_page_saves_nothing_and_says_why(hr_client):
    """The admin page shows the refusal and creates no person or photo."""
    archive = zip_upload(
        {"E-9/a.jpg": plain_jpeg(), "E-9/b.jpg": b"\0" * (20 * 1024 * 1024)}, declare={"E-9/b.jpg": 500}
    )
    response = hr_client.post(
        reverse("admin:people_person_import_zip"),
        {"archive": archive, "create_missing": "on", "consent_confirmed": "on", "mode": "all"},
    )
    assert response.status_code == 200
    assert "zip bomb" in response.content.decode()
    assert not Person.objects.exists() and not FaceImage.objects.exists()


def test_keep_the_good_photos_saves_a_photo_without_a_face_for_the_worker(hr_client):
    """With "keep the good photos" a readable photo with no face is saved and left to the enrolment
    worker, which rejects it on its own, as the page says (the other choice: test_zip_import_choice)."""
    page = hr_client.get(reverse("admin:people_person_import_zip")).content.decode()
    assert "rejected on its own" in page
    ConsentedPersonFactory(employee_id="E-5")
    response = hr_client.post(
        reverse("admin:people_person_import_zip"),
        {"archive": zip_upload({"E-5/no-face.jpg": plain_jpeg()}), "consent_confirmed": "on", "mode": "keep"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert FaceImage.objects.filter(person__employee_id="E-5").count() == 1
