"""Check-in latency: real frames posted through HTTP, recognised by a real worker, POST to result.

    CELERY_BROKER_URL=redis://... python -m benchmarks.checkin [--frames 60] [--concurrency 1,4]
        [--processes 1] [--pool threads|prefork] [--rate 2 --seconds 20] [--repeat 3]
        [--ceiling-rates 1,1.5,2,2.5,3] [--json PATH]

Creates its own PostgreSQL database (benchmarks.common.throwaway_database, on BENCH_POSTGRES_URL's
server; DATABASE_URL is ignored) and a temporary MEDIA_ROOT, and drops both afterwards. Starts its own
stack on them and the given Redis: a gunicorn web server as in the Procfile and recognition workers,
enrols four of the 5-celebrity people through the enrolment services (unless a recogniser is already
active), registers kiosks, then posts 640x480 JPEG frames of enrolled and unknown people.

Recognition workers: `--pool threads` (the default, as supervisord.conf runs it) starts `--processes`
worker processes, each `-P threads -c 16`, recognising the frames waiting in it in batches
(attendance.checkin.batching); `--pool prefork` starts one worker `-c --processes` (one frame at a
time per process, as before batching).

Closed loop (no --rate): each kiosk sends its next frame when the previous result is in, as the kiosk
page does, so frames/s at many kiosks is the ceiling. Open loop (`--rate R`): each kiosk posts R frames
a second for `--seconds`, whatever the answers, and polls each result as the kiosk page does (60 ms,
then 20 ms more each time, at most 200 ms). `--repeat` runs each level that many times and reports
medians. `--ceiling-rates` then runs 8 kiosks at each per-kiosk rate and reports the offered frames/s
at which p95 first passes 1 s. Load average is recorded with every run. Not a test: figures only.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from pathlib import Path

from benchmarks.common import (
    KIOSK_POLL_WAIT_S,
    Kiosk,
    cpu_difference,
    cpu_seconds_by_group,
    emit,
    frame_jpeg,
    kiosks_register,
    parser,
    percentile,
    person_enrol,
    print_table,
    stack_cpu_roots,
    stack_database,
    start_stack,
    stop_stack,
    wait_for,
    web_wait,
)

ENROLLED = ["ben_afflek", "elton_john", "jerry_seinfeld", "mindy_kaling"]
STRANGER = "madonna"


def enrol(celebrity_dir: Path, photos_each: int) -> None:
    """Enrol the ENROLLED people through the enrolment services and train a recogniser version."""
    from django.contrib.auth.models import User

    from people.models import FaceImage
    from recognition.models import RecogniserVersion
    from recognition.services import recogniser_train

    if RecogniserVersion.objects.filter(is_active=True).exists():
        return
    hr, _ = User.objects.get_or_create(username="bench-hr")
    for name in ENROLLED:
        photos = sorted((celebrity_dir / "train" / name).glob("*.jpg"))[:photos_each]
        full_name = name.replace("_", " ").title()
        person_enrol(employee_id=f"bench-{name}", full_name=full_name, photos=photos, hr=hr)
    busy = [FaceImage.Status.PENDING, FaceImage.Status.PROCESSING]
    wait_for(lambda: not FaceImage.objects.filter(status__in=busy).exists(), 600, "enrolment photos")
    version = recogniser_train(trigger="check-in benchmark")
    if not version.is_active:
        raise SystemExit(f"training failed: {version.error}")


def run(kiosks: list[Kiosk], frames: list[bytes], per_kiosk: int) -> tuple[list[float], float, dict]:
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def one(kiosk: Kiosk, offset: int) -> None:
        for i in range(per_kiosk):
            seconds, outcome = kiosk.check_in(frames[(offset + i) % len(frames)])
            with lock:
                latencies.append(seconds)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

    threads = [threading.Thread(target=one, args=(k, n * 7)) for n, k in enumerate(kiosks)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started, outcomes


def run_open(
    tokens: list[str], port: int, frames: list[bytes], rate: float, seconds: float
) -> tuple[list[float], float, dict]:
    """Each kiosk posts `rate` frames a second for `seconds`, whatever the answers (open loop)."""
    from concurrent.futures import ThreadPoolExecutor

    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    local = threading.local()

    def one(token: str, frame: bytes) -> None:
        connections = getattr(local, "kiosks", None)
        if connections is None:
            connections = local.kiosks = {}
        kiosk = connections.get(token) or connections.setdefault(token, Kiosk("127.0.0.1", port, token))
        try:
            latency, outcome = kiosk.check_in(frame, kiosk_polling=True)
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed this idle keep-alive connection (gunicorn's keepalive is 2 s) before
            # the request went out: post again on a new connection, as a browser does.
            kiosk = connections[token] = Kiosk("127.0.0.1", port, token)
            try:
                latency, outcome = kiosk.check_in(frame, kiosk_polling=True)
            except Exception as exc:  # counted, not hidden
                connections.pop(token, None)
                latency, outcome = None, f"error {type(exc).__name__}"
        except Exception as exc:  # counted, not hidden
            connections.pop(token, None)
            latency, outcome = None, f"error {type(exc).__name__}"
        with lock:
            if latency is not None:
                latencies.append(latency)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    per_kiosk = max(1, round(rate * seconds))
    schedule = sorted(
        (i / rate + n / (rate * len(tokens)), n, i) for n in range(len(tokens)) for i in range(per_kiosk)
    )
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=min(128, len(tokens) * 12)) as pool:
        for at, n, i in schedule:
            delay = started + at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, tokens[n], frames[(n * 7 + i) % len(frames)])
    return latencies, time.perf_counter() - started, outcomes


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--frames", type=int, default=60, help="frames per kiosk for each run")
    arguments.add_argument("--concurrency", default="1,4", help="comma-separated numbers of kiosks")
    arguments.add_argument("--photos-each", type=int, default=6, help="enrolment photos per person")
    arguments.add_argument("--port", type=int, default=8765)
    arguments.add_argument(
        "--processes", type=int, default=1, help="recognition worker processes, each with the models"
    )
    arguments.add_argument("--pool", choices=["threads", "prefork"], default="threads")
    arguments.add_argument("--rate", type=float, default=0, help="open loop: frames a second per kiosk")
    arguments.add_argument("--seconds", type=float, default=20, help="open loop: seconds per run")
    arguments.add_argument("--repeat", type=int, default=1, help="runs per level (medians reported)")
    arguments.add_argument("--ceiling-rates", default="", help="open loop, 8 kiosks: per-kiosk rates to try")
    arguments.add_argument("--ceiling-repeat", type=int, default=1, help="runs per ceiling rate")
    arguments.add_argument(
        "--interval-polling",
        action="store_true",
        help="open loop: poll results as the kiosk page did before long polling (60 ms, +20 ms, max 200 ms)",
    )
    args = arguments.parse_args()
    Kiosk.interval_polling = args.interval_polling
    with stack_database("checkin"):
        figures = measure(args)
    emit("checkin", figures, json_path=args.json)


def measure(args) -> dict:
    """Run the stack on this process's (throwaway) database and return the latency figures."""
    from django.conf import settings

    from recognition.services import celebrity_photos_dir

    celebrity_dir = celebrity_photos_dir()
    log_dir = Path(settings.VAR_DIR) / "bench-checkin"
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = start_stack(args.port, log_dir, args.processes, args.pool)
    args.cpu_roots = stack_cpu_roots(processes)  # whose CPU time is whose, for the figures
    try:
        enrol(celebrity_dir, args.photos_each)
        photos = [p for name in ENROLLED for p in sorted((celebrity_dir / "val" / name).glob("*.jpg"))[:2]]
        photos += sorted((celebrity_dir / "val" / STRANGER).glob("*.jpg"))[:2]
        frames = [frame_jpeg(p) for p in photos]
        levels = [int(n) for n in args.concurrency.split(",")]
        tokens = kiosks_register(max(levels))
        web_wait(args.port)
        warm = Kiosk("127.0.0.1", args.port, tokens[0])
        for frame in frames:  # warm up: worker engine, recogniser cache, web connections
            warm.check_in(frame, give_up_s=60)
        for _ in range(3):  # let every recognition process warm up on a few frames at once
            run([Kiosk("127.0.0.1", args.port, t) for t in tokens[: min(8, len(tokens))]], frames, 3)
        runs = []
        for level in levels:
            repeats = [_one_run(args, tokens[:level], frames, args.rate) for _ in range(args.repeat)]
            runs.append(_median_run(repeats, level, args))
        ceiling = []
        rates = [float(r) for r in args.ceiling_rates.split(",") if r]
        if rates:
            ceiling_tokens = (tokens * 8)[:8] if len(tokens) < 8 else tokens[:8]
            for rate in rates:
                repeats = [_one_run(args, ceiling_tokens, frames, rate) for _ in range(args.ceiling_repeat)]
                ceiling.append(_median_run(repeats, len(ceiling_tokens), args, rate=rate))
                if ceiling[-1]["p95_ms"] is not None and ceiling[-1]["p95_ms"] > 1000:
                    break
    finally:
        stop_stack(processes)
    loop = f"open loop, {args.rate:g} frames/s per kiosk" if args.rate else "closed loop"
    print_table(
        ["kiosks", "frames", "p50 ms", "p95 ms", "max ms", "frames/s", "load", "cores", "CPU ms/frame",
         "outcomes"],
        [_row(r) for r in runs],
        title=(f"Check-in latency, POST to result (640x480 frames, {args.processes} recognition processes, "
               f"{args.pool} pool, {loop}, median of {args.repeat})"),
    )  # fmt: skip
    ceiling_fps = next((r["offered_per_second"] for r in ceiling if (r["p95_ms"] or 0) > 1000), None)
    if ceiling:
        print_table(
            ["kiosks", "frames", "p50 ms", "p95 ms", "max ms", "frames/s", "load", "cores", "CPU ms/frame",
         "outcomes"],
            [_row(r) for r in ceiling],
            title=(f"Ceiling: 8 kiosks, rising rate; p95 passes 1 s at "
                   f"{ceiling_fps or 'none of these'} frames/s offered"),
        )  # fmt: skip
    return {
        "runs": runs,
        "ceiling_runs": ceiling,
        "ceiling_frames_per_second": ceiling_fps,
        "pool": args.pool,
        "recognition_processes": args.processes,
        "rate_per_kiosk": args.rate,
        "polling": "interval" if args.interval_polling else f"long polls of {KIOSK_POLL_WAIT_S:g} s",
        "photos_each": args.photos_each,
        "frames_per_kiosk": args.frames,
    }


def _one_run(args, tokens: list[str], frames: list[bytes], rate: float) -> dict:
    cpu_before = cpu_seconds_by_group(args.cpu_roots)
    if rate:
        latencies, seconds, outcomes = run_open(tokens, args.port, frames, rate, args.seconds)
    else:
        kiosks = [Kiosk("127.0.0.1", args.port, t) for t in tokens]
        latencies, seconds, outcomes = run(kiosks, frames, args.frames)
    cpu = cpu_difference(cpu_before, cpu_seconds_by_group(args.cpu_roots))
    ms = [x * 1000 for x in latencies]
    errors = sum(
        v for k, v in outcomes.items() if k.startswith("error") or k in ("timeout", "expired", "failed")
    )
    return {
        "frames": len(ms),
        "p50_ms": percentile(ms, 0.50),
        "p95_ms": percentile(ms, 0.95),
        "max_ms": max(ms) if ms else None,
        "frames_per_second": len(ms) / seconds,
        "errors": errors,
        "outcomes": dict(sorted(outcomes.items())),
        "load_average": os.getloadavg()[0],
        # Where the cores went: CPU ms per answered frame by process group, and cores busy on average.
        "cpu_ms_per_frame": {g: 1000 * v / max(1, len(ms)) for g, v in sorted(cpu.items())},
        "cores_busy": sum(cpu.values()) / seconds if seconds else None,
    }


def _median_run(repeats: list[dict], kiosks: int, args, rate: float | None = None) -> dict:
    import statistics

    def median(key):
        values = [r[key] for r in repeats if r[key] is not None]
        return statistics.median(values) if values else None

    rate = args.rate if rate is None else rate
    return {
        "kiosks": kiosks,
        "recognition_processes": args.processes,
        "pool": args.pool,
        "rate_per_kiosk": rate,
        "offered_per_second": rate * kiosks if rate else None,
        "frames": median("frames"),
        "p50_ms": median("p50_ms"),
        "p95_ms": median("p95_ms"),
        "max_ms": median("max_ms"),
        "frames_per_second": median("frames_per_second"),
        "load_average": median("load_average"),
        "cores_busy": median("cores_busy"),
        "cpu_ms_per_frame": {
            group: statistics.median(r["cpu_ms_per_frame"].get(group, 0.0) for r in repeats)
            for group in repeats[-1]["cpu_ms_per_frame"]
        },
        "errors": sum(r["errors"] for r in repeats),
        "outcomes": repeats[-1]["outcomes"],
        "repeats": repeats,
    }


def _row(r: dict) -> list:
    def ms(value):
        return "-" if value is None else f"{value:.0f}"

    cpu = " ".join(f"{g} {v:.0f}" for g, v in r["cpu_ms_per_frame"].items() if v >= 0.5)
    return [r["kiosks"], r["frames"], ms(r["p50_ms"]), ms(r["p95_ms"]), ms(r["max_ms"]),
            f"{r['frames_per_second']:.1f}", f"{r['load_average']:.1f}", f"{r['cores_busy']:.2f}", cpu,
            ", ".join(f"{k} {v}" for k, v in r["outcomes"].items())]  # fmt: skip


if __name__ == "__main__":
    main()
