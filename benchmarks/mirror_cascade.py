"""Mirror cascade on a folder-per-person dataset: how often a kiosk face needs its mirror image, and what
skipping it costs in decisions, for a sweep of RECOGNITION_MIRROR_BAND.

    python -m benchmarks.mirror_cascade ../shared/data/lfw-dev --json var/bench/mirror_cascade.json

Every enrolled photo is embedded as the production engine does (face and mirror image averaged). A kiosk
face can be embedded alone first and get the mirror only when its answer is near turning
(Recogniser.undecided: score within the band of the threshold, or an accepted distance within the band
of the cap). For each band this prints the share of faces that needed the mirror, how many answers differ
from averaging every face, and the open-set figures (staff accepted, named someone else, strangers
accepted) per frame and through the kiosk's K-of-M rule. Band "never" is the crop alone for every face,
"always" the mirror for every face (what the kiosk did before). Each band is shown twice: with the face
alone embedded in float32, and in low precision as a kiosk batch of 16 makes it (bfloat16 where the CPU
has bfloat16 units), the faces near a decision then embedded again in float32 as the engine does.

The split is benchmarks.open_set's (staff: people with >= --min-photos photos, their first --enrol
enrolled, the rest probes; everybody else a stranger). Each photo's crop and mirror embeddings are cached
under var/bench/, keyed by the embedder version. Touches no database.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import REPO, emit, print_table
from benchmarks.open_set import build_split, bursts, pct, split_parser

BANDS = (0.0, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3)


EMBED_BATCH = 16


def embed_pairs(items, *, face: str, cache: Path) -> dict[str, dict[str, np.ndarray]]:
    """Return {path: {"crop", "mirror", "crop_low": embedding}} of every photo with a face (cached): the
    crop's and the mirror image's embeddings in float32, and the crop's as a kiosk batch of 16 makes it
    with low precision (bfloat16 where the CPU has it, else the same as float32). The engine never uses
    a low-precision mirror: a face near its decision is embedded again in float32."""
    from recognition import services
    from recognition.ml.evaluation import DEFAULT_MAX_PIXELS
    from recognition.ml.images import load_image
    from recognition.ml.pipeline import choose_face

    kinds = ("crop", "mirror", "crop_low")
    if cache.exists():
        with np.load(cache) as stored:
            columns = [stored[kind] for kind in kinds]
            return {
                path: dict(zip(kinds, (column[i] for column in columns), strict=True))
                for i, path in enumerate(stored["paths"].tolist())
            }
    engine = services.engine_get()
    started = time.perf_counter()
    paths, crops = [], []
    for index, (_person, path) in enumerate(items):
        rgb = load_image(Path(path).read_bytes(), max_pixels=DEFAULT_MAX_PIXELS)
        faces = engine.detect(rgb)
        if faces:
            paths.append(str(path))
            crops.append(engine.align(rgb, [choose_face(faces, rgb.shape, face)])[0])
        if index % 500 == 499:
            print(f"detected {index + 1} of {len(items)} photos", flush=True)
    crops = np.stack(crops)
    columns = {}
    for kind, faces, low in (
        ("crop", crops, False),
        ("mirror", crops[:, :, ::-1], False),
        ("crop_low", crops, True),
    ):
        columns[kind] = np.concatenate(
            [
                engine.embedder.embed(faces[i : i + EMBED_BATCH], low_precision=low)
                for i in range(0, len(faces), EMBED_BATCH)
            ]
        )
    print(
        f"embedded {len(items)} photos in {time.perf_counter() - started:.0f} s "
        f"(low precision from {engine.embedder.low_precision_from or 'never'} faces)",
        flush=True,
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, paths=np.array(paths), **columns)
    return {path: {kind: columns[kind][i] for kind in kinds} for i, path in enumerate(paths)}


def outcomes(answers, truth) -> dict:
    """Return per-frame shares: accepted as themselves and named someone else (truth None: strangers
    accepted)."""
    named = np.array([-1 if a.person_id is None else a.person_id for a in answers])
    if truth is None:
        return {"strangers_accepted": float(np.mean(named >= 0))}
    return {
        "staff_accepted": float(np.mean(named == truth)),
        "staff_wrong": float(np.mean((named >= 0) & (named != truth))),
    }


def run(root: Path, *, min_photos: int, enrol: int, face: str, k: int, m: int, bands) -> dict:
    from recognition import services
    from recognition.matching import recogniser_identify
    from recognition.ml.pipeline import mirror_averaged
    from recognition.training import recogniser_fit

    gallery, probes, strangers = build_split(root, min_photos=min_photos, enrol=enrol)
    version = services.embedder_version()
    cache = REPO / "var" / "bench" / f"mirror_cascade-v3-{root.name}-{face}-{version}.npz"
    pairs = embed_pairs(gallery + probes + strangers, face=face, cache=cache)

    def averaged(path) -> np.ndarray:
        found = pairs[str(path)]
        return mirror_averaged(found["crop"][None], found["mirror"][None])[0]

    names = sorted({person for person, _ in gallery})
    number = {name: index for index, name in enumerate(names)}
    enrolled = [(number[p], averaged(path)) for p, path in gallery if str(path) in pairs]
    ids = np.array([i for i, _ in enrolled], dtype=np.int64)
    trainable = {i for i in set(ids.tolist()) if (ids == i).sum() >= 2}
    keep = np.isin(ids, list(trainable))
    x = np.stack([v for _, v in enrolled])[keep]
    ids = ids[keep]
    trained = recogniser_fit(x, ids, embedder_version=version)

    groups = {
        "staff": [(number[p], path) for p, path in probes if str(path) in pairs and number[p] in trainable],
        "strangers": [(p, path) for p, path in strangers if str(path) in pairs],
    }
    # How far the crop alone moves a face's score and distance from the averaged embedding's: the band
    # must cover the moves that would turn an answer. Also for low precision (a kiosk batch of 16) against
    # the float32 averaged embedding.
    shift_percentiles = {}
    for suffix, label in (("", "float32"), ("_low", "low precision")):
        shifts = {}
        for items in groups.values():
            alone = recogniser_identify(
                trained, np.stack([pairs[str(path)]["crop" + suffix] for _, path in items])
            )
            full = recogniser_identify(trained, np.stack([averaged(path) for _, path in items]))
            for what in ("score", "distance"):
                moved = np.abs(
                    [getattr(a, what) - getattr(f, what) for a, f in zip(alone, full, strict=True)]
                )
                shifts.setdefault(what, []).extend(moved.tolist())
        shift_percentiles[label] = {
            what: {q: float(np.percentile(moved, q)) for q in (50, 90, 99, 99.9, 100)}
            for what, moved in shifts.items()
        }
    rows = []
    for suffix, precision in (("", "float32"), ("_low", "low precision")):
        for band in ("always", "never", *bands):
            row = {"precision": precision, "band": band}
            for group, items in groups.items():
                crops = np.stack([pairs[str(path)]["crop" + suffix] for _, path in items])
                # A face near its decision is embedded again in float32, crop and mirror (the engine).
                full = np.stack([averaged(path) for _, path in items])
                if band == "always":
                    mirrored = np.ones(len(items), dtype=bool)
                elif band == "never":
                    mirrored = np.zeros(len(items), dtype=bool)
                else:
                    mirrored = trained.undecided(crops, band)
                answers = recogniser_identify(trained, np.where(mirrored[:, None], full, crops))
                # Against the kiosk before: float32, the mirror image averaged into every face.
                reference = recogniser_identify(trained, np.stack([averaged(path) for _, path in items]))
                truth = np.array([t for t, _ in items]) if group == "staff" else None
                by_person: dict = {}
                for (person, _), answer in zip(items, answers, strict=True):
                    by_person.setdefault(person, []).append(answer.person_id)
                row[group] = {
                    "faces": len(items),
                    "mirrored": float(np.mean(mirrored)),
                    "changed": int(
                        sum(a.person_id != r.person_id for a, r in zip(answers, reference, strict=True))
                    ),
                    **outcomes(answers, truth),
                    "kiosk": bursts(by_person, k=k, m=m, stranger=group == "strangers"),
                }
            rows.append(row)
    return {
        "split": {
            "root": str(root),
            "staff_people": len(trainable),
            "enrolled_photos": len(x),
            "staff_probes": len(groups["staff"]),
            "stranger_photos": len(groups["strangers"]),
        },
        "embedder_version": version,
        "threshold": trained.threshold,
        "max_threshold": trained.max_threshold,
        "kiosk_rule": {"k": k, "m": m},
        "shift_percentiles": shift_percentiles,
        "bands": rows,
    }


def main(argv: list[str] | None = None) -> int:
    arguments = split_parser(__doc__)
    arguments.add_argument("--bands", type=float, nargs="+", default=list(BANDS), help="bands to try")
    args = arguments.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    from django.conf import settings

    k, m = settings.CHECKIN_AGREEMENT_K, settings.CHECKIN_AGREEMENT_M
    figures = run(
        args.root, min_photos=args.min_photos, enrol=args.enrol, face=args.face, k=k, m=m, bands=args.bands
    )
    split = figures["split"]
    print(
        f"\n{split['staff_people']} staff ({split['enrolled_photos']} photos enrolled, "
        f"{split['staff_probes']} probes), {split['stranger_photos']} stranger photos; "
        f"threshold {figures['threshold']:.4f}, distance cap {figures['max_threshold']:.2f}, "
        f"kiosk rule {k} of {m}"
    )
    print_table(
        [
            "precision",
            "band",
            "staff mirrored",
            "strangers mirrored",
            "answers changed (vs float32, mirror always)",
            "staff accepted",
            "named someone else",
            "strangers accepted",
            f"check-ins correct ({k} of {m})",
            "check-ins wrong person",
            "strangers admitted",
        ],
        [
            [
                row["precision"],
                row["band"],
                pct(row["staff"]["mirrored"]),
                pct(row["strangers"]["mirrored"]),
                row["staff"]["changed"] + row["strangers"]["changed"],
                pct(row["staff"]["staff_accepted"]),
                pct(row["staff"]["staff_wrong"]),
                pct(row["strangers"]["strangers_accepted"]),
                pct(row["staff"]["kiosk"]["correct"] / row["staff"]["kiosk"]["check_ins"]),
                pct(row["staff"]["kiosk"]["wrong_person"] / row["staff"]["kiosk"]["check_ins"]),
                pct(row["strangers"]["kiosk"]["stranger_admitted"] / row["strangers"]["kiosk"]["check_ins"]),
            ]
            for row in figures["bands"]
        ],
        title="Per frame and per check-in, by band",
    )
    quantiles = (50, 90, 99, 99.9, 100)
    print_table(
        ["crop alone vs float32 averaged", *(f"p{q}" for q in quantiles)],
        [
            [
                f"{label}: |change| of the {what}",
                *(f"{figures['shift_percentiles'][label][what][q]:.4f}" for q in quantiles),
            ]
            for label in figures["shift_percentiles"]
            for what in ("score", "distance")
        ],
        title="How far the crop alone moves each face (staff probes and strangers)",
    )
    emit("mirror_cascade", figures, json_path=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
