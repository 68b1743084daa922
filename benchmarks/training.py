"""Benchmark enrolment throughput and recogniser training time; prints figures, asserts nothing.

    python -m benchmarks.training                   # enrolment + galleries of 1,000, 5,000, 10,000
    python -m benchmarks.training --people 100 1000 --no-enrolment --json var/bench/training.json

Enrolment: what one enrolment worker process does per photo (decode, detect, align, assess, embed,
apply the quality rules) on the real 5-celebrity training photos, after warming up.
Training: `recognition.ml.recogniser.train` on synthetic galleries of N people x 5 unit embeddings
(recognition.ml.synthetic: clusters with a same-person distance of about 0.8, like FaceNet's):
the templates, the leave-one-photo-out figures and the leave-one-person-out threshold (median of
--repeats fits). Per size also the peak memory the fit allocates (tracemalloc), the artifact's size
and load time, identification cost per face (one BLAS thread), and an enrolment change (one person
added, one removed; median of --repeats): a full fit of the changed gallery, and the incremental update
a training run does instead (recognition.ml.recogniser.gallery_changes against the previous
recogniser, then Recogniser.updated: the same recogniser, see tests/recognition/ml). `--changed 2 100
500 2000` also times updates with that many people changed in the largest gallery against full fits
(where RECOGNISER_INCREMENTAL_MAX_PEOPLE belongs). Touches no database.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from benchmarks.common import emit, parser, print_table


def bench_training(sizes: list[int], *, jobs: int = 1, repeats: int = 1) -> list[dict]:
    """Return time, CV accuracy, threshold and artifact size of training on each synthetic gallery size."""
    import tracemalloc

    import numpy as np
    from threadpoolctl import threadpool_limits

    from recognition.ml import recogniser, synthetic

    def fit(x, ids):
        # As recognition.training.recogniser_fit runs it: BLAS limited to RECOGNISER_TRAINING_JOBS threads.
        with threadpool_limits(limits=jobs, user_api="blas"):
            return recogniser.train(x, ids)

    results = []
    for people in sizes:
        x, ids, centres = synthetic.synthetic_gallery(people)
        tracemalloc.start()
        started = time.perf_counter()
        trained = fit(x, ids)
        times = [time.perf_counter() - started]
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        for _ in range(repeats - 1):
            started = time.perf_counter()
            fit(x, ids)
            times.append(time.perf_counter() - started)
        seconds = statistics.median(times)
        blob = trained.to_bytes()
        digest = recogniser.artifact_sha256(blob)
        started = time.perf_counter()
        recogniser.Recogniser.from_bytes(blob, sha256=digest)
        load_ms = (time.perf_counter() - started) * 1000
        probes = np.stack([synthetic.near(c, seed=i) for i, c in enumerate(centres[:200])])
        # One BLAS thread, as a recognition worker should pin it: OpenBLAS's default threads cost
        # about 10 ms a face here, for nothing.
        with threadpool_limits(1):
            trained.identify_many(probes[:1])
            started = time.perf_counter()
            for probe in probes:
                trained.identify(probe)
            identify_ms = (time.perf_counter() - started) * 1000 / len(probes)
        # An enrolment change: one new person (5 photos) added, one person removed, fitted again.
        new_x, _, _ = synthetic.synthetic_gallery(1, seed=people + 1)
        changed_x = np.concatenate([x[ids != ids[0]], new_x])
        changed_ids = np.concatenate([ids[ids != ids[0]], np.full(len(new_x), ids.max() + 1)])
        change_times = []
        for _ in range(repeats):
            started = time.perf_counter()
            fit(changed_x, changed_ids)
            change_times.append(time.perf_counter() - started)
        change_seconds = statistics.median(change_times)
        update_times = []
        for _ in range(repeats):
            started = time.perf_counter()
            with threadpool_limits(limits=jobs, user_api="blas"):
                changes = recogniser.gallery_changes(trained, changed_x, changed_ids)
                trained.updated(changes.embeddings, changes.person_ids, changes.removed_ids)
            update_times.append(time.perf_counter() - started)
        results.append(
            {
                "people": people,
                "photos": len(x),
                "seconds": seconds,
                "peak_mb": peak_mb,
                "cv_accuracy": trained.cv_accuracy,
                "threshold": trained.threshold,
                "artifact_mb": len(blob) / 1e6,
                "artifact_load_ms": load_ms,
                "identify_ms": identify_ms,
                "change_seconds": change_seconds,
                "update_seconds": statistics.median(update_times),
            }
        )
        print(f"trained {people} people in {seconds:.1f} s", flush=True)
    return results


def _median_seconds(fn, *, jobs: int, repeats: int) -> float:
    """Return the median wall seconds of `repeats` calls of fn(), BLAS limited to `jobs` threads."""
    from threadpoolctl import threadpool_limits

    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        with threadpool_limits(limits=jobs, user_api="blas"):
            fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _update(trained, x, ids, expected_people: int) -> None:
    """Update `trained` to the gallery (x, ids) as a training run does; check the change's size."""
    from recognition.ml import recogniser

    changes = recogniser.gallery_changes(trained, x, ids)
    if changes.people != expected_people:
        raise RuntimeError(f"{changes.people} people changed, expected {expected_people}")
    trained.updated(changes.embeddings, changes.person_ids, changes.removed_ids)


def bench_change_sizes(people: int, changed: list[int], *, jobs: int = 1, repeats: int = 1) -> list[dict]:
    """Return, for each number of people changed in a gallery of `people` (half of them removed, half
    new people added), the incremental update's seconds against a full fit of the changed gallery:
    where the two cross is what RECOGNISER_INCREMENTAL_MAX_PEOPLE should be."""
    import functools

    import numpy as np
    from threadpoolctl import threadpool_limits

    from recognition.ml import recogniser, synthetic

    x, ids, _ = synthetic.synthetic_gallery(people)
    with threadpool_limits(limits=jobs, user_api="blas"):  # as the timed fits below
        trained = recogniser.train(x, ids)
    people_ids = np.unique(ids)
    rows = []
    for count in changed:
        removed = people_ids[: count // 2]
        first_new = int(ids.max()) + 1
        new_x, new_ids, _ = synthetic.synthetic_gallery(
            count - len(removed), seed=people + count, first_id=first_new
        )
        kept = ~np.isin(ids, removed)
        changed_x, changed_ids = np.concatenate([x[kept], new_x]), np.concatenate([ids[kept], new_ids])
        update = functools.partial(_update, trained, changed_x, changed_ids, count)
        fit = functools.partial(recogniser.train, changed_x, changed_ids)
        rows.append(
            {
                "people": people,
                "changed": count,
                "incremental_seconds": _median_seconds(update, jobs=jobs, repeats=repeats),
                "full_fit_seconds": _median_seconds(fit, jobs=jobs, repeats=repeats),
            }
        )
        print(f"{count} of {people} people changed: measured", flush=True)
    return rows


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
    arguments.add_argument("--people", type=int, nargs="*", default=[1000, 5000, 10000])
    arguments.add_argument("--no-enrolment", action="store_true")
    arguments.add_argument("--repeats", type=int, default=3, help="fits per size (the median is shown)")
    arguments.add_argument(
        "--changed",
        type=int,
        nargs="*",
        default=[],
        help="also time updates with this many people changed in the largest gallery (e.g. 2 100 500 2000)",
    )
    arguments.add_argument(
        "--jobs", type=int, default=1, help="BLAS threads training may use (RECOGNISER_TRAINING_JOBS)"
    )
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
    training = bench_training(args.people, jobs=args.jobs, repeats=args.repeats)
    figures["training"] = training
    print_table(
        [
            "people",
            "photos",
            "seconds",
            "peak MB",
            "rank-1",
            "threshold",
            "artifact MB",
            "load ms",
            "identify ms",
            "add+remove s",
            "incremental s",
        ],
        [
            [
                r["people"],
                r["photos"],
                f"{r['seconds']:.2f}",
                f"{r['peak_mb']:.0f}",
                f"{r['cv_accuracy']:.3f}",
                f"{r['threshold']:.3f}",
                f"{r['artifact_mb']:.1f}",
                f"{r['artifact_load_ms']:.0f}",
                f"{r['identify_ms']:.2f}",
                f"{r['change_seconds']:.2f}",
                f"{r['update_seconds']:.2f}",
            ]
            for r in training
        ],  # fmt: skip
        title=f"Training (synthetic galleries, 5 embeddings a person, {args.jobs} BLAS thread(s))",
    )
    if args.changed:
        changes = bench_change_sizes(max(args.people), args.changed, jobs=args.jobs, repeats=args.repeats)
        figures["changes"] = changes
        print_table(
            ["people", "changed", "incremental s", "full fit s"],
            [
                [r["people"], r["changed"], f"{r['incremental_seconds']:.2f}", f"{r['full_fit_seconds']:.2f}"]
                for r in changes
            ],
            title="Enrolment changes: incremental update against a full fit (half removed, half added)",
        )
    emit("training", figures, json_path=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
