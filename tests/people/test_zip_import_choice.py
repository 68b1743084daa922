"""The zip import's two choices and people.csv (issue 16): "refuse the whole zip if any photo is
unusable" stages the photos, lets the worker check each, then saves all or nothing; "keep the good
photos" saves at once. The worker's face check here is the fake engine (tests.fakes, named so); the
real worker and models run in tests/e2e/test_zip_import_browser.py."""

import io
import re
import zipfile

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from people import services
from people.models import Department, FaceImage, Person, ZipImport, ZipImportPhoto
from people.rules import people_csv_parse
from recognition.ml.synthetic import fake_face, unit_vector
from recognition.models import TrainingState
from recognition.services import embedding_from_bytes
from tests.factories import UserFactory
from tests.people.factories import ConsentedPersonFactory
from tests.support.images import plain_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def hr_user():
    return UserFactory(is_staff=True, groups=["HR"])


@pytest.fixture
def hr_client(client, hr_user):
    client.force_login(hr_user)
    return client


@pytest.fixture
def queued(monkeypatch):
    """Record the tasks that would be sent to the workers instead of sending them."""
    from attendance_site.celery import app

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, *args, **options: sent.append((name, options)))
    return sent


def zip_of(entries: dict[str, bytes | str]) -> SimpleUploadedFile:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    return SimpleUploadedFile("people.zip", out.getvalue(), content_type="application/zip")


def post_zip(client, entries, **options):
    data = {"archive": zip_of(entries), "mode": "all", **options}
    return client.post(reverse("admin:people_person_import_zip"), data)


def staged_files(media_root, batch):
    root = media_root / "zip-imports" / str(batch.pk)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


CSV = "employee_id,first_name,last_name,department,email\nE-1,Grace,Hopper,Engineering,grace@example.com\n"


# --- The page and the form --------------------------------------------------------------------------


def test_the_page_says_what_each_choice_does_and_how_people_csv_works(hr_client):
    page = hr_client.get(reverse("admin:people_person_import_zip")).content.decode()
    assert "Refuse the whole zip" in page and "Keep the good photos" in page
    assert "nothing is saved unless all of them show a usable face" in page
    assert "rejected on its own" in page
    assert "people.csv" in page and "employee_id" in page and "named after their folder" in page
    assert re.search(r"<input[^>]*value=\"all\"[^>]*checked", page)  # the default choice


def test_a_form_error_says_the_zip_must_be_chosen_again(hr_client):
    """A browser never keeps a chosen file across a page load: the page says to choose it again."""
    response = post_zip(hr_client, {"NOBODY/a.jpg": plain_jpeg()})
    page = response.content.decode()
    assert response.status_code == 200
    assert "NOBODY" in page and "people.zip was not kept" in page and "choose it again" in page
    assert not ZipImport.objects.exists()


# --- Refuse the whole zip: staged, checked by the worker, saved or refused ---------------------------


def test_refuse_the_whole_zip_stages_the_photos_and_queues_the_worker_check(
    hr_client, queued, media_root, django_capture_on_commit_callbacks
):
    """Nothing is saved for the person yet: the photos wait in private storage for the worker."""
    person = ConsentedPersonFactory(employee_id="E-1")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_zip(hr_client, {"E-1/a.jpg": plain_jpeg(), "E-1/b.jpg": plain_jpeg((80, 80))})
    batch = ZipImport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/zipimport/{batch.pk}/change/")
    assert batch.status == ZipImport.Status.CHECKING and batch.photos.count() == 2
    assert not FaceImage.objects.filter(person=person).exists()
    assert len(staged_files(media_root, batch)) == 2
    assert [name for name, _ in queued] == ["people.zip_import_check"]
    assert queued[0][1]["queue"] == "enrolment"
    page = hr_client.get(response["Location"]).content.decode()
    assert "Checked 0 of 2 photos" in page and "nothing is saved yet" in page


def test_one_photo_without_a_face_refuses_the_whole_zip_and_saves_nothing(
    hr_client, hr_user, fake_engine, media_root, django_capture_on_commit_callbacks
):
    ConsentedPersonFactory(employee_id="E-1")
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.zip_import_stage(
            contents=services.zip_read(zip_of({"E-1/a.jpg": plain_jpeg(), "E-2/b.jpg": plain_jpeg()}),
                                       create_missing=True),
            uploaded_by=hr_user, create_missing=True,
        )  # fmt: skip
    fake_engine.answers.extend([[fake_face(unit_vector(1))], []])  # a face, then none
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.zip_import_check(zip_import_id=batch.pk)
    assert batch.status == ZipImport.Status.REFUSED
    assert "1 of 2 photos have no usable face" in batch.outcome and "nothing was saved" in batch.outcome
    assert not FaceImage.objects.exists() and not Person.objects.filter(employee_id="E-2").exists()
    assert staged_files(media_root, batch) == []  # the staged copies are gone
    bad = batch.photos.get(status=ZipImportPhoto.Status.UNUSABLE)
    assert bad.name == "E-2/b.jpg" and bad.reason
    assert not batch.photos.exclude(embedding=None).exists()
    page = hr_client.get(reverse("admin:people_zipimport_change", args=[batch.pk])).content.decode()
    assert "Refused: nothing was saved" in page and "E-2/b.jpg" in page and bad.reason in page


def test_when_every_photo_is_usable_people_and_photos_are_saved_from_the_workers_findings(
    hr_user, fake_engine, media_root, django_capture_on_commit_callbacks
):
    """People from folders get people.csv's name, department and e-mail; photos are accepted with the
    worker's embedding without a second analysis; the staged copies are deleted; training is asked."""
    ConsentedPersonFactory(employee_id="E-0")
    entries = {
        "people.csv": CSV,
        "E-0/a.jpg": plain_jpeg(),
        "E-1/a.jpg": plain_jpeg(),
        "E-2/a.jpg": plain_jpeg(),
    }
    contents = services.zip_read(zip_of(entries), create_missing=True, create_departments=True)
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.zip_import_stage(
            contents=contents, uploaded_by=hr_user, create_missing=True, create_departments=True
        )
    vectors = [unit_vector(i) for i in (11, 12, 13)]
    fake_engine.answers.extend([[fake_face(v)] for v in vectors])
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.zip_import_check(zip_import_id=batch.pk)
    assert batch.status == ZipImport.Status.SAVED, batch.outcome
    assert fake_engine.calls == 3  # one analysis per photo, none again on saving
    grace = Person.objects.get(employee_id="E-1")
    assert (grace.full_name, grace.department.name, grace.email) == (
        "Grace Hopper",
        "Engineering",
        "grace@example.com",
    )
    assert grace.consent_recorded_by == hr_user and grace.consent_given_at is not None
    assert Person.objects.get(employee_id="E-2").full_name == "E 2"  # no row: named after the folder
    assert sorted(batch.people_created) == ["E-1", "E-2"]
    assert "1 named from people.csv, 1 after their folder" in batch.outcome
    photos = FaceImage.objects.order_by("person__employee_id")
    assert [p.status for p in photos] == [FaceImage.Status.ACCEPTED] * 3
    stored = sorted(embedding_from_bytes(p.embedding).tobytes() for p in photos)
    assert stored == sorted(np.asarray(v, dtype=np.float32).tobytes() for v in vectors)
    assert all(default_storage.exists(p.image.name) for p in photos)
    assert staged_files(media_root, batch) == []
    assert TrainingState.objects.get(pk=1).dirty_since is not None


def test_checking_again_does_not_check_again_or_save_twice(
    hr_user, fake_engine, django_capture_on_commit_callbacks
):
    ConsentedPersonFactory(employee_id="E-1")
    batch = services.zip_import_stage(
        contents=services.zip_read(zip_of({"E-1/a.jpg": plain_jpeg()})),
        uploaded_by=hr_user,
        create_missing=False,
    )
    fake_engine.answers.append([fake_face(unit_vector(3))])
    with django_capture_on_commit_callbacks(execute=True):
        services.zip_import_check(zip_import_id=batch.pk)
        again = services.zip_import_check(zip_import_id=batch.pk)
    assert again.status == ZipImport.Status.SAVED and fake_engine.calls == 1
    assert FaceImage.objects.count() == 1


def test_a_person_changed_since_the_upload_refuses_the_zip_with_the_reason(
    hr_user, fake_engine, django_capture_on_commit_callbacks
):
    """The check runs later than the upload: a person deleted meanwhile is named and nothing is saved."""
    person = ConsentedPersonFactory(employee_id="E-1")
    ConsentedPersonFactory(employee_id="E-3")
    batch = services.zip_import_stage(
        contents=services.zip_read(zip_of({"E-1/a.jpg": plain_jpeg(), "E-3/a.jpg": plain_jpeg()})),
        uploaded_by=hr_user,
        create_missing=False,
    )
    person.delete()
    fake_engine.answers.extend([[fake_face(unit_vector(4))], [fake_face(unit_vector(5))]])
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.zip_import_check(zip_import_id=batch.pk)
    assert batch.status == ZipImport.Status.REFUSED
    assert "E-1" in batch.outcome and "Nothing was saved" in batch.outcome
    assert not FaceImage.objects.exists()


def test_an_import_left_checking_is_queued_again(hr_user, queued, django_capture_on_commit_callbacks):
    import datetime as dt

    ConsentedPersonFactory(employee_id="E-1")
    batch = services.zip_import_stage(
        contents=services.zip_read(zip_of({"E-1/a.jpg": plain_jpeg()})),
        uploaded_by=hr_user,
        create_missing=False,
    )
    assert services.zip_imports_resume(older_than=dt.timedelta(seconds=60)) == []
    ZipImport.objects.filter(pk=batch.pk).update(updated_at=batch.updated_at - dt.timedelta(minutes=5))
    assert services.zip_imports_resume(older_than=dt.timedelta(seconds=60)) == [batch.pk]


# --- Keep the good photos ----------------------------------------------------------------------------


def test_keep_the_good_photos_saves_at_once_with_names_from_people_csv(
    hr_client, queued, django_capture_on_commit_callbacks
):
    Department.objects.create(name="engineering")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_zip(
            hr_client,
            {"people.csv": CSV, "E-1/a.jpg": plain_jpeg(), "E-9/a.jpg": plain_jpeg()},
            mode="keep", create_missing="on", consent_confirmed="on",
        )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    grace = Person.objects.get(employee_id="E-1")
    assert grace.full_name == "Grace Hopper" and grace.department.name == "engineering"  # matched, any case
    assert Department.objects.count() == 1
    assert Person.objects.get(employee_id="E-9").full_name == "E 9"
    assert FaceImage.objects.filter(status=FaceImage.Status.PENDING).count() == 2
    assert not ZipImport.objects.exists()
    assert [name for name, _ in queued] == ["people.face_image_process"] * 2


# --- people.csv ---------------------------------------------------------------------------------------


def test_an_unknown_department_is_refused_per_row_unless_create_missing_departments(hr_client):
    entries = {"people.csv": CSV, "E-1/a.jpg": plain_jpeg()}
    response = post_zip(hr_client, entries, mode="keep", create_missing="on", consent_confirmed="on")
    page = response.content.decode()
    assert response.status_code == 200
    assert "people.csv row 2 (E-1): no department is named &#x27;Engineering&#x27;" in page
    assert "Create missing departments" in page
    assert not Person.objects.exists() and not Department.objects.exists()
    response = post_zip(
        hr_client, entries, mode="keep", create_missing="on", consent_confirmed="on", create_departments="on"
    )
    assert response.status_code == 302
    assert Person.objects.get(employee_id="E-1").department.name == "Engineering"


def test_bad_rows_are_each_named_and_nothing_is_saved(hr_client):
    csv_text = (
        "employee_id;full_name;email\n"
        "E-1;Ada Lovelace;ada@example.com\n"
        ";Nobody;\n"
        "E-1;Ada Again;\n"
        "E-3;;\n"
        "E-4;Bad Mail;not-an-address\n"
    )
    response = post_zip(
        hr_client,
        {"people.csv": csv_text, "E-1/a.jpg": plain_jpeg()},
        create_missing="on",
        consent_confirmed="on",
    )
    page = response.content.decode()
    assert "people.csv row 3: no employee_id." in page
    assert "people.csv row 4: employee id E-1 again (first on row 2)." in page
    assert "people.csv row 5 (E-3): no name" in page
    assert "people.csv row 6 (E-4): &#x27;not-an-address&#x27; is not an e-mail address." in page
    assert not Person.objects.exists() and not ZipImport.objects.exists()


def test_people_csv_parse_reads_the_usual_spreadsheet_exports():
    """Header names in any case and order, first and last name joined, a BOM-less semicolon file, quotes."""
    rows, errors = people_csv_parse(
        'Last Name;First-Name;Employee ID;Department\nHopper;Grace;E-1;"Research; Labs"\n\n'
    )
    assert errors == []
    assert rows["E-1"].full_name == "Grace Hopper" and rows["E-1"].department == "Research; Labs"
    assert rows["E-1"].row == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id,name\nE-1,Ada\n", "unknown column(s) 'id', 'name'"),
        ("full_name,department\nAda,R\n", "no employee_id column"),
        ("employee_id,department\nE-1,R\n", "no full_name (or first_name and last_name) column"),
        ("", "people.csv is empty"),
    ],
)
def test_people_csv_with_a_wrong_header_says_which_columns_it_needs(text, expected):
    rows, errors = people_csv_parse(text)
    assert rows == {} and len(errors) == 1
    assert expected in errors[0]


def test_people_csv_that_is_not_utf8_says_how_to_save_it(hr_client):
    entries = {"people.csv": "employee_id,full_name\nE-1,Zoë\n".encode("cp1252"), "E-1/a.jpg": plain_jpeg()}
    response = post_zip(hr_client, entries, create_missing="on", consent_confirmed="on")
    assert "people.csv is not UTF-8 text" in response.content.decode()
    assert not Person.objects.exists()
