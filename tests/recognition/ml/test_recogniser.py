"""The pure recogniser: per-person templates, the open-set score and its calibration, and its artifact."""

import dataclasses
import io
import pickle

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
        assert answer.score < rec.threshold and answer.distance < rec.max_threshold
    _, _, strangers = gallery(5, seed=99)
    for i, centre in enumerate(strangers):
        answer = rec.identify(near(centre, seed=2000 + i))
        assert answer.person_id is None
        assert answer.candidate_id in set(ids.tolist())
        assert answer.confidence == 0.0


def test_templates_are_the_normalised_mean_of_each_persons_photos():
    """Each person's template is the unit-length mean of their photos, in person id order."""
    x, ids, _ = gallery(4)
    rec = ml.train(x, ids)
    np.testing.assert_array_equal(rec.person_ids, [100, 101, 102, 103])
    for index, person in enumerate(rec.person_ids):
        mean = x[ids == person].mean(axis=0)
        np.testing.assert_allclose(rec.templates[index], mean / np.linalg.norm(mean), atol=1e-6)


def test_the_score_is_the_best_distance_minus_the_mean_of_the_next_three():
    """score = d1 - mean(d2, d3, d4) over template distances; missing neighbours count as sqrt(2)."""
    distances = np.array([[0.5, 1.0, 1.2, 1.4, 0.9], [1.3, 0.7, 9, 9, 9]], dtype=np.float32)
    best, d1, score = ml.nearest_scores(distances)
    np.testing.assert_array_equal(best, [0, 1])
    np.testing.assert_allclose(d1, [0.5, 0.7])
    np.testing.assert_allclose(score, [0.5 - (0.9 + 1.0 + 1.2) / 3, 0.7 - (1.3 + 9 + 9) / 3], rtol=1e-6)
    _, _, two = ml.nearest_scores(np.array([[0.4, 1.0]], dtype=np.float32))
    np.testing.assert_allclose(two, [0.4 - (1.0 + 2 * np.sqrt(2)) / 3], rtol=1e-6)


def test_undecided_marks_the_answers_within_the_band_of_turning():
    """A face is undecided when its score is within the band of the threshold, or it is accepted with a
    distance within the band of the cap; a zero band leaves none, a wide one all; a sure face of an
    enrolled person and a far stranger are decided at a moderate band."""
    x, ids, centres = gallery(40, noise=0.09)
    rec = ml.train(x, ids)
    _, _, strangers = gallery(40, seed=7)
    probes = np.stack(
        [near(c, seed=300 + i, noise=0.12) for i, c in enumerate(centres)]
        + [near(c, seed=400 + i) for i, c in enumerate(strangers)]
    )
    answers = rec.identify_many(probes)
    score = np.array([a.score for a in answers])
    distance = np.array([a.distance for a in answers])
    for band in (0.03, 0.1):
        # Near the threshold and not refused by distance anyway, or surely in by score but near the cap.
        expected = ((np.abs(score - rec.threshold) < band) & (distance < rec.max_threshold + band)) | (
            (score < rec.threshold - band) & (np.abs(distance - rec.max_threshold) < band)
        )
        got = rec.undecided(probes, band)
        np.testing.assert_array_equal(got, expected)
        assert 0 < got.sum() < len(probes), band
    assert not rec.undecided(probes, 0.0).any()
    assert rec.undecided(probes, 5.0).all()
    sure = rec.identify(centres[0])
    assert sure.person_id == 100 and sure.score < rec.threshold - 0.1
    assert not rec.undecided(np.stack([centres[0], strangers[0]]), 0.1).any()
    # Outside the band, the answer cannot be turned by moving its score or distance less than the band.
    decided = ~rec.undecided(probes, 0.1)
    accepted = (score < rec.threshold) & (distance < rec.max_threshold)
    for shift in (-0.099, 0.099):
        moved = ((score + shift) < rec.threshold) & ((distance + shift) < rec.max_threshold)
        np.testing.assert_array_equal(moved[decided], accepted[decided])


def test_calibration_keeps_gallery_impostors_under_the_target_rate():
    """Searched as strangers against everybody else, at most the target share of enrolled photos would
    be accepted, and hardly fewer."""
    x, ids, _ = gallery(300, noise=0.09)
    labels = np.unique(ids, return_inverse=True)[1]
    sums = ml.person_sums(x, labels, 300)
    impostor, _, _ = ml.gallery_figures(x, labels, sums, ml.normalise(sums))
    for far in (0.01, 0.05):
        threshold = ml.calibrated_threshold(impostor, target_far=far)
        assert np.mean(impostor < threshold) <= far
        assert np.mean(impostor <= threshold) > far - 1 / len(impostor)
    assert ml.train(x, ids, target_far=0.01).impostor_count == len(x)


def test_a_few_impostor_scores_accept_none_of_them():
    """With fewer impostor scores than 1/target, the threshold is the lowest of them (none accepted)."""
    scores = np.array([0.3, -0.2, 0.1])
    assert ml.calibrated_threshold(scores, target_far=0.01) == -0.2


def test_leave_one_photo_out_figures_reflect_separability():
    """Well-separated people score full rank-1 and most photos accepted; noise drowns both."""
    x, ids, _ = gallery(10, per_person=6)
    rec = ml.train(x, ids)
    assert rec.cv_accuracy == 1.0 and rec.genuine_accept_rate > 0.9
    noisy, noisy_ids, _ = gallery(10, per_person=6, noise=3.0)
    assert ml.train(noisy, noisy_ids).cv_accuracy < 0.7


def test_a_single_person_is_recognised_by_distance_alone():
    """With one enrolled person (no neighbours) the distance cap decides."""
    x, ids, centres = gallery(1)
    rec = ml.train(x, ids)
    assert rec.identify(near(centres[0], seed=5)).person_id == 100
    _, _, other = gallery(1, seed=7)
    assert rec.identify(near(other[0], seed=6)).person_id is None


def test_a_person_with_one_photo_is_refused():
    """Training refuses a person with a single photo, naming them."""
    x, ids, _ = gallery(3)
    with pytest.raises(ValueError, match="at least 2 photos"):
        ml.train(x[:11], ids[:11])


def test_artifact_round_trips_and_refuses_damage_and_other_formats():
    """The artifact (npz, no pickle) loads back to the same answers; a changed byte or an unknown
    format version is refused."""
    x, ids, centres = gallery(4)
    rec = ml.train(x, ids, embedder_version="v-test")
    blob = rec.to_bytes()
    digest = ml.artifact_sha256(blob)
    loaded = ml.Recogniser.from_bytes(blob, sha256=digest)
    probe = near(centres[2], seed=3)
    assert loaded.identify(probe) == rec.identify(probe)
    assert (loaded.threshold, loaded.embedder_version, loaded.people_count) == (rec.threshold, "v-test", 4)
    damaged = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(ml.ArtifactError, match="sha256"):
        ml.Recogniser.from_bytes(damaged, sha256=digest)
    future = ml.MAGIC + (ml.FORMAT_VERSION + 1).to_bytes(2, "big") + blob[len(ml.MAGIC) + 2 :]
    with pytest.raises(ml.ArtifactError, match="format"):
        ml.Recogniser.from_bytes(future, sha256=ml.artifact_sha256(future))


def test_a_format_1_artifact_still_answers():
    """A pickled format 1 recogniser (SVM + distance check, from before the upgrade) loads and answers
    with its own rule, so the version it belongs to keeps serving until it is replaced."""
    x, ids, centres = gallery(3)
    classes, labels = np.unique(ids, return_inverse=True)
    state = {
        "person_ids": classes, "gallery": x, "gallery_labels": labels, "classifier": None,
        "threshold": 0.9, "target_far": 0.001, "embedder_version": "old", "cv_accuracy": 1.0,
    }  # fmt: skip
    buffer = io.BytesIO()
    pickle.dump(state, buffer)
    blob = ml.MAGIC + (1).to_bytes(2, "big") + buffer.getvalue()
    old = ml.Recogniser.from_bytes(blob, sha256=ml.artifact_sha256(blob))
    assert isinstance(old, ml.LegacySvcRecogniser) and old.embedder_version == "old"
    answer = old.identify(near(centres[0], seed=8))  # no classifier: the first person is the candidate
    assert answer.person_id == 100 and answer.distance < 0.9


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


# --- Incremental update: the same recogniser as a full fit, refitting only what a change touches ---


def incremental_case(change: str):
    """Return (base recogniser, update arguments, the changed gallery's (embeddings, ids), probes) for
    a 300-person synthetic gallery and one kind of change."""
    x, ids, centres = gallery(300, noise=0.09)
    base = ml.train(x, ids)
    _, _, newcomers = gallery(3, seed=41, noise=0.09)

    def photos(centre, count, seed):
        return np.stack([near(centre, seed=seed + i, noise=0.09) for i in range(count)])

    added, changed, removed = {}, {}, []
    if change in ("add", "mix"):
        added[1000] = photos(newcomers[0], 4, 10)
    if change in ("change", "mix"):
        # Somebody's photos replaced with a look-alike's: their template moves next to person 151's,
        # so the neighbour lists of many photos change.
        changed[150] = photos(centres[51], 3, 20)
    if change in ("remove", "mix"):
        removed.append(120)
    if change == "mix":
        added[1001] = photos(newcomers[1], 2, 30)
        changed[200] = photos(centres[100], 5, 40)
        removed.append(7 + 100)
    update = {**added, **changed}
    new_x = np.concatenate(list(update.values())) if update else np.empty((0, 128), dtype=np.float32)
    new_ids = np.array([person for person, v in update.items() for _ in v], dtype=np.int64)
    keep = ~np.isin(ids, list(update) + removed)
    full_data = (np.concatenate([x[keep], new_x]), np.concatenate([ids[keep], new_ids]))
    probes = np.concatenate(
        [
            np.stack([near(c, seed=5000 + i, noise=0.09) for i, c in enumerate(centres)]),
            np.stack([near(c, seed=6000 + i, noise=0.09) for i, c in enumerate(newcomers)]),
            np.stack([near(c, seed=7000 + i, noise=0.09) for i, c in enumerate(gallery(100, seed=77)[2])]),
        ]
    )
    return base, (new_x, new_ids, removed), full_data, probes


def assert_same_recogniser(incremental: ml.Recogniser, full: ml.Recogniser, probes: np.ndarray) -> None:
    """Assert an incrementally updated recogniser is the full fit's, up to float rounding."""
    assert incremental.person_ids.tolist() == full.person_ids.tolist()
    np.testing.assert_allclose(incremental.templates, full.templates, atol=1e-6)
    assert incremental.threshold == pytest.approx(full.threshold, abs=1e-5)
    assert incremental.cv_accuracy == pytest.approx(full.cv_accuracy, abs=1e-9)
    assert incremental.genuine_accept_rate == pytest.approx(full.genuine_accept_rate, abs=1e-9)
    assert incremental.impostor_count == full.impostor_count
    np.testing.assert_array_equal(incremental.gallery_labels, full.gallery_labels)
    np.testing.assert_allclose(incremental.neighbour_distances, full.neighbour_distances, atol=1e-5)
    decisions = [(a.person_id, a.candidate_id) for a in incremental.identify_many(probes)]
    assert decisions == [(a.person_id, a.candidate_id) for a in full.identify_many(probes)]
    assert sum(person is not None for person, _ in decisions) > len(probes) // 2  # not all strangers


@pytest.mark.parametrize("change", ["add", "change", "remove", "mix", "nothing"])
def test_an_incremental_update_is_the_full_fit_of_the_changed_gallery(change):
    """Adding, re-photographing or removing people (or a mix) by `updated` gives the same templates,
    threshold, figures and decisions as training on the changed gallery from scratch."""
    base, (new_x, new_ids, removed), (x, ids), probes = incremental_case(change)
    incremental = base.updated(new_x, new_ids, removed)
    full = ml.train(x, ids)
    assert_same_recogniser(incremental, full, probes)
    if change != "nothing":
        assert incremental.person_ids.tolist() != base.person_ids.tolist() or change == "change"
        assert incremental.threshold != base.threshold or change == "add"


def test_an_update_after_an_erasure_recalibrates_like_a_full_fit():
    """A version rewritten without a deleted person (`without`, threshold kept) and then updated
    (here with nothing else changed) is the full fit without them: the neighbour rows that pointed at
    the deleted person are searched again."""
    base, _, _, probes = incremental_case("nothing")
    x, ids, _ = gallery(300, noise=0.09)
    pruned = base.without({150, 151})
    assert (pruned.neighbours == ml.GONE_NEIGHBOUR).any()
    keep = ~np.isin(ids, [150, 151])
    assert_same_recogniser(pruned.updated(np.empty((0, 128)), []), ml.train(x[keep], ids[keep]), probes)


@pytest.mark.parametrize(("people", "add", "remove"), [(2, 2, []), (4, 1, [100]), (3, 0, [100, 101])])
def test_incremental_updates_of_tiny_galleries_match_the_full_fit(people, add, remove):
    """With fewer people than neighbours (missing ones count as unrelated faces; one person left has no
    impostor scores) the update still equals the full fit."""
    x, ids, centres = gallery(people)
    _, _, newcomers = gallery(add, seed=3) if add else (None, None, np.empty((0, 128)))
    new_x = np.array([near(c, seed=s) for c in newcomers for s in (1, 2)]).reshape(-1, 128)
    new_ids = np.repeat(np.arange(add) + 500, 2)
    keep = ~np.isin(ids, remove)
    full = ml.train(np.concatenate([x[keep], new_x]), np.concatenate([ids[keep], new_ids]))
    incremental = ml.train(x, ids).updated(new_x, new_ids, remove)
    probes = np.concatenate([centres, newcomers, gallery(5, seed=9)[2]])
    assert incremental.threshold == pytest.approx(full.threshold, abs=1e-5)
    assert incremental.impostor_count == full.impostor_count
    assert [a.person_id for a in incremental.identify_many(probes)] == [
        a.person_id for a in full.identify_many(probes)
    ]


def test_an_update_refuses_a_person_with_one_photo_and_removing_everybody():
    """As train: every updated person needs 2 photos, and somebody must be left."""
    x, ids, centres = gallery(3)
    rec = ml.train(x, ids)
    with pytest.raises(ValueError, match="at least 2 photos"):
        rec.updated(near(centres[0], seed=1)[None], [100])
    with pytest.raises(ValueError, match="nothing to train on"):
        rec.updated(np.empty((0, 128)), [], [100, 101, 102])


def test_the_neighbour_table_round_trips_and_a_format_2_artifact_cannot_be_updated():
    """A format 3 artifact keeps the neighbour table (its update equals the original's); a format 2
    artifact (no table) still answers but refuses an incremental update, so the caller fits in full."""
    base, (new_x, new_ids, removed), _, probes = incremental_case("mix")
    blob = base.to_bytes()
    loaded = ml.Recogniser.from_bytes(blob, sha256=ml.artifact_sha256(blob))
    np.testing.assert_array_equal(loaded.neighbours, base.neighbours)
    np.testing.assert_array_equal(loaded.neighbour_distances, base.neighbour_distances)
    assert_same_recogniser(
        loaded.updated(new_x, new_ids, removed), base.updated(new_x, new_ids, removed), probes
    )

    tableless = dataclasses.replace(base, neighbours=None, neighbour_distances=None).to_bytes()
    old = ml.MAGIC + ml.TABLELESS_FORMAT_VERSION.to_bytes(2, "big") + tableless[len(ml.MAGIC) + 2 :]
    format_2 = ml.Recogniser.from_bytes(old, sha256=ml.artifact_sha256(old))
    assert not format_2.updatable and format_2.identify(probes[0]) == base.identify(probes[0])
    with pytest.raises(ml.NotUpdatableError, match="train it in full"):
        format_2.updated(new_x, new_ids, removed)


def test_gallery_changes_name_the_people_whose_photos_differ():
    """Comparing a recogniser's gallery with today's photos (in any order) finds the added, the
    re-photographed and the removed people, and nobody else."""
    x, ids, centres = gallery(6)
    rec = ml.train(x, ids)
    shuffled = np.random.default_rng(0).permutation(len(x))
    unchanged = ml.gallery_changes(rec, x[shuffled], ids[shuffled])
    assert (unchanged.people, len(unchanged.embeddings), unchanged.removed_ids) == (0, 0, [])
    other = np.stack([near(centres[1], seed=s) for s in (1, 2)])
    keep = ~np.isin(ids, [101, 103])
    changes = ml.gallery_changes(
        rec, np.concatenate([x[keep], other, x[:2]]), np.concatenate([ids[keep], [101, 101], [900, 900]])
    )
    assert sorted(set(changes.person_ids.tolist())) == [101, 900] and changes.removed_ids == [103]
    assert changes.people == 3 and len(changes.embeddings) == 4


def test_a_chain_of_updates_and_erasures_stays_the_full_fit():
    """Updates on top of updates (and an erasure between them) still equal one full fit of the result."""
    x, ids, centres = gallery(200, noise=0.09)
    rec = ml.train(x, ids)
    photos = {int(p): x[ids == p] for p in np.unique(ids)}
    for step in range(4):
        person = 1000 + step
        photos[person] = np.stack([near(centres[step * 7], seed=50 * step + i, noise=0.09) for i in range(3)])
        photos[110 + step] = np.stack([near(centres[40 + step], seed=900 + step + i) for i in range(2)])
        update = [person, 110 + step]
        rec = rec.updated(
            np.concatenate([photos[p] for p in update]), np.repeat(update, [3, 2]), [150 + step]
        )
        del photos[150 + step]
        if step == 1:
            rec = rec.without({120})
            del photos[120]
    full = ml.train(
        np.concatenate(list(photos.values())), np.repeat(list(photos), [len(v) for v in photos.values()])
    )
    probes = np.concatenate([centres, gallery(50, seed=78)[2]])
    assert rec.person_ids.tolist() == full.person_ids.tolist()
    np.testing.assert_allclose(rec.templates, full.templates, atol=1e-6)
    assert rec.threshold == pytest.approx(full.threshold, abs=1e-5)
    assert rec.genuine_accept_rate == pytest.approx(full.genuine_accept_rate, abs=1e-9)
    assert [a.person_id for a in rec.identify_many(probes)] == [
        a.person_id for a in full.identify_many(probes)
    ]
