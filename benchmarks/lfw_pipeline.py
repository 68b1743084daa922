"""What each step of the face pipeline is worth on LFW-style pairs: a table of cumulative changes.

    python -m benchmarks.lfw_pipeline ../shared/data/lfw-dev --json var/bench/lfw_pipeline.json

Each image named by the pairs file is detected once per detector setting (the engine's: a 250-pixel
photo halved before MTCNN, as min_face_size 40 asks; and at full resolution), then every variant
(face choice x crop x flip) is embedded with the project's FaceNet, batched and cached, so the table
costs one pass per distinct crop. Accuracy is LFW's: per fold, the distance threshold is chosen on the
other folds (recognition.ml.evaluation.kfold_accuracy); the table gives the mean and spread over folds.
The production pipeline itself is measured by `manage.py evaluate_recognition --pairs`; this table says
why it is built as it is. Touches no database.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.common import emit, parser, print_table


@dataclass(frozen=True)
class Variant:
    label: str
    full_resolution: bool
    face: str  # largest | centre
    crop: str  # one of recognition.ml.align.CROPS
    flip: bool


VARIANTS = [
    Variant("largest face, landmark crop (embedder v1)", False, "largest", "landmarks", False),
    Variant("centre face, landmark crop", False, "centre", "landmarks", False),
    Variant("centre face, MTCNN box made square", False, "centre", "box-square", False),
    Variant("centre face, MTCNN box stretched to 160x160", False, "centre", "box", False),
    Variant("centre face, stretched box levelled by the eyes", False, "centre", "box-levelled", False),
    Variant("centre, stretched box, + flipped crop averaged", False, "centre", "box", True),
    Variant("centre, levelled box, + flipped crop averaged", False, "centre", "box-levelled", True),
    Variant("centre, box, flip, full-resolution detection", True, "centre", "box", True),
    Variant(
        "centre, levelled box, flip, full-resolution detection (v2)", True, "centre", "box-levelled", True
    ),
    Variant(
        "largest, levelled box, flip, full-resolution detection (v2)", True, "largest", "box-levelled", True
    ),
]


def run(root: Path, pairs_file: Path, *, variants: list[Variant]) -> list[dict]:
    """Return accuracy mean/std over folds and the image count behind each variant."""
    from recognition import services
    from recognition.ml import evaluation
    from recognition.ml.align import align_face
    from recognition.ml.detector import FaceDetector
    from recognition.ml.embedder import Embedder
    from recognition.ml.pipeline import choose_face

    config = services.engine_config()
    pairs = evaluation.parse_pairs(pairs_file)
    keys = sorted({key for pair in pairs for key in (pair.first, pair.second)})
    images = {
        key: services.image_decode(data=evaluation.lfw_image_path(root, *key).read_bytes()) for key in keys
    }
    embedder = Embedder(config.weights_path)
    detections = {}
    for full in sorted({v.full_resolution for v in variants}):
        detector = FaceDetector(
            min_face_size=config.min_face_size,
            max_side=config.max_side,
            min_confidence=config.min_confidence,
            full_resolution_side=320 if full else 0,
        )
        started = time.perf_counter()
        detections[full] = {key: detector.detect(rgb) for key, rgb in images.items()}
        print(
            f"detected {len(images)} images (full resolution {full}) in {time.perf_counter() - started:.0f} s"
        )

    cache: dict[tuple, np.ndarray] = {}
    results = []
    for variant in variants:
        found = {
            key: choose_face(faces, images[key].shape, variant.face)
            for key, faces in detections[variant.full_resolution].items()
            if faces
        }
        todo = [
            key
            for key, face in found.items()
            if (variant.full_resolution, key, face.box, variant.crop) not in cache
        ]
        if todo:
            crops = np.stack(
                [
                    align_face(images[key], found[key].box, found[key].landmarks, crop=variant.crop)
                    for key in todo
                ]
            )
            plain = embedder.embed(crops)
            mirrored = embedder.embed(crops[:, :, ::-1])
            for key, a, b in zip(todo, plain, mirrored, strict=True):
                cache[(variant.full_resolution, key, found[key].box, variant.crop)] = (a, b)
        vectors = {}
        for key, face in found.items():
            a, b = cache[(variant.full_resolution, key, face.box, variant.crop)]
            v = a + b if variant.flip else a
            vectors[key] = v / np.linalg.norm(v)
        usable = [p for p in pairs if p.first in vectors and p.second in vectors]
        distances = np.array([float(np.linalg.norm(vectors[p.first] - vectors[p.second])) for p in usable])
        same = np.array([p.same for p in usable])
        folds = np.array([p.fold for p in usable])
        mean, std = evaluation.kfold_accuracy(distances, same, folds)
        per_fold = []
        for fold in np.unique(folds):
            train, test = folds != fold, folds == fold
            threshold = evaluation._best_threshold(distances[train], same[train])
            per_fold.append(float(((distances[test] < threshold) == same[test]).mean()))
        results.append(
            {
                "variant": variant.label,
                "full_resolution": variant.full_resolution,
                "face": variant.face,
                "crop": variant.crop,
                "flip": variant.flip,
                "pairs": len(pairs),
                "pairs_with_faces": len(usable),
                "accuracy_mean": mean,
                "accuracy_std": std,
                "per_fold": per_fold,
            }
        )
        print(f"{variant.label}: {100 * mean:.2f}% +- {100 * std:.2f}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__)
    arguments.add_argument("root", type=Path, help="LFW-style folder: <Person>/<Person>_NNNN.jpg")
    arguments.add_argument("--pairs", type=Path, help="pairs.txt (default: ROOT/pairs.txt)")
    args = arguments.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    results = run(args.root, args.pairs or args.root / "pairs.txt", variants=VARIANTS)
    print_table(
        ["pipeline (cumulative changes)", "accuracy", "+- over folds", "pairs with faces"],
        [
            [
                r["variant"],
                f"{100 * r['accuracy_mean']:.2f}%",
                f"{100 * r['accuracy_std']:.2f}",
                r["pairs_with_faces"],
            ]
            for r in results
        ],
        title=f"LFW-style verification on {args.root}",
    )
    emit("lfw_pipeline", {"variants": results}, json_path=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
