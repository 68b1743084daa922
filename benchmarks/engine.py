"""Benchmark the face engine on this machine: `python -m benchmarks.engine [--json PATH]` (or `make bench`).

Prints one table: detection of a 640x480 frame with one face, align+embed of one face, the whole
frame (detect + align + embed), batched embedding per face, faces per second, the process's peak
memory, and the recogniser's rank-1 accuracy on the 5-celebrity validation photos (train photos
enrolled, trained as the training worker trains). Timings are medians over repeated runs after a
warm-up; other processes on the machine make them noisier, so the load average is printed with them.
Touches no database.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time

import numpy as np

from benchmarks.common import emit, median_ms, parser, print_table

TARGET_FRAME_MS = 120.0
TARGET_BATCHED_MS = 30.0
WARM_UP_RUNS = 2
BATCH_SIZES = (1, 2, 4, 8, 16)


def run(*, repeats: int, threads: int | None) -> dict:
    """Run the benchmark on this process's engine (the settings' weights) and return its figures."""
    from recognition import services
    from recognition.ml import dataset, synthetic

    celebrity = services.celebrity_photos_dir()
    started = time.perf_counter()
    engine = services.engine_get()
    engine.warm_up()
    build_s = time.perf_counter() - started

    val = dataset.folder_dataset(celebrity / "val")
    first_photo = val[sorted(val)[0]][0]
    photo = services.image_decode(data=first_photo.read_bytes())
    frame = synthetic.webcam_frame(photo, scale=0.8 * synthetic.FRAME_SIZE[1] / photo.shape[0])
    faces = engine.detect(frame)
    if len(faces) != 1:
        raise SystemExit(f"the benchmark frame made from {first_photo.name} shows {len(faces)} faces, not 1")

    detect_ms = median_ms(lambda: engine.detect(frame), runs=repeats, warmup=WARM_UP_RUNS)
    embed_one_ms = median_ms(lambda: engine.embed_faces(frame, faces), runs=repeats, warmup=WARM_UP_RUNS)
    frame_ms = median_ms(lambda: engine.analyse(frame), runs=repeats, warmup=WARM_UP_RUNS)

    crops = []
    for images in val.values():
        for path in images:
            rgb = services.image_decode(data=path.read_bytes())
            found = engine.detect(rgb)
            if found:
                crops.append(engine.align(rgb, found[:1])[0])
    batch = np.stack((crops * (32 // len(crops) + 1))[:32])
    batch_ms = median_ms(lambda: engine.embed_aligned(batch), runs=max(5, repeats // 2), warmup=1)

    # Kiosk frames of several kiosks recognised together (attendance.checkin.batching): detect + align +
    # embed of N 640x480 frames in one Engine.analyse_many call, per frame.
    kiosk_frames = []
    for images in val.values():
        for path in images[:4]:
            rgb = services.image_decode(data=path.read_bytes())
            kiosk_frames.append(
                synthetic.webcam_frame(rgb, scale=0.8 * synthetic.FRAME_SIZE[1] / rgb.shape[0])
            )
    kiosk_frames = (kiosk_frames * 16)[:16]
    frames_batched_ms = {
        size: median_ms(
            lambda size=size: engine.analyse_many(kiosk_frames[:size], max_faces=1),
            runs=max(5, repeats // 2),
            warmup=1,
        )
        / size
        for size in BATCH_SIZES
    }
    # The same as the kiosk runs them when its mirror cascade (RECOGNITION_MIRROR_BAND) finds every face
    # decided from the crop alone (FaceNet once a face instead of twice), large batches in bfloat16 where
    # the CPU has it (RECOGNITION_LOW_PRECISION_FROM).
    engine.warm_up(low_precision=True)
    frames_batched_crop_only_ms = {
        size: median_ms(
            lambda size=size: engine.analyse_many(
                kiosk_frames[:size],
                max_faces=1,
                mirror_when=lambda v: np.zeros(len(v), dtype=bool),
                low_precision=True,
            ),
            runs=max(5, repeats // 2),
            warmup=1,
        )
        / size
        for size in BATCH_SIZES
    }

    plan = services.EvaluationPlan(root=celebrity / "train", probes_root=celebrity / "val")
    report = services.engine_evaluate(plan=plan)
    ident = report["identification"]
    return {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "tf_intra_op_threads": threads,
        "engine_build_and_warm_up_s": round(build_s, 1),
        "detect_ms": detect_ms,
        "align_embed_one_face_ms": embed_one_ms,
        "frame_one_face_ms": frame_ms,
        "batched_embed_per_face_ms": batch_ms / 32,
        "faces_per_second_batched": 32000 / batch_ms,
        "frames_per_second": 1000 / frame_ms,
        "kiosk_frames_batched_ms_per_frame": frames_batched_ms,
        "kiosk_frames_batched_crop_only_ms_per_frame": frames_batched_crop_only_ms,
        "low_precision_from": engine.embedder.low_precision_from,
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux: KiB
        "celebrity_val_rank1_all": ident["rank1_all"],
        "celebrity_val_correct": ident["correct"],
        "celebrity_val_probes": ident["probes"],
        "repeats": repeats,
    }


def table_rows(figures: dict) -> list[tuple[str, str]]:
    """Return the figures as (label, value) rows, with the targets they meet or miss."""

    def verdict(value: float, target: float) -> str:
        return f"({'meets' if value <= target else 'MISSES'} target <= {target:.0f})"

    frame_ms, per_face = figures["frame_one_face_ms"], figures["batched_embed_per_face_ms"]
    return [
        ("machine", figures["machine"]),
        ("TensorFlow intra-op threads", str(figures["tf_intra_op_threads"] or "default (all cores)")),
        ("engine build + warm-up (s)", f"{figures['engine_build_and_warm_up_s']:.1f}"),
        ("detect, 640x480 frame with one face (ms)", f"{figures['detect_ms']:.1f}"),
        ("align + embed, one face (ms)", f"{figures['align_embed_one_face_ms']:.1f}"),
        (
            "detect + align + embed, one face in 640x480 (ms)",
            f"{frame_ms:.1f}  {verdict(frame_ms, TARGET_FRAME_MS)}",
        ),
        ("embed, batch of 32, per face (ms)", f"{per_face:.1f}  {verdict(per_face, TARGET_BATCHED_MS)}"),
        ("faces per second, batched embedding", f"{figures['faces_per_second_batched']:.1f}"),
        ("frames per second, one face each, end to end", f"{figures['frames_per_second']:.1f}"),
        *(
            (f"kiosk frames, batch of {size}: detect + embed per frame (ms)", f"{ms:.1f}")
            for size, ms in figures["kiosk_frames_batched_ms_per_frame"].items()
        ),
        *(
            (
                f"kiosk frames, batch of {size}, as the kiosk runs decided faces (no mirror image, "
                f"bfloat16 from {figures.get('low_precision_from') or 'never'}) (ms)",
                f"{ms:.1f}",
            )
            for size, ms in figures.get("kiosk_frames_batched_crop_only_ms_per_frame", {}).items()
        ),
        ("peak memory of this process (MB)", f"{figures['peak_memory_mb']:.0f}"),
        (
            "5-celebrity val, recogniser rank-1 (train enrolled)",
            f"{100 * figures['celebrity_val_rank1_all']:.1f}% "
            f"({figures['celebrity_val_correct']}/{figures['celebrity_val_probes']})",
        ),
        ("repeats per timing (median reported)", str(figures["repeats"])),
    ]


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__)
    arguments.add_argument("--repeats", type=int, default=20, help="timed runs per figure (default 20)")
    arguments.add_argument(
        "--threads", type=int, default=None, help="TensorFlow intra-op threads (default: all)"
    )
    arguments.add_argument("--models-dir", help="the converted weights (default: the MODELS_DIR setting)")
    arguments.add_argument("--cache-dir", help="the weight archive (default: the MODEL_CACHE_DIR setting)")
    args = arguments.parse_args(argv)
    # The settings read these once, at start-up: set them before Django starts.
    for variable, value in (
        ("MODELS_DIR", args.models_dir),
        ("MODEL_CACHE_DIR", args.cache_dir),
        ("RECOGNITION_TF_THREADS", args.threads),
    ):
        if value is not None:
            os.environ[variable] = str(value)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    from recognition import services

    try:
        figures = run(repeats=args.repeats, threads=args.threads)
    except services.WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print_table(["figure", "value"], table_rows(figures))
    emit("engine", figures, json_path=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
