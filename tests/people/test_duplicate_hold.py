"""A possible duplicate keeps its photos out of training until HR has checked it."""

import pytest
from django.urls import reverse

from people import services
from recognition import training
from recognition.ml.synthetic import fake_face
from recognition.models import TrainingState
from recognition.services import embedding_from_bytes
from tests.factories import UserFactory
from tests.people.factories import AcceptedFaceImageFactory, ConsentedPersonFactory, enrolled_people
from tests.people.test_enrolment_services import add_photo

pytestmark = pytest.mark.django_db


def flag(person, other, distance=0.3):
    person.possible_duplicate_of = other
    person.duplicate_distance = distance
    person.save()


def test_a_flagged_person_is_left_out_of_training():
    """Photos of a person flagged as a possible duplicate are not trained on."""
    groups = enrolled_people(3, 3)
    suspect = groups[2][0].person
    flag(suspect, groups[0][0].person)
    version = training.recogniser_train(trigger="test")
    assert version.people_count == 2
    assert suspect.pk not in training.recogniser_version_people(version_id=version.pk)


def test_dismissing_the_flag_lets_the_photos_in_and_asks_for_training():
    """HR's "not the same person" clears the flag, remembers the pair and requests a training run."""
    groups = enrolled_people(3, 3)
    suspect, other = groups[2][0].person, groups[0][0].person
    flag(suspect, other)
    services.person_duplicate_dismiss(person=suspect, by=UserFactory())
    suspect.refresh_from_db()
    assert suspect.possible_duplicate_of is None and suspect.not_duplicate_of == other
    assert TrainingState.objects.get(pk=1).dirty_since is not None
    assert training.recogniser_train(trigger="test").people_count == 3


def test_a_checked_pair_is_not_flagged_again(fake_engine):
    """After HR said two people differ, a new photo close to the other person does not flag again."""
    existing = AcceptedFaceImageFactory()
    newcomer = ConsentedPersonFactory()
    flag(newcomer, existing.person)
    services.person_duplicate_dismiss(person=newcomer, by=None)
    fake_engine.answers.append([fake_face(embedding_from_bytes(existing.embedding))])
    services.face_image_process(face_image_id=add_photo(newcomer).pk)
    newcomer.refresh_from_db()
    assert newcomer.possible_duplicate_of is None


def test_hr_clears_the_flag_with_the_admin_action(client):
    """The people list's action "Not the same person" clears the selected flags."""
    suspect, other = ConsentedPersonFactory(), ConsentedPersonFactory()
    flag(suspect, other)
    client.force_login(UserFactory(groups=["HR"]))
    page = client.get(reverse("admin:people_person_change", args=[suspect.pk])).content.decode()
    assert "kept out of recognition" in page and "distance 0.30" in page
    response = client.post(
        reverse("admin:people_person_changelist"),
        {"action": "not_a_duplicate", "_selected_action": [suspect.pk, other.pk]},
        follow=True,
    )
    assert "1 person(s) checked as not a duplicate" in response.content.decode()
    suspect.refresh_from_db()
    assert suspect.possible_duplicate_of is None
