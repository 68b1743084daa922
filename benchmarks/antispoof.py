"""Benchmark the passive anti-spoofing check (MiniFASNet): score distributions, reject rates, speed.

    python -m benchmarks.antispoof [--json PATH] [--lfw DIR [--lfw-limit N]] [--repeats N]

Real faces: every 5-celebrity photo (train and val, from the weight archive that `make weights`
caches), the largest face that the project's engine (MTCNN, with the settings) finds. Attacks: the same
photos through each simulated recapture of recognition/ml/recapture.py (halftone print, printed photo
with a paper border, LCD screen with bezel, LCD screen filling the frame, JPEG re-compression chain,
downscale-upscale blur, flat tilted sheet in a bigger scene), detected again, largest face scored.

Per kind it prints how many images still showed a face, the real-score distribution (min, 5th,
median, 95th percentile, max), and the share rejected at the two thresholds that keep at least 95% and
99% of the real faces of the same set, and at 0.1, 0.3 and 0.5 for reference. `--lfw DIR` adds a
second real set (LFW photos, the face nearest the centre, the first photo of each person) with its
own attacks and thresholds; no data outside the weight cache is read unless given.

What it cannot tell: the simulations are not real recaptures (see recapture.py), and the real photos
are press and web photos, some of them of posters and magazine covers, not live faces in front of a
kiosk webcam. It shows how the check reacts to each cue and how it ranks them, not field error rates.

Timing: one face in a 640x480 frame (patch cropping included), and per face in a batch of 32, medians
after a warm-up, with the load average (other processes on a shared machine slow it).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from benchmarks import common
from recognition.ml import recapture

ATTACK_NAMES = tuple(recapture.ATTACKS)
PERCENTILES = (0, 5, 50, 95, 100)
KEEP_SHARES = (0.95, 0.99)
FIXED_THRESHOLDS = (0.1, 0.3, 0.5)  # 0.5: about upstream's own decision (class 1 on top)


def threshold_keeping(real: Sequence[float], share: float) -> float:
    """Return the highest threshold t such that at least `share` of `real` scores are >= t."""
    ordered = sorted(real)
    return float(ordered[math.floor((1 - share) * len(ordered) + 1e-9)])


def distribution(scores: Sequence[float]) -> dict[str, float | None]:
    """Return min, p5, median, p95 and max of `scores` (None for an empty list)."""
    names = ("min", "p5", "median", "p95", "max")
    if not scores:
        return dict.fromkeys(names)
    return {name: float(v) for name, v in zip(names, np.percentile(scores, PERCENTILES), strict=True)}


def nearest_centre(faces, shape) -> int:
    """Return the index of the face whose box centre is nearest the image centre (LFW's convention)."""
    cy, cx = shape[0] / 2, shape[1] / 2
    return min(
        range(len(faces)),
        key=lambda i: (
            (faces[i].box[0] + faces[i].box[2] / 2 - cx) ** 2
            + (faces[i].box[1] + faces[i].box[3] / 2 - cy) ** 2
        ),
    )


def score_set(
    name: str,
    photos: Sequence[Path],
    *,
    engine,
    model,
    pick: str,
    attacks: dict[str, Callable[..., np.ndarray]],
    log: Callable[[str], None],
) -> dict:
    """Return {kind: {"scores": [...], "images": n, "no_face": n}} for the real photos and each attack."""
    from recognition import services

    kinds = {"real": None, **attacks}
    results = {kind: {"scores": [], "images": 0, "no_face": 0} for kind in kinds}
    started = time.perf_counter()
    for index, path in enumerate(photos):
        try:
            rgb = services.image_decode(data=path.read_bytes())
        except services.ImageError as exc:
            log(f"  skipped {path}: {exc}")
            continue
        for kind, attack in kinds.items():
            image = rgb if attack is None else attack(rgb, seed=index)
            faces = engine.detect(image)
            entry = results[kind]
            entry["images"] += 1
            if not faces:
                entry["no_face"] += 1
                continue
            face = faces[0] if pick == "largest" else faces[nearest_centre(faces, image.shape)]
            entry["scores"].append(float(model.score(image, [face.box])[0]))
        if (index + 1) % 25 == 0:
            log(f"  {name}: {index + 1}/{len(photos)} photos, {time.perf_counter() - started:.0f} s")
    return results


def summarise(results: dict) -> dict:
    """Return per kind: counts, the distribution, and reject rates at the real-keeping thresholds."""
    real = results["real"]["scores"]
    thresholds = {f"k{round(share * 100)}": threshold_keeping(real, share) for share in KEEP_SHARES}
    thresholds.update({f"{t:g}": t for t in FIXED_THRESHOLDS})
    kinds = {}
    for kind, entry in results.items():
        scores = np.asarray(entry["scores"])
        kinds[kind] = {
            "images": entry["images"],
            "faces": len(scores),
            "no_face": entry["no_face"],
            "distribution": distribution(entry["scores"]),
            "mean": float(scores.mean()) if len(scores) else None,
            # For real faces this is the share of genuine faces turned away; for attacks, caught.
            "rejected": {
                label: (float((scores < t).mean()) if len(scores) else None)
                for label, t in thresholds.items()
            },
            "scores": [round(float(s), 5) for s in scores],
        }
    return {"thresholds": thresholds, "kinds": kinds}


def timing(model, engine, photo: Path, *, repeats: int) -> dict:
    """Return median milliseconds: one face of a 640x480 frame, its crops alone, per face in a batch of 32."""
    from recognition import services
    from recognition.ml import synthetic

    rgb = services.image_decode(data=photo.read_bytes())
    frame = synthetic.webcam_frame(rgb, scale=0.8 * synthetic.FRAME_SIZE[1] / rgb.shape[0])
    faces = engine.detect(frame)
    if len(faces) != 1:
        raise SystemExit(f"the timing frame made from {photo.name} shows {len(faces)} faces, not 1")
    box = faces[0].box
    boxes = [(box[0] + i % 8, box[1] + i % 5, box[2], box[3]) for i in range(32)]  # 32 faces, one call

    batch_ms = common.median_ms(lambda: model.score(frame, boxes), runs=max(5, repeats // 4))
    return {
        "one_face_ms": common.median_ms(lambda: model.score(frame, [box]), runs=repeats),
        "crop_one_face_ms": common.median_ms(lambda: model.patches(frame, [box]), runs=repeats),
        "batch32_per_face_ms": batch_ms / len(boxes),
    }


def lfw_photos(root: Path, limit: int) -> list[Path]:
    """Return the first photo of each person under `root` (sorted), at most `limit`."""
    people = sorted(p for p in root.iterdir() if p.is_dir())
    firsts = [min(person.glob("*.jpg")) for person in people if any(person.glob("*.jpg"))]
    return firsts[:limit]


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_report(report: dict) -> None:
    """Print one table per set of photos, then the timings."""
    for set_name, summary in report["sets"].items():
        thresholds = summary["thresholds"]
        headers = ["kind", "faces", "min", "p5", "median", "p95", "max"] + [f"rej<{t}" for t in thresholds]
        rows = [
            [kind, f"{row['faces']}/{row['images']}"]
            + [_fmt(row["distribution"][k]) for k in ("min", "p5", "median", "p95", "max")]
            + [_fmt(row["rejected"][t], 2) for t in thresholds]
            for kind, row in summary["kinds"].items()
        ]
        common.print_table(
            headers, rows, title=f"{set_name}: real score (mean class-1 probability of both networks)"
        )
        print(
            "thresholds: "
            + ", ".join(f"{label} = {value:.4f}" for label, value in thresholds.items())
            + "\n(k95, k99: the highest thresholds keeping 95% and 99% of this set's real faces."
            "\n rej<: on the real row the share of genuine faces turned away, on an attack row the share"
            "\n caught. faces: images where MTCNN still found a face / images; no face, no score.)"
        )
    t = report["timing"]
    common.print_table(
        ["figure", "ms"],
        [
            ["one face in a 640x480 frame: crops + both networks", f"{t['one_face_ms']:.1f}"],
            ["  of which the two 80x80 crops", f"{t['crop_one_face_ms']:.2f}"],
            ["per face in a batch of 32", f"{t['batch32_per_face_ms']:.2f}"],
            ["model build (read, check, rebuild, copy), once per process", f"{1000 * t['build_s']:.0f}"],
        ],
        title=(
            f"timing: medians after a warm-up, {t['repeats']} runs, TensorFlow threads "
            f"{t['threads'] or 'all'}, load average before {t['load_before']}"
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument(
        "--lfw", type=Path, help="an LFW-style folder (<person>/<photo>.jpg) as a second real set"
    )
    parser.add_argument(
        "--lfw-limit", type=int, default=400, help="LFW photos used, one per person (default 400)"
    )
    parser.add_argument(
        "--repeats", type=int, default=40, help="timed runs for the one-face figure (default 40)"
    )
    parser.add_argument(
        "--attacks", help=f"comma-separated attack kinds (default all: {','.join(ATTACK_NAMES)})"
    )
    parser.add_argument("--threads", type=int, help="TensorFlow intra-op threads (default: all cores)")
    parser.add_argument("--photos", type=int, help="use only the first N 5-celebrity photos (a quick run)")
    parser.add_argument("--cache-dir", type=Path, help="weight archive cache (default: MODEL_CACHE_DIR)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    attacks = {name: recapture.ATTACKS[name] for name in ATTACK_NAMES}
    if args.attacks:
        unknown = sorted(set(args.attacks.split(",")) - set(ATTACK_NAMES))
        if unknown:
            parser.error(f"unknown attack kinds {unknown}; known: {', '.join(ATTACK_NAMES)}")
        attacks = {name: recapture.ATTACKS[name] for name in args.attacks.split(",")}
    if args.lfw and not args.lfw.is_dir():
        parser.error(f"--lfw {args.lfw} is not a folder")

    def log(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    # The settings read these once, at start-up: set them before Django starts (no database is used).
    for variable, value in (("MODEL_CACHE_DIR", args.cache_dir), ("RECOGNITION_TF_THREADS", args.threads)):
        if value is not None:
            os.environ[variable] = str(value)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    from recognition import services
    from recognition.ml import antispoof, dataset

    try:
        celebrity_root = services.celebrity_photos_dir()
        engine = services.engine_get()  # the project's engine: its MTCNN finds the faces
    except services.WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    model = antispoof.load_passive_model()
    build_s = time.perf_counter() - started
    model.warm_up()

    celebrity = sorted(
        path
        for split in ("train", "val")
        for paths in dataset.folder_dataset(celebrity_root / split).values()
        for path in paths
    )
    sets = {"5-celebrity (train+val)": (celebrity[: args.photos], "largest")}
    if args.lfw:
        sets[f"LFW ({args.lfw.name}, first photo of {args.lfw_limit} people)"] = (
            lfw_photos(args.lfw, args.lfw_limit),
            "centre",
        )
    report: dict = {"sets": {}}
    for set_name, (photos, pick) in sets.items():
        log(f"{set_name}: {len(photos)} photos x {1 + len(attacks)} kinds")
        results = score_set(set_name, photos, engine=engine, model=model, pick=pick, attacks=attacks, log=log)
        report["sets"][set_name] = summarise(results)
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    figures = timing(model, engine, celebrity[0], repeats=args.repeats)
    report["timing"] = {
        **figures,
        "build_s": build_s,
        "repeats": args.repeats,
        "threads": args.threads,
        "load_before": load_before,
    }
    print_report(report)
    common.emit("antispoof", report, json_path=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
