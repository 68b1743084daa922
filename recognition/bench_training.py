"""Benchmark enrolment throughput and recogniser training time; prints figures, asserts nothing.

    python -m recognition.bench_training                 # enrolment + galleries of 100, 1,000, 5,000
    python -m recognition.bench_training --people 100 1000 --no-enrolment

Enrolment: what one enrolment worker process does per photo (decode, detect, align, assess, embed,
apply the quality rules) on the real 5-celebrity training photos, after warming up.
Training: `recognition.ml.recogniser.train` on synthetic galleries of N people x 5 unit embeddings
(clusters with a same-person distance of about 0.8, like FaceNet's), including the calibrated SVM
(3 folds), the cross-validated accuracy and the leave-one-person-out threshold.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def synthetic_gallery(people: int, per_person: int = 5, *, seed: int = 0, noise: float = 0.06):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = (centres[:, None, :] + noise * rng.normal(size=(people, per_person, 128))).reshape(-1, 128)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), np.repeat(np.arange(people), per_person)


def bench_training(sizes: list[int], *, jobs: int = 1) -> None:
    from recognition.ml import recogniser as ml

    print(f"\nTraining (synthetic galleries, 5 embeddings a person, {jobs} process(es))")
    print(f"{'people':>7} {'photos':>7} {'seconds':>8} {'cv acc':>7} {'threshold':>9} {'artifact MB':>11}")
    for people in sizes:
        x, ids = synthetic_gallery(people)
        started = time.perf_counter()
        rec = ml.train(x, ids, n_jobs=jobs)
        seconds = time.perf_counter() - started
        size = len(rec.to_bytes()) / 1e6
        figures = f"{seconds:>8.1f} {rec.cv_accuracy:>7.3f} {rec.threshold:>9.3f} {size:>11.1f}"
        print(f"{people:>7} {len(x):>7} {figures}", flush=True)


def bench_enrolment() -> None:
    from pathlib import Path

    from django.conf import settings

    from people.rules import QualityLimits, photo_rejection
    from recognition import services
    from recognition.ml import dataset

    root = dataset.celebrity_dataset_dir(Path(settings.MODEL_CACHE_DIR), Path(settings.VAR_DIR) / "cache")
    photos = sorted((root / "train").glob("*/*.jpg"))
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
    print("\nEnrolment (one worker process, real 5-celebrity training photos)")
    print(
        f"{len(photos)} photos ({accepted} accepted) in {seconds:.1f} s: {len(photos) / seconds:.2f} photos/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="*", default=[100, 1000, 5000])
    parser.add_argument("--no-enrolment", action="store_true")
    parser.add_argument("--jobs", type=int, default=1, help="processes for the cross-validation folds")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    if not args.no_enrolment:
        bench_enrolment()
    bench_training(args.people, jobs=args.jobs)


if __name__ == "__main__":
    main()
