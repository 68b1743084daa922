"""Open-set scores tried against the production one on the open-set split (what was not adopted, and why).

    python -m benchmarks.open_set_scores ../shared/data/lfw-dev --json var/bench/open_set_scores.json

Same split and embedding cache as benchmarks.open_set (run that first, or this embeds the photos).
Every score is "accept iff score < t and d1 < RECOGNISER_MAX_THRESHOLD", swept over t; per frame,
staff accepted as themselves when at most 0.1/0.5/1/2% of strangers' photos are let in.

- production: d1 minus the mean distance to the next three templates (recognition.ml.recogniser);
- learned: a logistic regression fitted on the enrolled photos only, as a training run could fit it
  (genuine: each photo against its own template made without it; impostor: each photo against
  everybody else's templates), on (d1, d2, mean d2..d4, the candidate's template spread);
- symmetric: the production score, its neighbour term mixed with the candidate template's own
  distance to its three nearest templates (weight w);
- photo cohort: d1 minus the mean distance to the k nearest enrolled photos of other people.
Scores with a knob (w, k) are also given 3-fold cross-validated over people: the knob and the
threshold chosen on two thirds of the staff and strangers, measured on the other third.
Touches no database.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import REPO, emit, parser, print_table

FAR_POINTS = (0.001, 0.005, 0.01, 0.02)
SYMMETRIC_WEIGHTS = (0.25, 0.5, 0.75)
COHORT_SIZES = (3, 5, 10, 20)
FOLDS = 3


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(2.0 - 2.0 * (a @ b.T), 0.0))


def normalise(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def accepted_at(staff_score, staff_right, stranger_score, far: float) -> tuple[float, float, float]:
    """Return (threshold, staff accepted as themselves, strangers accepted) at the largest threshold
    that lets in at most `far` of the strangers (accept iff score < threshold)."""
    ordered = np.sort(stranger_score)
    k = int(np.floor(far * len(ordered)))
    t = ordered[k] if k < len(ordered) else np.inf
    return float(t), float(np.mean((staff_score < t) & staff_right)), float(np.mean(stranger_score < t))


class Split:
    """The gallery's templates and every probe's distances to them (staff probes, then strangers)."""

    def __init__(self, x, ids, staff_x, staff_ids, stranger_x, stranger_people, max_distance: float):
        self.x, self.ids = x, ids
        self.people = int(ids.max()) + 1
        self.sums = np.zeros((self.people, x.shape[1]))
        np.add.at(self.sums, ids, x)
        self.templates = normalise(self.sums)
        self.staff_x, self.staff_ids = staff_x, staff_ids
        self.stranger_x, self.stranger_people = stranger_x, stranger_people
        self.max_distance = max_distance
        self.staff_d = distances(staff_x, self.templates)
        self.stranger_d = distances(stranger_x, self.templates)
        self.spread = np.array(
            [np.linalg.norm(x[ids == i] - self.templates[i], axis=1).mean() for i in range(self.people)]
        )
        between = distances(self.templates, self.templates)
        np.fill_diagonal(between, np.inf)
        self.template_cohort = np.sort(between, axis=1)[:, :3].mean(axis=1)

    def scored(self, score: Callable[[np.ndarray, np.ndarray], np.ndarray]):
        """Return (staff scores, staff named right, stranger scores), d1 >= max_distance never accepted."""
        out = []
        for d, probes in ((self.staff_d, self.staff_x), (self.stranger_d, self.stranger_x)):
            d1 = d.min(axis=1)
            out.append(np.where(d1 < self.max_distance, score(d, probes), np.inf))
        return out[0], self.staff_d.argmin(axis=1) == self.staff_ids, out[1]


def production(d, _probes):
    near = np.sort(d, axis=1)
    return near[:, 0] - near[:, 1:4].mean(axis=1)


def symmetric(split: Split, w: float):
    def score(d, _probes):
        near = np.sort(d, axis=1)
        return near[:, 0] - (1 - w) * near[:, 1:4].mean(axis=1) - w * split.template_cohort[d.argmin(axis=1)]

    return score


def photo_cohort(split: Split, k: int):
    def score(d, probes):
        to_photos = distances(probes, split.x)
        to_photos[split.ids[None, :] == d.argmin(axis=1)[:, None]] = np.inf
        return d.min(axis=1) - np.sort(to_photos, axis=1)[:, :k].mean(axis=1)

    return score


def features(split: Split, d: np.ndarray, spread: np.ndarray | None = None) -> np.ndarray:
    near = np.sort(d, axis=1)
    own = split.spread[d.argmin(axis=1)] if spread is None else spread
    return np.stack([near[:, 0], near[:, 1], near[:, 1:4].mean(axis=1), own], axis=1)


def learned(split: Split):
    """Return a score fitted by logistic regression on the gallery alone (no probe, no stranger)."""
    from sklearn.linear_model import LogisticRegression

    x, ids = split.x, split.ids
    rows = np.arange(len(x))
    d = distances(x, split.templates)
    impostor = d.copy()
    impostor[rows, ids] = np.inf
    genuine = d.copy()
    left_out = normalise(split.sums[ids] - x)
    genuine[rows, ids] = np.linalg.norm(x - left_out, axis=1)
    left_out_spread = np.array(
        [np.linalg.norm(x[(ids == ids[j]) & (rows != j)] - left_out[j], axis=1).mean() for j in rows]
    )
    right = genuine.argmin(axis=1) == ids
    spread = np.where(right, left_out_spread, split.spread[genuine.argmin(axis=1)])
    positives = features(split, genuine, spread)[right]
    negatives = features(split, impostor)
    model = LogisticRegression(C=1000.0, max_iter=5000, class_weight="balanced")
    model.fit(
        np.concatenate([positives, negatives]), np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
    )

    def score(d, _probes):
        return -model.decision_function(features(split, d))

    return score, model.coef_[0].tolist()


def cross_validated(split: Split, knobs: dict, far: float = 0.01) -> dict:
    """Return the staff accepted at `far` with the knob and the threshold chosen on the other folds."""
    staff_fold = split.staff_ids % FOLDS
    names = sorted(set(split.stranger_people))
    number = {name: index for index, name in enumerate(names)}
    stranger_fold = np.array([number[p] % FOLDS for p in split.stranger_people])
    scored = {knob: split.scored(score) for knob, score in knobs.items()}
    results = []
    for fold in range(FOLDS):
        train_staff, train_strangers = staff_fold != fold, stranger_fold != fold

        on_train = {
            knob: accepted_at(staff[train_staff], right[train_staff], strangers[train_strangers], far)
            for knob, (staff, right, strangers) in scored.items()
        }
        best = max(knobs, key=lambda knob: on_train[knob][1])
        threshold = on_train[best][0]
        staff, right, strangers = scored[best]
        held_staff, held_strangers = ~train_staff, ~train_strangers
        results.append(
            {
                "fold": fold,
                "knob": best,
                "staff_accepted": float(np.mean((staff[held_staff] < threshold) & right[held_staff])),
                "strangers_accepted": float(np.mean(strangers[held_strangers] < threshold)),
            }
        )
    return {
        "folds": results,
        "staff_accepted_mean": float(np.mean([r["staff_accepted"] for r in results])),
        "strangers_accepted_mean": float(np.mean([r["strangers_accepted"] for r in results])),
    }


def load_split(root: Path, *, face: str, max_distance: float) -> Split:
    from benchmarks.open_set import build_split, embed_all
    from recognition import services

    gallery, probes, strangers = build_split(root, min_photos=4, enrol=3)
    version = services.embedder_version()
    cache = REPO / "var" / "bench" / f"open_set-{root.name}-{face}-{version}.npz"
    vectors = embed_all(gallery + probes + strangers, face=face, cache=cache)
    names = sorted({person for person, _ in gallery})
    number = {name: index for index, name in enumerate(names)}
    enrolled = [(number[p], vectors[str(path)]) for p, path in gallery if str(path) in vectors]
    counts = np.bincount([i for i, _ in enrolled], minlength=len(names))
    enrolled = [(i, v) for i, v in enrolled if counts[i] >= 2]
    staff = [
        (number[p], vectors[str(path)])
        for p, path in probes
        if str(path) in vectors and counts[number[p]] >= 2
    ]
    others = [(p, vectors[str(path)]) for p, path in strangers if str(path) in vectors]
    # Renumber the people left so that templates are 0..P-1.
    kept = sorted({i for i, _ in enrolled})
    renumber = {old: new for new, old in enumerate(kept)}
    return Split(
        np.stack([v for _, v in enrolled]).astype(np.float64),
        np.array([renumber[i] for i, _ in enrolled]),
        np.stack([v for _, v in staff]).astype(np.float64),
        np.array([renumber[i] for i, _ in staff]),
        np.stack([v for _, v in others]).astype(np.float64),
        [p for p, _ in others],
        max_distance,
    )


def run(root: Path, *, face: str, max_distance: float) -> dict:
    split = load_split(root, face=face, max_distance=max_distance)
    learned_score, coefficients = learned(split)
    scores = {"production (d1 - mean d2..d4)": production, "learned on the gallery (logistic)": learned_score}
    scores |= {f"symmetric, w={w}": symmetric(split, w) for w in SYMMETRIC_WEIGHTS}
    scores |= {f"photo cohort, k={k}": photo_cohort(split, k) for k in COHORT_SIZES}
    curves = {}
    for name, score in scores.items():
        staff, right, strangers = split.scored(score)
        curves[name] = {
            str(far): dict(
                zip(
                    ("threshold", "staff_accepted", "strangers_accepted"),
                    accepted_at(staff, right, strangers, far),
                    strict=True,
                )
            )
            for far in FAR_POINTS
        }
    return {
        "staff_probes": len(split.staff_x),
        "strangers": len(split.stranger_x),
        "learned_coefficients": dict(zip(("d1", "d2", "mean_d2_d4", "spread"), coefficients, strict=True)),
        "at_far": curves,
        "cross_validated_at_1pct": {
            "production": cross_validated(split, {"-": production}),
            "symmetric": cross_validated(split, {w: symmetric(split, w) for w in SYMMETRIC_WEIGHTS}),
            "photo_cohort": cross_validated(split, {k: photo_cohort(split, k) for k in COHORT_SIZES}),
        },
    }


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__)
    arguments.add_argument("root", type=Path, help="folder-per-person photos (e.g. ../shared/data/lfw-dev)")
    arguments.add_argument("--face", choices=("largest", "centre"), default="centre")
    args = arguments.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    from django.conf import settings

    figures = run(args.root, face=args.face, max_distance=settings.RECOGNISER_MAX_THRESHOLD)
    print(f"\n{figures['staff_probes']} staff probes, {figures['strangers']} strangers' photos")
    print(f"learned score coefficients: {figures['learned_coefficients']}")
    print_table(
        ["score", *(f"staff at strangers <= {100 * f:g}%" for f in FAR_POINTS)],
        [
            [
                name,
                *(
                    f"{100 * p['staff_accepted']:.2f}% ({100 * p['strangers_accepted']:.2f}%)"
                    for p in points.values()
                ),
            ]
            for name, points in figures["at_far"].items()
        ],
        title="Per frame: staff accepted as themselves (strangers accepted)",
    )
    print_table(
        ["score", "per fold: knob, staff accepted (strangers accepted)", "mean staff", "mean strangers"],
        [
            [
                name,
                " / ".join(
                    f"{r['knob']}: {100 * r['staff_accepted']:.2f}% ({100 * r['strangers_accepted']:.2f}%)"
                    for r in cv["folds"]
                ),
                f"{100 * cv['staff_accepted_mean']:.2f}%",
                f"{100 * cv['strangers_accepted_mean']:.2f}%",
            ]
            for name, cv in figures["cross_validated_at_1pct"].items()
        ],
        title="3-fold cross-validated over people (knob and threshold for 1% chosen on the other two folds)",
    )
    emit("open_set_scores", figures, json_path=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
