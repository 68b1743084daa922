"""Enrolment services with a fake engine: consent, processing, rejections, duplicates, deletion."""

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from people import services
from people.models import FaceImage
from recognition.ml.synthetic import fake_face, unit_vector
from recognition.models import TrainingState
from recognition.services import embedding_from_bytes
from tests.factories import PersonFactory, UserFactory
from tests.people.factories import AcceptedFaceImageFactory, ConsentedPersonFactory
from tests.support.images import plain_jpeg

pytestmark = pytest.mark.django_db


def upload(name="face.jpg", data=None, content_type="image/jpeg"):
    return SimpleUploadedFile(name, data if data is not None else plain_jpeg(), content_type=content_type)


def add_photo(person, **kwargs):
    return services.face_image_add(
        person=person, upload=upload(), source=FaceImage.Source.UPLOAD, uploaded_by=None, **kwargs
    )


def test_a_person_without_recorded_consent_cannot_be_enrolled():
    """Adding a photo before consent is recorded is refused and stores nothing."""
    person = PersonFactory()
    with pytest.raises(ValidationError, match="consent"):
        add_photo(person)
    assert FaceImage.objects.count() == 0


def test_consent_records_who_when_and_which_text():
    """Recording consent keeps the user, the time and the current consent text's version."""
    from people.models import ConsentText

    ConsentText.objects.create(version="v-test-7", text="The words.")
    hr = UserFactory(groups=["HR"])
    person = services.person_consent_record(person=PersonFactory(), recorded_by=hr)
    person.refresh_from_db()
    assert person.consent_recorded_by == hr
    assert person.consent_given_at is not None
    assert person.consent_text_version == "v-test-7"


def test_adding_a_photo_stores_it_privately_and_queues_it_after_commit(django_capture_on_commit_callbacks):
    """The photo is saved under faces/<person>/ as pending; processing is queued only on commit."""
    person = ConsentedPersonFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        image = add_photo(person)
    assert image.status == FaceImage.Status.PENDING
    assert image.image.name.startswith(f"faces/{person.pk}/")
    assert default_storage.exists(image.image.name)
    assert len(callbacks) == 1


def test_processing_accepts_a_good_face_and_asks_for_training(fake_engine):
    """A single sharp frontal face is accepted with its embedding, box and quality stored."""
    vector = unit_vector(1)
    fake_engine.answers.append([fake_face(vector)])
    image = add_photo(ConsentedPersonFactory())
    image = services.face_image_process(face_image_id=image.pk)
    assert image.status == FaceImage.Status.ACCEPTED
    assert np.allclose(embedding_from_bytes(image.embedding), vector)
    assert image.box[2] == 200.0
    assert image.quality["sharpness"] == 300.0
    assert TrainingState.objects.get(pk=1).dirty_since is not None


@pytest.mark.parametrize(
    ("faces", "reason"),
    [
        ([], "No face"),
        ([fake_face(unit_vector(1)), fake_face(unit_vector(2), size=180)], "2 faces"),
        ([fake_face(unit_vector(1), size=40)], "too small"),
        ([fake_face(unit_vector(1), sharpness=3.0)], "too blurred"),
        ([fake_face(unit_vector(1), yaw=60.0)], "turned too far"),
    ],
)
def test_processing_rejects_unusable_photos_with_a_reason(fake_engine, faces, reason):
    """No face, two faces, a tiny, blurred or turned face is rejected with a readable reason."""
    fake_engine.answers.append(faces)
    image = services.face_image_process(face_image_id=add_photo(ConsentedPersonFactory()).pk)
    assert image.status == FaceImage.Status.REJECTED
    assert reason in image.rejection_reason
    assert image.embedding is None


def test_a_small_background_face_does_not_count_as_a_second_face(fake_engine):
    """A face far smaller than the main one (somebody in the background) is ignored."""
    fake_engine.answers.append([fake_face(unit_vector(1), size=300), fake_face(unit_vector(2), size=60)])
    image = services.face_image_process(face_image_id=add_photo(ConsentedPersonFactory()).pk)
    assert image.status == FaceImage.Status.ACCEPTED


def test_processing_is_idempotent(fake_engine):
    """Processing a photo already accepted does not run the engine again or change it."""
    fake_engine.answers.append([fake_face(unit_vector(1))])
    image = add_photo(ConsentedPersonFactory())
    services.face_image_process(face_image_id=image.pk)
    again = services.face_image_process(face_image_id=image.pk)
    assert fake_engine.calls == 1
    assert again.status == FaceImage.Status.ACCEPTED


def test_a_photo_left_processing_by_a_dead_worker_is_processed_again(fake_engine):
    """A photo stuck in 'processing' (its worker died) is processed when the task is redelivered."""
    image = add_photo(ConsentedPersonFactory())
    FaceImage.objects.filter(pk=image.pk).update(status=FaceImage.Status.PROCESSING)
    fake_engine.answers.append([fake_face(unit_vector(1))])
    assert services.face_image_process(face_image_id=image.pk).status == FaceImage.Status.ACCEPTED
    assert fake_engine.calls == 1


def test_a_deleted_photo_is_skipped():
    """The task for a photo deleted meanwhile does nothing."""
    assert services.face_image_process(face_image_id=987654) is None


def test_damaged_file_in_storage_is_rejected_with_the_engine_message():
    """Bytes the engine cannot decode reject the photo with the image error's message."""
    image = add_photo(ConsentedPersonFactory())
    with default_storage.open(image.image.name, "wb") as handle:
        handle.write(b"not an image any more")
    image = services.face_image_process(face_image_id=image.pk)
    assert image.status == FaceImage.Status.REJECTED
    assert "not an image" in image.rejection_reason


def test_a_new_face_matching_another_person_is_flagged_as_possible_duplicate(fake_engine):
    """A photo very close to somebody else's accepted face flags the person for HR."""
    existing = AcceptedFaceImageFactory()
    newcomer = ConsentedPersonFactory()
    fake_engine.answers.append([fake_face(embedding_from_bytes(existing.embedding))])
    services.face_image_process(face_image_id=add_photo(newcomer).pk)
    newcomer.refresh_from_db()
    assert newcomer.possible_duplicate_of == existing.person
    assert newcomer.duplicate_distance < 0.01


def test_a_different_face_is_not_flagged(fake_engine):
    """A face far from everybody else's is not flagged."""
    AcceptedFaceImageFactory()
    newcomer = ConsentedPersonFactory()
    fake_engine.answers.append([fake_face(unit_vector(424242))])
    services.face_image_process(face_image_id=add_photo(newcomer).pk)
    newcomer.refresh_from_db()
    assert newcomer.possible_duplicate_of is None


def test_deleting_a_person_removes_photos_embeddings_and_asks_for_training(
    django_capture_on_commit_callbacks,
):
    """After the delete commits, no file and no embedding of the person remain; training is requested."""
    photos = AcceptedFaceImageFactory.create_batch(3, person=ConsentedPersonFactory())
    names = [p.image.name for p in photos]
    assert all(default_storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.person_delete(person=photos[0].person)
    for callback in callbacks:
        if getattr(callback, "__name__", "") == "<lambda>":
            callback()  # the storage deletion; the training enqueue is not run here
    assert not any(default_storage.exists(n) for n in names)
    assert FaceImage.objects.count() == 0
    assert TrainingState.objects.get(pk=1).dirty_since is not None


def test_duplicates_are_found_in_the_trained_gallery_too(fake_engine):
    """A face matching somebody known only to the active recogniser's gallery is flagged."""
    from recognition.services import recogniser_train

    known = AcceptedFaceImageFactory.create_batch(3, person=ConsentedPersonFactory())
    AcceptedFaceImageFactory.create_batch(3, person=ConsentedPersonFactory())
    assert recogniser_train(trigger="test").is_active
    newcomer = ConsentedPersonFactory()
    fake_engine.answers.append([fake_face(embedding_from_bytes(known[1].embedding))])
    services.face_image_process(face_image_id=add_photo(newcomer).pk)
    newcomer.refresh_from_db()
    assert newcomer.possible_duplicate_of == known[0].person
