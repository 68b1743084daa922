"""Open set at office scale on a folder-per-person dataset: staff accepted vs strangers let in, old and new
decision, and per check-in figures through the kiosk's K-of-M rule.

    python -m benchmarks.open_set ../shared/data/lfw-dev --json var/bench/open_set.json

The split (rebuilt the same way every run, no randomness): people with at least --min-photos (4) photos
are staff, enrolled with their first --enrol (3) photos and probed with the rest; everybody else is a
stranger, every photo of theirs a probe. Every photo is embedded once with the production engine (the
face --face picks: LFW's subject is the one nearest the centre) and cached under var/bench/, keyed by
the embedder version.

- The new decision is the production recogniser (recognition.training.recogniser_fit, asked through
  recognition.matching.recogniser_identify) at its calibrated threshold; its curve sweeps that
  threshold (the score: distance to the best template minus the mean distance to the next three).
- The old decision is format 1's: a calibrated one-vs-rest linear SVM names the candidate and the
  distance to the candidate's nearest enrolled photo must be under a threshold; its curve sweeps it.
- Kiosk bursts: per check-in, M frames of one person (staff: their probe photos in turn, starting at
  each; strangers: their photos in turn, a one-photo stranger's photo M times, the worst case) go
  through attendance.checkin.rules.agreement_reached (K of M); the outcome is correct, wrong person, stranger
  admitted or no decision; also for the old decision at its threshold for 1% of strangers per frame.
Touches no database.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.common import REPO, emit, parser, print_table

FAR_POINTS = (0.001, 0.005, 0.01, 0.02)


def build_split(root: Path, *, min_photos: int, enrol: int):
    """Return (gallery, probes, strangers) as lists of (person, path), sorted, from root/<person>/*."""
    from recognition.ml.dataset import folder_dataset

    gallery, probes, strangers = [], [], []
    for person, photos in sorted(folder_dataset(root).items()):
        photos = sorted(photos)
        if len(photos) >= min_photos:
            gallery += [(person, p) for p in photos[:enrol]]
            probes += [(person, p) for p in photos[enrol:]]
        else:
            strangers += [(person, p) for p in photos]
    return gallery, probes, strangers


def embed_all(items, *, face: str, cache: Path) -> dict[str, np.ndarray]:
    """Return {path: embedding} of every photo with a face, embedded by the production engine (cached)."""
    from recognition import services
    from recognition.ml.evaluation import embed_images

    if cache.exists():
        with np.load(cache) as stored:
            return dict(zip(stored["paths"].tolist(), stored["vectors"], strict=True))
    engine = services.engine_get()
    started = time.perf_counter()
    embedded = embed_images(engine, items, face=face)
    print(f"embedded {len(items)} photos in {time.perf_counter() - started:.0f} s", flush=True)
    found = {str(e.path): e.embedding for e in embedded if e.embedding is not None}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, paths=np.array(list(found)), vectors=np.stack(list(found.values())))
    return found


def legacy_decision(x: np.ndarray, ids: np.ndarray):
    """Return a function embeddings -> (candidate ids, distance to the candidate's nearest photo):
    format 1's calibrated one-vs-rest linear SVM (3 folds, as it trained)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    from recognition.ml.recogniser import pairwise_distances

    classes, labels = np.unique(ids, return_inverse=True)
    classifier = CalibratedClassifierCV(LinearSVC(C=1.0, dual=True, max_iter=2000), method="sigmoid", cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(x, labels)

    def decide(probes: np.ndarray):
        named = classifier.predict_proba(probes).argmax(axis=1)
        d = pairwise_distances(probes, x)
        nearest = np.array([row[labels == c].min() for row, c in zip(d, named, strict=True)])
        return classes[named], nearest

    return decide


def curve(staff_score, staff_right, stranger_score, *, staff_extra=None, stranger_extra=None) -> list[dict]:
    """Return the operating points of a decision "accept iff score < t" swept over t.

    staff_right: the candidate is the person; *_extra: a further condition (e.g. d1 < 1) per face.
    """
    staff_ok = np.ones_like(staff_right) if staff_extra is None else staff_extra
    stranger_ok = np.ones(len(stranger_score), dtype=bool) if stranger_extra is None else stranger_extra
    points = []
    for t in np.unique(np.concatenate([staff_score, stranger_score])):
        accepted = (staff_score < t) & staff_ok
        points.append(
            {
                "threshold": float(t),
                "staff_accepted": float(np.mean(accepted & staff_right)),
                "staff_wrong": float(np.mean(accepted & ~staff_right)),
                "strangers_accepted": float(np.mean((stranger_score < t) & stranger_ok)),
            }
        )
    return points


def at_far(points: list[dict], far: float) -> dict:
    """Return the operating point with the most staff accepted while strangers_accepted <= far."""
    allowed = [p for p in points if p["strangers_accepted"] <= far]
    return max(allowed, key=lambda p: p["staff_accepted"]) if allowed else None


def bursts(answers_by_person: dict, *, k: int, m: int, stranger: bool) -> dict:
    """Return outcome counts of check-ins made of M-frame bursts through the kiosk's K-of-M rule."""
    import datetime as dt

    from attendance.checkin.rules import agreement_reached

    counts = {"check_ins": 0, "correct": 0, "wrong_person": 0, "stranger_admitted": 0, "no_decision": 0}
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    window = dt.timedelta(seconds=m + 1)
    for person, answers in answers_by_person.items():
        for first in range(len(answers)):
            frames = [answers[(first + i) % len(answers)] for i in range(m)]
            recent, decided = [], None
            for index, named in enumerate(frames):
                now = start + dt.timedelta(seconds=index)
                recent.append((now, named))
                if named is not None and agreement_reached(
                    recent, person_id=named, now=now, k=k, m=m, window=window
                ):
                    decided = named
                    break
            counts["check_ins"] += 1
            if decided is None:
                counts["no_decision"] += 1
            elif stranger:
                counts["stranger_admitted"] += 1
            elif decided == person:
                counts["correct"] += 1
            else:
                counts["wrong_person"] += 1
    return counts


def run(root: Path, *, min_photos: int, enrol: int, face: str, k: int, m: int) -> dict:
    from recognition import services
    from recognition.matching import recogniser_identify
    from recognition.training import recogniser_fit

    gallery, probes, strangers = build_split(root, min_photos=min_photos, enrol=enrol)
    version = services.embedder_version()
    cache = REPO / "var" / "bench" / f"open_set-{root.name}-{face}-{version}.npz"
    vectors = embed_all(gallery + probes + strangers, face=face, cache=cache)

    names = sorted({person for person, _ in gallery})
    number = {name: index for index, name in enumerate(names)}
    enrolled = [(number[p], vectors[str(path)]) for p, path in gallery if str(path) in vectors]
    x = np.stack([v for _, v in enrolled])
    ids = np.array([i for i, _ in enrolled], dtype=np.int64)
    # Staff with under 2 enrolled faces cannot be trained on: their probes are strangers to the recogniser.
    trainable = {i for i in set(ids.tolist()) if (ids == i).sum() >= 2}
    keep = np.isin(ids, list(trainable))
    x, ids = x[keep], ids[keep]
    staff = [
        (number[p], vectors[str(path)])
        for p, path in probes
        if str(path) in vectors and number[p] in trainable
    ]
    others = [(p, vectors[str(path)]) for p, path in strangers if str(path) in vectors]
    staff_x, staff_ids = np.stack([v for _, v in staff]), np.array([i for i, _ in staff])
    stranger_x = np.stack([v for _, v in others])

    started = time.perf_counter()
    trained = recogniser_fit(x, ids, embedder_version=version)
    fit_seconds = time.perf_counter() - started
    staff_answers = recogniser_identify(trained, staff_x)
    stranger_answers = recogniser_identify(trained, stranger_x)
    staff_right = np.array([a.candidate_id == t for a, t in zip(staff_answers, staff_ids, strict=True)])
    new = {
        "threshold": trained.threshold,
        "target_far": trained.target_far,
        "staff_accepted": float(
            np.mean([a.person_id == t for a, t in zip(staff_answers, staff_ids, strict=True)])
        ),
        "staff_wrong": float(
            np.mean(
                [
                    a.person_id is not None and a.person_id != t
                    for a, t in zip(staff_answers, staff_ids, strict=True)
                ]
            )
        ),
        "strangers_accepted": float(np.mean([a.person_id is not None for a in stranger_answers])),
        "training_seconds": fit_seconds,
    }
    new_curve = curve(
        np.array([a.score for a in staff_answers]),
        staff_right,
        np.array([a.score for a in stranger_answers]),
        staff_extra=np.array([a.distance < trained.max_threshold for a in staff_answers]),
        stranger_extra=np.array([a.distance < trained.max_threshold for a in stranger_answers]),
    )

    started = time.perf_counter()
    legacy = legacy_decision(x, ids)
    legacy_seconds = time.perf_counter() - started
    legacy_staff, legacy_staff_d = legacy(staff_x)
    legacy_strangers, legacy_stranger_d = legacy(stranger_x)
    old_curve = curve(legacy_staff_d, legacy_staff == staff_ids, legacy_stranger_d)
    # The old decision at kiosk level, at its best threshold for 1% of strangers per frame.
    old_point = at_far(old_curve, 0.01)
    old_threshold = old_point["threshold"] if old_point else -np.inf
    old_by_staff: dict[int, list] = {}
    for named, d, t in zip(legacy_staff, legacy_staff_d, staff_ids, strict=True):
        old_by_staff.setdefault(int(t), []).append(int(named) if d < old_threshold else None)
    old_by_stranger: dict[str, list] = {}
    for (person, _), named, d in zip(others, legacy_strangers, legacy_stranger_d, strict=True):
        old_by_stranger.setdefault(person, []).append(int(named) if d < old_threshold else None)

    by_staff: dict[int, list] = {}
    for a, t in zip(staff_answers, staff_ids, strict=True):
        by_staff.setdefault(int(t), []).append(a.person_id)
    by_stranger: dict[str, list] = {}
    for (person, _), a in zip(others, stranger_answers, strict=True):
        by_stranger.setdefault(person, []).append(a.person_id)
    return {
        "split": {
            "root": str(root),
            "min_photos": min_photos,
            "enrolled_photos_per_person": enrol,
            "face": face,
            "staff_people": len(trainable),
            "enrolled_photos": len(x),
            "staff_probes": len(staff),
            "stranger_people": len({p for p, _ in others}),
            "stranger_photos": len(others),
            "photos_without_face": len(gallery) + len(probes) + len(strangers) - len(vectors),
        },
        "embedder_version": version,
        "new_decision": new,
        "new_at_far": {str(f): at_far(new_curve, f) for f in FAR_POINTS},
        "old_at_far": {str(f): at_far(old_curve, f) for f in FAR_POINTS},
        "old_training_seconds": legacy_seconds,
        "kiosk": {
            "k": k,
            "m": m,
            "staff": bursts(by_staff, k=k, m=m, stranger=False),
            "strangers": bursts(by_stranger, k=k, m=m, stranger=True),
            "old_staff": bursts(old_by_staff, k=k, m=m, stranger=False),
            "old_strangers": bursts(old_by_stranger, k=k, m=m, stranger=True),
            "old_threshold": float(old_threshold),
        },
        "new_curve": new_curve[:: max(1, len(new_curve) // 400)],
        "old_curve": old_curve[:: max(1, len(old_curve) // 400)],
    }


def pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def split_parser(doc: str | None):
    """Return a benchmark's argument parser with the split's options (root, --min-photos, --enrol, --face)."""
    arguments = parser(doc)
    arguments.add_argument("root", type=Path, help="folder-per-person photos (e.g. ../shared/data/lfw-dev)")
    arguments.add_argument("--min-photos", type=int, default=4, help="photos a person needs to be staff")
    arguments.add_argument("--enrol", type=int, default=3, help="photos enrolled per staff member")
    arguments.add_argument("--face", choices=("largest", "centre"), default="centre")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = split_parser(__doc__)
    arguments.add_argument("--k", type=int, default=None, help="kiosk agreement K (default: the setting)")
    arguments.add_argument("--m", type=int, default=None, help="kiosk agreement M (default: the setting)")
    args = arguments.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    from django.conf import settings

    k = args.k or settings.CHECKIN_AGREEMENT_K
    m = args.m or settings.CHECKIN_AGREEMENT_M
    figures = run(args.root, min_photos=args.min_photos, enrol=args.enrol, face=args.face, k=k, m=m)
    split, new = figures["split"], figures["new_decision"]
    print(
        f"\n{split['staff_people']} staff ({split['enrolled_photos']} photos enrolled, "
        f"{split['staff_probes']} probes), {split['stranger_people']} strangers "
        f"({split['stranger_photos']} photos)"
    )
    print_table(
        ["decision", "staff accepted as themselves", "named someone else", "strangers accepted"],
        [
            [
                "new, calibrated threshold",
                pct(new["staff_accepted"]),
                pct(new["staff_wrong"]),
                pct(new["strangers_accepted"]),
            ]
        ]
        + [
            [
                f"{label}, strangers <= {pct(float(far))}",
                pct(p and p["staff_accepted"]),
                pct(p and p["staff_wrong"]),
                pct(p and p["strangers_accepted"]),
            ]
            for label, key in (("new", "new_at_far"), ("old (SVM + distance)", "old_at_far"))
            for far, p in figures[key].items()
        ],
        title="Per frame",
    )
    kiosk = figures["kiosk"]
    outcomes = ("correct", "wrong_person", "stranger_admitted", "no_decision")
    print_table(
        ["check-ins", "count", "correct", "wrong person", "stranger admitted", "no decision"],
        [
            [name, c["check_ins"], *(pct(c[o] / c["check_ins"]) for o in outcomes)]
            for name, c in (
                ("staff", kiosk["staff"]),
                ("strangers", kiosk["strangers"]),
                ("staff, old decision at 1%", kiosk["old_staff"]),
                ("strangers, old decision at 1%", kiosk["old_strangers"]),
            )
        ],
        title=f"Kiosk check-ins ({kiosk['k']} of {kiosk['m']} frames agree)",
    )
    emit("open_set", figures, json_path=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
