"""An embedder upgrade: the previous version keeps serving, photos are re-embedded, then retrained."""

from __future__ import annotations

import pytest
from django.urls import reverse

from people.models import FaceImage
from recognition import engine, matching, reembedding, training
from recognition.ml import EMBEDDER_VERSION, EMBEDDER_VERSION_V1
from recognition.ml.synthetic import fake_face, unit_vector
from recognition.models import RecogniserVersion
from recognition.services import embedding_from_bytes
from tests.factories import UserFactory
from tests.people.factories import enrolled_people
from tests.support.images import plain_jpeg

pytestmark = pytest.mark.django_db

FRAME = plain_jpeg((64, 48))


@pytest.fixture
def old_installation(monkeypatch):
    """Return (photos per person, active version): 3 people enrolled and trained by embedder v1."""
    groups = enrolled_people(3, 4)
    FaceImage.objects.update(embedder_version=EMBEDDER_VERSION_V1)
    with monkeypatch.context() as before_upgrade:
        before_upgrade.setattr(engine, "embedder_version", lambda: EMBEDDER_VERSION_V1)
        version = training.recogniser_train(trigger="before the upgrade")
    assert version.is_active and version.embedder_version == EMBEDDER_VERSION_V1
    return groups, version


def test_an_installation_with_old_embeddings_keeps_recognising(fake_engine, old_installation):
    """After the upgrade the v1 version still names people (their frames embedded as v1), and a training
    run refuses to replace it with a version that would know nobody who is not re-embedded yet."""
    groups, old = old_installation
    member = groups[1][2]
    fake_engine.answers.append([fake_face(embedding_from_bytes(member.embedding))])
    seen = matching.frame_recognise(data=FRAME)
    assert seen.person_id == member.person_id and seen.recogniser_version_id == old.pk
    assert fake_engine.versions_asked == [EMBEDDER_VERSION_V1]

    attempt = training.recogniser_train(trigger="an enrolment change")
    assert attempt.status == RecogniserVersion.Status.FAILED
    assert "12 enrolled photos are still being re-embedded" in attempt.error
    old.refresh_from_db()
    assert old.is_active
    fake_engine.answers.append([fake_face(embedding_from_bytes(member.embedding))])
    assert matching.frame_recognise(data=FRAME).person_id == member.person_id
    assert training.training_status()["reembedding"]["pending"] == 12


def test_reembedding_in_batches_then_training_switches_to_the_new_version(
    fake_engine, old_installation, django_capture_on_commit_callbacks
):
    """Batches re-embed every accepted photo with the current embedder (progress counted), the last
    one asks for training, and the new version (v2) then answers frames embedded as v2."""
    groups, old = old_installation
    new_vectors = {}
    for photos in groups:
        for photo in photos:
            new_vectors[photo.pk] = unit_vector(photo.pk, noise=0.3, base=1000 + photo.person_id)
    # The fake engine answers in photo id order, as the batches take them.
    for pk in sorted(new_vectors):
        fake_engine.answers.append([fake_face(new_vectors[pk])])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = reembedding.reembed_batch(limit=5)
    assert first == {"reembedded": 5, "rejected": 0, "pending": 7}
    assert len(queued) == 1  # the next batch
    assert reembedding.reembedding_status() == {"pending": 7, "done": 5, "embedder_version": EMBEDDER_VERSION}
    with django_capture_on_commit_callbacks(execute=False) as queued:
        last = reembedding.reembed_batch(limit=50)
    assert last == {"reembedded": 7, "rejected": 0, "pending": 0}
    assert training.training_status()["pending_changes"]  # the training request
    assert set(FaceImage.objects.values_list("embedder_version", flat=True)) == {EMBEDDER_VERSION}

    new = training.recogniser_train(trigger="after re-embedding")
    assert new.is_active and new.embedder_version == EMBEDDER_VERSION
    member = groups[0][1]
    fake_engine.answers.append([fake_face(new_vectors[member.pk])])
    seen = matching.frame_recognise(data=FRAME)
    assert seen.person_id == member.person_id and seen.recogniser_version_id == new.pk
    assert fake_engine.versions_asked[-1] == EMBEDDER_VERSION


def test_a_photo_without_a_face_for_the_new_embedder_is_rejected_with_a_reason(fake_engine, old_installation):
    """A photo the current engine finds no face in is rejected, saying why, not blocking the upgrade."""
    groups, _ = old_installation
    fake_engine.answers.append([])  # the first photo: no face any more
    result = reembedding.reembed_batch(limit=1)
    assert result["rejected"] == 1
    photo = FaceImage.objects.get(pk=groups[0][0].pk)
    assert photo.status == FaceImage.Status.REJECTED and photo.embedding is None
    assert "no face could be found" in photo.rejection_reason


def test_versions_page_shows_reembedding_progress(client, fake_engine, old_installation):
    """HR sees on the recogniser versions page how far re-embedding has come (and the page refreshes
    itself meanwhile); once every photo is re-embedded the notice goes."""
    client.force_login(UserFactory(is_staff=True, groups=["HR"]))
    url = reverse("admin:recognition_recogniserversion_changelist")
    page = client.get(url).content.decode()
    assert 'id="reembedding-progress"' in page
    assert "0 done, 12 to go" in page and EMBEDDER_VERSION in page
    assert 'http-equiv="refresh"' in page

    groups, _ = old_installation
    for photos in groups:
        for photo in photos:
            fake_engine.answers.append(
                [fake_face(unit_vector(photo.pk, noise=0.3, base=2000 + photo.person_id))]
            )
    reembedding.reembed_batch(limit=5)
    assert "5 done, 7 to go" in client.get(url).content.decode()
    reembedding.reembed_batch(limit=50)
    page = client.get(url).content.decode()
    assert 'id="reembedding-progress"' not in page and 'http-equiv="refresh"' not in page
