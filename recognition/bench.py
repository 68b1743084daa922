"""Benchmark the face engine on this machine: `python -m recognition.bench` (or `make bench`).

Prints one table: detection of a 640x480 frame with one face, align+embed of one face, the whole
frame (detect + align + embed), batched embedding per face, faces per second, the process's peak
memory, and nearest-neighbour accuracy on the 5-celebrity validation photos (train photos enrolled).
Timings are medians over repeated runs after a warm-up; other processes on the machine make them
noisier, so the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
TARGET_FRAME_MS = 120.0
TARGET_BATCHED_MS = 30.0


def _default_dirs() -> tuple[Path, Path, Path]:
    """Return (models dir, cache dir, extraction dir) from Django's settings, or their defaults."""
    try:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
        import django
        from django.apps import apps
        from django.conf import settings

        if not apps.ready:  # set up once: a second setup would reconfigure logging
            django.setup()
        return Path(settings.MODELS_DIR), Path(settings.MODEL_CACHE_DIR), Path(settings.VAR_DIR) / "cache"
    except Exception as exc:  # the benchmark needs no database: run without Django if it will not start
        print(f"(Django settings unavailable, using defaults: {exc})", file=sys.stderr)
        var = Path(os.environ.get("VAR_DIR", REPO / "var"))
        models = Path(os.environ.get("MODELS_DIR", var / "models"))
        cache = Path(os.environ.get("MODEL_CACHE_DIR", Path.home() / ".cache" / "face-attendance"))
        return models, cache, var / "cache"


def median_ms(call: Callable[[], object], *, repeats: int, warm_up: int = 2) -> float:
    """Return the median wall time of `call` in milliseconds, after `warm_up` untimed calls."""
    for _ in range(warm_up):
        call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def kiosk_frame(photo: Path, *, width: int = 640, height: int = 480) -> np.ndarray:
    """Return a width x height RGB frame with `photo` scaled to 80% of the height, centred on grey."""
    from recognition.ml.images import load_image

    rgb = Image.fromarray(load_image(photo.read_bytes(), max_pixels=50_000_000))
    scale = 0.8 * height / rgb.height
    rgb = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.BILINEAR)
    frame = Image.new("RGB", (width, height), (128, 128, 128))
    frame.paste(rgb, ((width - rgb.width) // 2, (height - rgb.height) // 2))
    return np.asarray(frame)


def run(
    *, models_dir: Path, cache_dir: Path, data_dir: Path, repeats: int, threads: int | None
) -> list[tuple[str, str]]:
    """Run the benchmark and return its table rows."""
    from recognition.ml import dataset, evaluation, weights
    from recognition.ml.images import load_image
    from recognition.ml.pipeline import EngineConfig, get_engine

    celebrity = dataset.celebrity_dataset_dir(cache_dir, data_dir)
    config = EngineConfig(weights_path=weights.weights_path(models_dir), intra_op_threads=threads)
    started = time.perf_counter()
    engine = get_engine(config)
    engine.warm_up()
    build_s = time.perf_counter() - started

    val = dataset.folder_dataset(celebrity / "val")
    first_photo = val[sorted(val)[0]][0]
    frame = kiosk_frame(first_photo)
    faces = engine.detect(frame)
    if len(faces) != 1:
        raise SystemExit(f"the benchmark frame made from {first_photo.name} shows {len(faces)} faces, not 1")

    detect_ms = median_ms(lambda: engine.detect(frame), repeats=repeats)
    embed_one_ms = median_ms(lambda: engine.embed_faces(frame, faces), repeats=repeats)
    frame_ms = median_ms(lambda: engine.analyse(frame), repeats=repeats)

    crops = []
    for images in val.values():
        for path in images:
            rgb = load_image(path.read_bytes(), max_pixels=50_000_000)
            found = engine.detect(rgb)
            if found:
                crops.append(engine.align(rgb, found[:1])[0])
    batch = np.stack((crops * (32 // len(crops) + 1))[:32])
    batch_ms = median_ms(lambda: engine.embed_aligned(batch), repeats=max(5, repeats // 2), warm_up=1)

    report = evaluation.evaluate(engine, root=celebrity / "train", probes_root=celebrity / "val")
    ident = report["identification"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB

    def verdict(value: float, target: float) -> str:
        return "meets" if value <= target else "MISSES"

    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return [
        ("machine", f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load}"),
        ("TensorFlow intra-op threads", str(threads or "default (all cores)")),
        ("engine build + warm-up (s)", f"{build_s:.1f}"),
        ("detect, 640x480 frame with one face (ms)", f"{detect_ms:.1f}"),
        ("align + embed, one face (ms)", f"{embed_one_ms:.1f}"),
        (
            "detect + align + embed, one face in 640x480 (ms)",
            f"{frame_ms:.1f}  ({verdict(frame_ms, TARGET_FRAME_MS)} target <= {TARGET_FRAME_MS:.0f})",
        ),
        (
            "embed, batch of 32, per face (ms)",
            f"{batch_ms / 32:.1f}  "
            f"({verdict(batch_ms / 32, TARGET_BATCHED_MS)} target <= {TARGET_BATCHED_MS:.0f})",
        ),
        ("faces per second, batched embedding", f"{32000 / batch_ms:.1f}"),
        ("frames per second, one face each, end to end", f"{1000 / frame_ms:.1f}"),
        ("peak memory of this process (MB)", f"{peak_mb:.0f}"),
        (
            "5-celebrity val, nearest enrolled person (train enrolled)",
            f"{100 * ident['rank1_all']:.1f}% ({ident['correct']}/{ident['probes']})",
        ),
        ("repeats per timing (median reported)", str(repeats)),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recognition.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per figure (default 20)")
    parser.add_argument(
        "--threads", type=int, default=None, help="TensorFlow intra-op threads (default: all)"
    )
    parser.add_argument("--models-dir", type=Path, help="default: the MODELS_DIR setting")
    parser.add_argument("--cache-dir", type=Path, help="default: the MODEL_CACHE_DIR setting")
    args = parser.parse_args(argv)
    models_dir, cache_dir, data_dir = _default_dirs()
    from recognition.ml.weights import WeightsError

    try:
        rows = run(
            models_dir=args.models_dir or models_dir,
            cache_dir=args.cache_dir or cache_dir,
            data_dir=data_dir,
            repeats=args.repeats,
            threads=args.threads,
        )
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    width = max(len(label) for label, _ in rows)
    print(f"{'figure'.ljust(width)}  value")
    print(f"{'-' * width}  {'-' * 30}")
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
