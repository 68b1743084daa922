"""benchmarks.distances: the figures ENROLMENT_DUPLICATE_DISTANCE and LIVENESS_MAX_IDENTITY_DISTANCE
stand on, counted right (on constructed unit vectors; the benchmark itself runs on real photos)."""

import numpy as np

from benchmarks import distances


def unit(*values):
    v = np.zeros(128, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def test_pairs_are_counted_and_split_by_threshold():
    """3 photos of one person (genuine pairs 0.0 and 2 sin(θ/2)) and 1 of another, orthogonal (sqrt 2)."""
    x = np.stack([unit(1, 0), unit(1, 0), unit(1, 0.2), unit(0, 1)])
    labels = np.array([0, 0, 0, 1])
    figures = distances.pair_figures(x, labels)
    assert (figures["genuine_pairs"], figures["impostor_pairs"]) == (3, 3)
    at = {u["threshold"]: u for u in figures["under"]}
    assert at[0.6]["genuine"] == 1.0  # the farthest genuine pair is about 0.2 apart
    assert at[1.2]["impostor"] == 0.0 and at[1.2]["impostor_pairs"] == 0  # every impostor is ~1.37+ away
    assert figures["impostor_percentiles"]["50"] > 1.3


def test_duplicates_caught_and_new_people_flagged():
    """A person re-enrolled with the same face is caught; a newcomer is flagged only when a photo of
    theirs is as close as the limit to somebody else's."""
    twin = unit(0, 0, 1)
    by_person = {
        "again": [unit(1, 0)] * 6,  # photos 4-6 are the same face as 1-3: a duplicate record
        "lookalike": [twin, unit(0, 0, 0, 1), unit(0, 0, 0, 0, 1)],
        "original": [unit(0, 0, 1, 0.3), unit(0, 1), unit(0, 1, 0.1)],
    }
    figures = distances.duplicate_figures(by_person)
    assert (figures["gallery_people"], figures["gallery_photos"], figures["new_people"]) == (3, 9, 3)
    assert figures["duplicate_records"] == 1
    at = {u["threshold"]: u for u in figures["under"]}
    assert at[0.6]["duplicates_caught"] == 1.0
    # "lookalike" and "original" share a face 0.29 apart: both flagged; "again" is far from everyone.
    assert at[0.6]["new_people_flagged"] == 2 / 3
