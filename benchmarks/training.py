"""Benchmark enrolment throughput and recogniser training time; prints figures, asserts nothing.

    python -m benchmarks.training                   # enrolment + galleries of 100, 1,000, 5,000
    python -m benchmarks.training --people 100 1000 --no-enrolment --json var/bench/training.json

Enrolment: what one enrolment worker process does per photo (decode, detect, align, assess, embed,
apply the quality rules) on the real 5-celebrity training photos, after warming up.
Training: `recognition.ml.recogniser.train` on synthetic galleries of N people x 5 unit embeddings
(recognition.ml.synthetic: clusters with a same-person distance of about 0.8, like FaceNet's),
including the calibrated SVM (3 folds), the cross-validated accuracy and the leave-one-person-out
threshold. Touches no database.
"""

from __future__ import annotations

import os
import sys
import time

from benchmarks.common import emit, parser, print_table


def bench_training(sizes: list[int], *, jobs: int = 1) -> list[dict]:
    """Return time, CV accuracy, threshold and artifact size of training on each synthetic gallery size."""
    from recognition.ml import recogniser, synthetic

    results = []
    for people in sizes:
        x, ids, _ = synthetic.synthetic_gallery(people)
        started = time.perf_counter()
        trained = recogniser.train(x, ids, n_jobs=jobs)
        seconds = time.perf_counter() - started
        results.append(
            {
                "people": people,
                "photos": len(x),
                "seconds": seconds,
                "cv_accuracy": trained.cv_accuracy,
                "threshold": trained.threshold,
                "artifact_mb": len(trained.to_bytes()) / 1e6,
            }
        )
        print(f"trained {people} people in {seconds:.1f} s", flush=True)
    return results


def bench_enrolment() -> dict:
    """Return how many 5-celebrity training photos one process checks and embeds per second."""
    from people.rules import QualityLimits, photo_rejection
    from recognition import services

    photos = sorted((services.celebrity_photos_dir() / "train").glob("*/*.jpg"))
    services.engine_warm_up()
    limits = QualityLimits.from_settings()
    accepted = 0
    started = time.perf_counter()
    for path in photos:
        faces = services.image_analyse(data=path.read_bytes())
        quality = faces[0].quality.as_dict() if faces else None
        if photo_rejection([max(f.box[2], f.box[3]) for f in faces], quality, limits) is None:
            accepted += 1
    seconds = time.perf_counter() - started
    return {
        "photos": len(photos),
        "accepted": accepted,
        "seconds": seconds,
        "photos_per_second": len(photos) / seconds,
    }


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__)
    arguments.add_argument("--people", type=int, nargs="*", default=[100, 1000, 5000])
    arguments.add_argument("--no-enrolment", action="store_true")
    arguments.add_argument("--jobs", type=int, default=1, help="processes for the cross-validation folds")
    args = arguments.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    figures: dict = {"jobs": args.jobs}
    if not args.no_enrolment:
        enrolment = bench_enrolment()
        figures["enrolment"] = enrolment
        print_table(
            ["photos", "accepted", "seconds", "photos/s"],
            [
                [
                    enrolment["photos"],
                    enrolment["accepted"],
                    f"{enrolment['seconds']:.1f}",
                    f"{enrolment['photos_per_second']:.2f}",
                ]
            ],
            title="Enrolment (one worker process, real 5-celebrity training photos)",
        )
    training = bench_training(args.people, jobs=args.jobs)
    figures["training"] = training
    print_table(
        ["people", "photos", "seconds", "cv acc", "threshold", "artifact MB"],
        [
            [
                r["people"],
                r["photos"],
                f"{r['seconds']:.1f}",
                f"{r['cv_accuracy']:.3f}",
                f"{r['threshold']:.3f}",
                f"{r['artifact_mb']:.1f}",
            ]
            for r in training
        ],
        title=f"Training (synthetic galleries, 5 embeddings a person, {args.jobs} process(es))",
    )
    emit("training", figures, json_path=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
