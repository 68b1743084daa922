"""Consent texts with versions: shown and printable at enrolment, recorded by the version shown."""

import pytest
from django.urls import reverse

from people.models import ConsentText, Person
from people.services import person_consent_record
from tests.factories import PersonFactory, UserFactory
from tests.people.test_admin import person_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def hr_client(client):
    client.force_login(UserFactory(groups=["HR"]))
    return client


def test_the_version_people_were_recorded_against_exists_as_a_text():
    """After migrate the text version that consent was recorded against before (2025-1) can be read."""
    text = ConsentText.objects.get(version="2025-1")
    assert "face" in text.text


def test_enrolment_form_shows_the_current_text_and_a_print_link(hr_client):
    """The add-person page shows the newest consent text, names its version and links to its print page."""
    text = ConsentText.objects.create(
        version="2026-2", text="We keep your face template for attendance only."
    )
    page = hr_client.get(reverse("admin:people_person_add")).content.decode()
    assert "We keep your face template for attendance only." in page
    assert "<strong>2026-2</strong>" in page
    assert reverse("admin:people_consenttext_print", args=[text.pk]) in page
    assert 'name="shown_consent_version" value="2026-2"' in page


def test_consent_is_recorded_against_the_version_shown(hr_client):
    """Ticking consent records the version the form showed, not a setting."""
    ConsentText.objects.create(version="2026-2", text="New words.")
    response = hr_client.post(
        reverse("admin:people_person_add"), person_data(consent="on", shown_consent_version="2026-2")
    )
    assert response.status_code == 302
    assert Person.objects.get(employee_id="E-100").consent_text_version == "2026-2"


def test_a_text_changed_while_the_form_was_open_is_not_recorded(hr_client):
    """If HR showed an older text than the current one, consent is refused with what to do."""
    ConsentText.objects.create(version="2026-2", text="Older words.")
    ConsentText.objects.create(version="2026-3", text="Newer words.")
    response = hr_client.post(
        reverse("admin:people_person_add"), person_data(consent="on", shown_consent_version="2026-2")
    )
    assert response.status_code == 200
    assert "changed to version 2026-3" in response.content.decode()
    assert not Person.objects.filter(employee_id="E-100").exists()


def test_print_page_shows_the_whole_text_for_hr(hr_client):
    """The printable page holds the full text, its version and a signature line."""
    text = ConsentText.objects.create(version="2026-2", text="First paragraph.\n\nSecond paragraph.")
    page = hr_client.get(reverse("admin:people_consenttext_print", args=[text.pk])).content.decode()
    assert "<p>First paragraph.</p>" in page and "<p>Second paragraph.</p>" in page
    assert "Text version 2026-2" in page and "Signature" in page


def test_a_text_somebody_agreed_to_cannot_be_changed(hr_client):
    """Once a person agreed to a version its words are fixed: the admin offers a new version instead."""
    text = ConsentText.objects.create(version="2026-2", text="Agreed words.")
    person_consent_record(person=PersonFactory(), recorded_by=None)
    response = hr_client.post(
        reverse("admin:people_consenttext_change", args=[text.pk]),
        {"version": "2026-2", "text": "Other words."},
    )
    assert response.status_code == 403
    text.refresh_from_db()
    assert text.text == "Agreed words."


def test_hr_adds_a_new_version_which_becomes_current(hr_client):
    """HR adds a version in the admin; the next consent recorded uses it."""
    response = hr_client.post(
        reverse("admin:people_consenttext_add"), {"version": "2027-1", "text": "The 2027 words."}
    )
    assert response.status_code == 302
    person = person_consent_record(person=PersonFactory(), recorded_by=None)
    assert person.consent_text_version == "2027-1"
    assert ConsentText.objects.get(version="2027-1").created_by.groups.filter(name="HR").exists()


def test_recording_consent_against_an_unknown_version_is_refused():
    """A version that is not a kept text is refused, so every recorded consent can be read again."""
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="no consent text version"):
        person_consent_record(person=PersonFactory(), recorded_by=None, text_version="nope")


def test_zip_form_names_the_current_version(hr_client):
    """The bulk enrolment's consent confirmation names the current text version."""
    ConsentText.objects.create(version="2026-9", text="Zip words.")
    page = hr_client.get(reverse("admin:people_person_import_zip")).content.decode()
    assert "consent text (version 2026-9)" in page


def test_a_consent_text_is_restored_after_migrate_when_none_is_left():
    """With every text gone (a flushed database), the post-migrate hook puts the starting text back."""
    from django.apps import apps

    from people.services import DEFAULT_CONSENT_VERSION, consent_text_ensure

    ConsentText.objects.all().delete()
    consent_text_ensure(apps=apps)
    assert list(ConsentText.objects.values_list("version", flat=True)) == [DEFAULT_CONSENT_VERSION]
