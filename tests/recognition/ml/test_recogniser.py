"""The pure recogniser: calibrated linear SVM plus the open-set distance check, and its artifact."""

import numpy as np
import pytest

from recognition.ml import recogniser as ml
from recognition.ml.synthetic import near, synthetic_gallery


def gallery(people: int, per_person: int = 5, *, seed: int = 0, noise: float = 0.06):
    """Return a synthetic gallery (embeddings, person ids from 100, centres)."""
    return synthetic_gallery(people, per_person, seed=seed, noise=noise, first_id=100)


def test_enrolled_people_are_named_and_strangers_are_unknown():
    """A new photo of an enrolled person is named; a face of somebody never enrolled is unknown."""
    x, ids, centres = gallery(12)
    rec = ml.train(x, ids)
    for i, centre in enumerate(centres):
        answer = rec.identify(near(centre, seed=1000 + i))
        assert answer.person_id == 100 + i
        assert 0.0 < answer.confidence <= 1.0
    _, _, strangers = gallery(5, seed=99)
    for i, centre in enumerate(strangers):
        answer = rec.identify(near(centre, seed=2000 + i))
        assert answer.person_id is None
        assert answer.candidate_id in set(ids.tolist())
        assert answer.distance >= rec.threshold


def test_threshold_sits_below_the_nearest_impostor_for_a_small_gallery():
    """With fewer impostor searches than 1/FAR, the threshold is below every nearest-impostor distance."""
    x, ids, _ = gallery(6)
    rec = ml.train(x, ids, target_far=0.001, max_threshold=10.0)
    impostor, _ = ml.nearest_distances(x, np.unique(ids, return_inverse=True)[1])
    assert rec.threshold <= impostor.min()
    assert rec.threshold == pytest.approx(impostor.min())


def test_impostor_distance_is_to_the_nearest_face_of_someone_else():
    """Each gallery face's impostor distance is to the nearest face of someone else."""
    faces = np.array([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]], dtype=np.float32)
    labels = np.array([0, 0, 1, 2])
    impostor, genuine = ml.nearest_distances(faces, labels)
    expected = [
        np.sqrt(2),
        np.linalg.norm(faces[1] - faces[2]),
        np.linalg.norm(faces[1] - faces[2]),
        np.sqrt(2),
    ]
    np.testing.assert_allclose(impostor, expected, rtol=1e-5)
    np.testing.assert_allclose(genuine[:2], np.linalg.norm(faces[0] - faces[1]), rtol=1e-5)
    assert np.isinf(genuine[2:]).all()  # their only photo: no other photo of them to be near


def test_threshold_follows_the_target_false_accept_rate():
    """At most the target share of nearest-impostor distances fall under the threshold."""
    x, ids, _ = gallery(60, noise=0.09)
    labels = np.unique(ids, return_inverse=True)[1]
    impostor, _ = ml.nearest_distances(x, labels)
    for far in (0.01, 0.05, 0.2):
        threshold = ml.open_set_threshold(impostor, target_far=far, max_threshold=10.0)
        assert np.mean(impostor < threshold) <= far
        assert np.mean(impostor <= threshold) > far - 1 / len(impostor)


def test_threshold_is_capped_by_the_maximum():
    """A sparse gallery never yields a threshold looser than the configured maximum."""
    x, ids, _ = gallery(3)
    assert ml.train(x, ids, max_threshold=0.5).threshold == 0.5


def test_cross_validated_accuracy_reflects_separability():
    """Well-separated people score full CV accuracy; people drowned in noise score much less."""
    x, ids, _ = gallery(10, per_person=6)
    assert ml.train(x, ids).cv_accuracy == 1.0
    noisy, noisy_ids, _ = gallery(10, per_person=6, noise=3.0)
    assert ml.train(noisy, noisy_ids).cv_accuracy < 0.7


def test_a_single_person_is_recognised_by_distance_alone():
    """With one enrolled person there is no classifier; the distance check still decides."""
    x, ids, centres = gallery(1)
    rec = ml.train(x, ids)
    assert rec.classifier is None
    assert rec.identify(near(centres[0], seed=5)).person_id == 100
    _, _, other = gallery(1, seed=7)
    assert rec.identify(near(other[0], seed=6)).person_id is None


def test_a_person_with_one_photo_is_refused():
    """Training refuses a person with a single photo, naming them."""
    x, ids, _ = gallery(3)
    with pytest.raises(ValueError, match="at least 2 photos"):
        ml.train(x[:11], ids[:11])


def test_artifact_round_trips_and_refuses_damage_and_other_formats():
    """The artifact loads back to the same answers; a changed byte or format version is refused."""
    x, ids, centres = gallery(4)
    rec = ml.train(x, ids)
    blob = rec.to_bytes()
    digest = ml.artifact_sha256(blob)
    loaded = ml.Recogniser.from_bytes(blob, sha256=digest)
    probe = near(centres[2], seed=3)
    assert loaded.identify(probe) == rec.identify(probe)
    damaged = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(ml.ArtifactError, match="sha256"):
        ml.Recogniser.from_bytes(damaged, sha256=digest)
    future = ml.MAGIC + (ml.FORMAT_VERSION + 1).to_bytes(2, "big") + blob[len(ml.MAGIC) + 2 :]
    with pytest.raises(ml.ArtifactError, match="format"):
        ml.Recogniser.from_bytes(future, sha256=ml.artifact_sha256(future))


def test_large_galleries_calibrate_on_two_folds(monkeypatch):
    """Above the large-gallery size the calibration uses 2 folds instead of 3, to keep training fast."""
    x, ids, _ = gallery(8)
    assert len(ml.train(x, ids).classifier.calibrated_classifiers_) == 3
    monkeypatch.setattr(ml, "LARGE_GALLERY_PEOPLE", 5)
    assert len(ml.train(x, ids).classifier.calibrated_classifiers_) == 2


@pytest.mark.parametrize(("people", "removed"), [(6, [101, 104]), (3, [100]), (2, [101]), (2, [100, 101])])
def test_a_removed_person_leaves_no_face_and_is_never_named_while_the_others_still_are(people, removed):
    """`without` drops a person's gallery faces and classifier class; everyone else is named as before."""
    x, ids, centres = gallery(people)
    rec = ml.train(x, ids)
    pruned = rec.without(set(removed))
    kept = [100 + i for i in range(people) if 100 + i not in removed]
    if not kept:
        assert pruned is None
        return
    assert sorted(pruned.person_ids.tolist()) == kept
    owners = pruned.person_ids[pruned.gallery_labels]
    assert not np.isin(owners, removed).any()
    assert len(pruned.gallery) == len(x) - 5 * len(removed)
    for gone in removed:  # none of the deleted person's own faces is left in the stored gallery
        own = x[ids == gone]
        assert not (np.abs(pruned.gallery[:, None, :] - own[None]).sum(axis=2) == 0).any()
    for i, centre in enumerate(centres):
        answer = pruned.identify(near(centre, seed=3000 + i))
        if 100 + i in removed:
            assert answer.person_id is None and answer.candidate_id not in removed
        else:
            assert answer.person_id == 100 + i
    again = ml.Recogniser.from_bytes(pruned.to_bytes(), sha256=ml.artifact_sha256(pruned.to_bytes()))
    assert again.person_ids.tolist() == pruned.person_ids.tolist()
    assert rec.without({999}) is rec
