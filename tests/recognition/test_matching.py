"""recognition.matching: the active version in this process, kiosk frames, liveness bursts, duplicates."""

import numpy as np
import pytest

from recognition import matching, training
from recognition.ml.synthetic import fake_face, unit_vector
from recognition.services import embedding_from_bytes
from tests.people.factories import enrolled_people
from tests.support.images import plain_jpeg

pytestmark = pytest.mark.django_db

# The fake engine ignores what a frame shows, but the frame is decoded for real first.
FRAME = plain_jpeg((64, 48))


def test_frame_recognise_names_enrolled_people_and_not_strangers(fake_engine):
    """The kiosk call names an enrolled face, says unknown for a stranger and explains a missing face."""
    groups = enrolled_people(3, 4)
    version = training.recogniser_train(trigger="test")
    member = groups[1][0]
    fake_engine.answers.append([fake_face(embedding_from_bytes(member.embedding))])
    seen = matching.frame_recognise(data=FRAME)
    assert seen.face_found
    assert seen.person_id == member.person_id
    assert seen.recogniser_version_id == version.pk
    assert seen.distance < 1.0  # RECOGNISER_MAX_THRESHOLD, to the person's template
    assert 0 < seen.confidence <= 1
    fake_engine.answers.append([fake_face(unit_vector(31337))])
    stranger = matching.frame_recognise(data=FRAME)
    assert stranger.face_found and stranger.person_id is None
    assert stranger.reason == "unknown face"
    fake_engine.answers.append([])
    empty = matching.frame_recognise(data=FRAME)
    assert not empty.face_found and empty.reason == "no face"


def test_kiosk_frames_ask_for_the_mirror_image_only_near_a_decision(fake_engine, settings):
    """frame_recognise hands the engine the active version's `undecided` at RECOGNITION_MIRROR_BAND:
    an enrolled photo is decided from the crop alone, a face half way between two people is not; a
    negative band (or no recogniser) asks for the mirror image on every face."""
    groups = enrolled_people(3, 4)
    training.recogniser_train(trigger="test")
    settings.RECOGNITION_MIRROR_BAND = 0.1
    member = embedding_from_bytes(groups[1][0].embedding)
    fake_engine.answers.append([fake_face(member)])
    assert matching.frame_recognise(data=FRAME).person_id == groups[1][0].person_id
    asked = fake_engine.mirror_asked[-1]
    # A face moved from the member towards a stranger until it is just no longer named.
    _, recogniser = matching.active_recogniser()
    stranger, low, high = unit_vector(4242), 0.0, 1.0

    def blend(share: float) -> np.ndarray:
        mixed = (1 - share) * member + share * stranger
        return mixed / np.linalg.norm(mixed)

    for _ in range(30):
        middle = (low + high) / 2
        low, high = (middle, high) if recogniser.identify(blend(middle)).person_id else (low, middle)
    edge = blend(high)
    assert recogniser.identify(blend(low)).person_id == groups[1][0].person_id
    assert recogniser.identify(edge).person_id is None
    assert asked(np.stack([member, edge, stranger])).tolist() == [False, True, False]
    settings.RECOGNITION_MIRROR_BAND = -1
    fake_engine.answers.append([fake_face(member)])
    matching.frame_recognise(data=FRAME)
    assert fake_engine.mirror_asked[-1] is None
    assert matching.mirror_when(None) is None


def test_frame_recognise_without_a_recogniser_says_so(fake_engine):
    """Before any version is trained, a face is found but nobody is named, with the reason."""
    fake_engine.answers.append([fake_face(unit_vector(1))])
    seen = matching.frame_recognise(data=FRAME)
    assert seen.face_found and seen.person_id is None
    assert seen.reason == "no trained recogniser"


def test_a_deactivated_person_is_not_named_even_by_an_older_version(fake_engine):
    """A person switched off after training is not named by the version that still knows them."""
    groups = enrolled_people(2, 3)
    training.recogniser_train(trigger="test")
    member = groups[0][0]
    member.person.is_active = False
    member.person.save()
    fake_engine.answers.append([fake_face(embedding_from_bytes(member.embedding))])
    seen = matching.frame_recognise(data=FRAME)
    assert seen.person_id is None
    assert seen.reason == "person no longer active"


def test_the_loaded_version_follows_a_new_activation():
    """The cached recogniser is replaced once another version is activated, without a restart."""
    enrolled_people(2, 3)
    first = training.recogniser_train(trigger="one")
    assert matching.active_recogniser()[0] == first.pk
    enrolled_people(1, 3)
    second = training.recogniser_train(trigger="two")
    version_id, rec = matching.active_recogniser()
    assert version_id == second.pk
    assert rec.people_count == 3


def test_frames_analyse_gives_a_frame_face_per_frame_with_who_it_is(fake_engine):
    """A burst becomes one FrameFace per frame (None without a face), each naming whom the version sees."""
    groups = enrolled_people(2, 3)
    training.recogniser_train(trigger="test")
    member = groups[1][0]
    fake_engine.answers += [
        [fake_face(embedding_from_bytes(member.embedding))],
        [],
        [fake_face(unit_vector(31337))],  # nobody enrolled
    ]
    faces = matching.frames_analyse([FRAME, FRAME, FRAME])
    assert faces[0].person_id == member.person_id and faces[0].landmarks["nose"] == (52.0, 62.0)
    assert faces[1] is None
    assert faces[2].person_id is None and faces[2].embedding is not None


def test_recogniser_threshold_is_the_versions_own():
    """The threshold of a version is what its training calibrated; no version, no threshold."""
    enrolled_people(2, 3)
    version = training.recogniser_train(trigger="test")
    assert matching.recogniser_threshold(version.pk) == pytest.approx(version.threshold)
    assert matching.recogniser_threshold(None) is None
    assert matching.recogniser_threshold(version.pk + 1000) is None


def test_gallery_nearest_finds_the_closest_face_of_somebody_else():
    """The nearest enrolled face of another person is found in the active gallery, never their own."""
    assert (
        matching.gallery_nearest(embedding=unit_vector(1), exclude_person_id=1, embedder_version="x") is None
    )
    groups = enrolled_people(3, 3)
    version = training.recogniser_train(trigger="test")
    ana, ben = groups[0][0], groups[1][0]
    probe = embedding_from_bytes(ben.embedding)
    found = matching.gallery_nearest(
        embedding=probe, exclude_person_id=ana.person_id, embedder_version=ana.embedder_version
    )
    assert (found.person_id, found.distance) == (ben.person_id, pytest.approx(0.0, abs=1e-6))
    assert found.trained_at == version.created_at
    own = matching.gallery_nearest(
        embedding=probe, exclude_person_id=ben.person_id, embedder_version=ben.embedder_version
    )
    assert own.person_id != ben.person_id and own.distance > 0.5
    other_embedder = matching.gallery_nearest(
        embedding=probe, exclude_person_id=ana.person_id, embedder_version="another-embedder"
    )
    assert other_embedder is None
