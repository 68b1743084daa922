"""Embedding distances on a folder-per-person dataset: what LIVENESS_MAX_IDENTITY_DISTANCE and
ENROLMENT_DUPLICATE_DISTANCE stand on, for the current embedder.

    python -m benchmarks.distances ../shared/data/lfw-dev --json var/bench/distances.json

Every photo is embedded once by the production engine (the face nearest the centre, LFW's subject)
and cached under var/bench/ with the open-set benchmark's cache (same key).

- Pairs: every pair of different photos of one person (genuine) and of two people (impostor):
  percentiles, and the share under each candidate threshold. For liveness, a genuine pair of photos
  taken on different days is a far harder case than two frames a third of a second apart (an upper
  bound on the genuine side); an impostor pair under the limit is a face swap the distance alone
  would not stop.
- Duplicates as enrolment meets them (people.services: a new person's photo closer than the limit
  to an accepted photo of somebody else flags the person): the gallery is everybody with at most 3
  photos each; a *new person* is each person with 3 photos, searched against everybody else's
  photos (flagged falsely if any of the 3 is under the limit); a *duplicate record* is each person
  with at least 6 photos, photos 4-6 enrolled again against their own first 3 (caught if any is
  under the limit).
Touches no database.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from benchmarks.common import REPO, emit, parser, print_table

PERCENTILES = (0.1, 1, 5, 50, 95, 99, 99.9)
THRESHOLDS = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 1.0, 1.1, 1.2)
ENROLLED = 3


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return Euclidean distances between rows of unit vectors a (M, d) and b (N, d)."""
    return np.sqrt(np.maximum(2.0 - 2.0 * (a @ b.T), 0.0))


def pair_figures(x: np.ndarray, labels: np.ndarray) -> dict:
    """Return percentiles and shares under THRESHOLDS of genuine and impostor pair distances."""
    genuine_counts = np.zeros(len(THRESHOLDS), dtype=np.int64)
    impostor_counts = np.zeros(len(THRESHOLDS), dtype=np.int64)
    genuine_all, impostor_sample = [], []
    n_genuine = n_impostor = 0
    rng = np.random.default_rng(0)
    for start in range(0, len(x), 512):
        rows = np.arange(start, min(start + 512, len(x)))
        d = distances(x[rows], x)
        upper = np.arange(len(x))[None, :] > rows[:, None]
        same = labels[rows][:, None] == labels[None, :]
        genuine, impostor = d[upper & same], d[upper & ~same]
        genuine_all.append(genuine)
        # Percentiles of millions of impostor pairs from a fixed sample; the shares count them all.
        impostor_sample.append(rng.choice(impostor, size=min(len(impostor), 20_000), replace=False))
        for i, t in enumerate(THRESHOLDS):
            genuine_counts[i] += int((genuine < t).sum())
            impostor_counts[i] += int((impostor < t).sum())
        n_genuine += len(genuine)
        n_impostor += len(impostor)
    genuine = np.concatenate(genuine_all)
    impostor = np.concatenate(impostor_sample)
    return {
        "genuine_pairs": n_genuine,
        "impostor_pairs": n_impostor,
        "genuine_percentiles": dict(
            zip(map(str, PERCENTILES), np.percentile(genuine, PERCENTILES).tolist(), strict=True)
        ),
        "impostor_percentiles": dict(
            zip(map(str, PERCENTILES), np.percentile(impostor, PERCENTILES).tolist(), strict=True)
        ),
        "under": [
            {
                "threshold": t,
                "genuine": int(g) / n_genuine,
                "impostor": int(i) / n_impostor,
                "impostor_pairs": int(i),
            }
            for t, g, i in zip(THRESHOLDS, genuine_counts, impostor_counts, strict=True)
        ],
    }


def duplicate_figures(by_person: dict[str, list[np.ndarray]]) -> dict:
    """Return, per threshold, the share of new people flagged falsely and of duplicate records caught."""
    names = sorted(by_person)
    gallery = [(index, v) for index, name in enumerate(names) for v in by_person[name][:ENROLLED]]
    x = np.stack([v for _, v in gallery])
    owner = np.array([index for index, _ in gallery])
    newcomers, duplicates = [], []
    for index, name in enumerate(names):
        photos = by_person[name]
        if len(photos) >= ENROLLED:
            d = distances(np.stack(photos[:ENROLLED]), x[owner != index])
            newcomers.append(float(d.min()))
        if len(photos) >= 2 * ENROLLED:
            d = distances(np.stack(photos[ENROLLED : 2 * ENROLLED]), np.stack(photos[:ENROLLED]))
            duplicates.append(float(d.min()))
    newcomers, duplicates = np.array(newcomers), np.array(duplicates)
    return {
        "gallery_people": len(names),
        "gallery_photos": len(x),
        "new_people": len(newcomers),
        "duplicate_records": len(duplicates),
        "under": [
            {
                "threshold": t,
                "new_people_flagged": float(np.mean(newcomers < t)),
                "duplicates_caught": float(np.mean(duplicates < t)) if len(duplicates) else None,
            }
            for t in THRESHOLDS
        ],
    }


def run(root: Path, *, face: str) -> dict:
    from benchmarks.open_set import embed_all
    from recognition import services
    from recognition.ml.dataset import folder_dataset

    photos = folder_dataset(root)
    items = [(person, path) for person, paths in sorted(photos.items()) for path in paths]
    version = services.embedder_version()
    cache = REPO / "var" / "bench" / f"open_set-{root.name}-{face}-{version}.npz"
    vectors = embed_all(items, face=face, cache=cache)
    by_person: dict[str, list[np.ndarray]] = {}
    for person, path in items:
        if str(path) in vectors:
            by_person.setdefault(person, []).append(vectors[str(path)])
    names = sorted(by_person)
    x = np.stack([v for name in names for v in by_person[name]]).astype(np.float32)
    labels = np.array([index for index, name in enumerate(names) for _ in by_person[name]])
    return {
        "root": str(root),
        "face": face,
        "embedder_version": version,
        "people": len(names),
        "photos": len(x),
        "pairs": pair_figures(x, labels),
        "duplicates": duplicate_figures(by_person),
    }


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__)
    arguments.add_argument("root", type=Path, help="folder-per-person photos (e.g. ../shared/data/lfw-dev)")
    arguments.add_argument("--face", choices=("largest", "centre"), default="centre")
    args = arguments.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    figures = run(args.root, face=args.face)
    pairs, dup = figures["pairs"], figures["duplicates"]
    print(f"\n{figures['people']} people, {figures['photos']} photos, {figures['embedder_version']}")
    print_table(
        ["pairs", "count", *(f"p{p}" for p in PERCENTILES)],
        [
            [
                "same person",
                pairs["genuine_pairs"],
                *(f"{v:.3f}" for v in pairs["genuine_percentiles"].values()),
            ],
            [
                "different people",
                pairs["impostor_pairs"],
                *(f"{v:.3f}" for v in pairs["impostor_percentiles"].values()),
            ],
        ],
        title="Distances between two photos",
    )
    print_table(
        ["under", "same-person pairs", "different-people pairs"],
        [
            [
                f"{u['threshold']:.2f}",
                f"{100 * u['genuine']:.2f}%",
                f"{100 * u['impostor']:.4f}% ({u['impostor_pairs']})",
            ]
            for u in pairs["under"]
        ],
        title="Share of pairs under each distance",
    )
    print_table(
        ["duplicate limit", "new people flagged (false)", "duplicate records caught"],
        [
            [
                f"{u['threshold']:.2f}",
                f"{100 * u['new_people_flagged']:.1f}%",
                "n/a" if u["duplicates_caught"] is None else f"{100 * u['duplicates_caught']:.1f}%",
            ]
            for u in dup["under"]
        ],
        title=(
            f"Duplicate check: {dup['new_people']} new people with {ENROLLED} photos against "
            f"{dup['gallery_photos']} photos of {dup['gallery_people']} people; "
            f"{dup['duplicate_records']} duplicate records"
        ),
    )
    emit("distances", figures, json_path=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
