"""Enrolment latency end to end: from a new person's photos accepted to a kiosk frame that names them.

    CELERY_BROKER_URL=redis://... python -m benchmarks.enrolment_latency [--people 10000] [--repeats 3]
        [--photos-each 5] [--frame-every 0.35] [--give-up 300] [--port 8766] [--json PATH]

Creates its own PostgreSQL database (benchmarks.common.throwaway_database, on BENCH_POSTGRES_URL's
server; DATABASE_URL is ignored) and a temporary MEDIA_ROOT, and drops both afterwards. Seeds a gallery
of `--people` consenting people x 5 accepted photos with synthetic unit embeddings of the installed
embedder version (recognition.ml.synthetic; the rows' image files are placeholders: training reads only
the embeddings; the tables are ANALYZEd, as autovacuum would have) and trains and activates a first
version from it, untimed. Then starts the stack as
benchmarks.checkin does (gunicorn, a background worker for enrolment and training, one recognition
worker) on the given Redis and registers a kiosk.

Each repeat enrols one of the 5-celebrity people (none of them is in the synthetic gallery) through the
enrolment services until `--photos-each` real training photos are accepted by the enrolment worker
(one more photo for each it rejects, as HR would retake one);
meanwhile the kiosk posts 640x480 frames of one of that person's validation photos over HTTP, one every
`--frame-every` seconds (the kiosk page's pace with a face in view), each polled to its answer as the
kiosk page polls. Measured:

- accepted -> named: from the moment the person's last photo was accepted (FaceImage.processed_at)
  to the arrival of the first kiosk answer that names them (checked in / already, with their employee
  id), split by the recogniser version that named them into: waiting for the training run (the
  TRAINING_DEBOUNCE_SECONDS debounce and the queue), the run (reading every accepted embedding and
  fitting, to RecogniserVersion.finished_at; the fit alone as its training_seconds: an incremental
  update of the active version, or a full fit, see recognition.training.recogniser_train), storing (the
  artifact written and the activation committed: when this process, polling, first sees the version
  active), and from then to the answer (the recognition worker loading the new version, and the K-of-M
  agreement's frames). Also when a frame was first matched to them (before the K-of-M agreement).
- delete -> not named: HR's delete (people.services.person_delete, which rewrites the active version
  without them in the same transaction) until the first answer to a frame posted after it that no
  longer names them; and until the retraining run it asks for has activated a version.

Then it waits until no training run is pending before the next repeat. Medians over the repeats, with
the load average and the background (enrolment + training) worker's peak resident memory. The issue's
target: a change effective within 15 s of the photos being accepted. Not a test: figures only.
"""

from __future__ import annotations

import http.client
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks import common
from benchmarks.common import Kiosk

CELEBRITIES = ["ben_afflek", "elton_john", "jerry_seinfeld", "madonna", "mindy_kaling"]


def main() -> None:
    arguments = common.parser(__doc__)
    arguments.add_argument("--people", type=int, default=10_000, help="synthetic people in the gallery")
    arguments.add_argument("--repeats", type=int, default=3, help="new people enrolled and deleted, in turn")
    arguments.add_argument("--photos-each", type=int, default=5, help="enrolment photos per new person")
    arguments.add_argument("--frame-every", type=float, default=0.35, help="seconds between kiosk frames")
    arguments.add_argument("--give-up", type=float, default=300, help="seconds to wait for each change")
    arguments.add_argument("--port", type=int, default=8766)
    args = arguments.parse_args()
    with common.stack_database("enrolment-latency"):
        figures = measure(args)
    common.emit("enrolment_latency", figures, json_path=args.json)


def measure(args) -> dict:
    """Seed the gallery, run the stack, time each repeat's enrolment and deletion; return the figures."""
    from django.conf import settings
    from django.contrib.auth.models import User

    from recognition.services import celebrity_photos_dir

    hr = User.objects.create(username="bench-hr")
    started = time.perf_counter()
    gallery_seed(people=args.people, photos_each=5, hr=hr)
    seed_seconds = time.perf_counter() - started
    version = gallery_train()
    print(
        f"gallery: {args.people} people x 5 photos seeded in {seed_seconds:.1f} s, "
        f"version {version.pk} trained in {version.training_seconds:.1f} s (fit)",
        flush=True,
    )
    celebrity_dir = celebrity_photos_dir()
    log_dir = Path(settings.VAR_DIR) / "bench-enrolment-latency"
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = common.start_stack(args.port, log_dir)
    background = processes[1]
    repeats = []
    try:
        (token,) = common.kiosks_register(1)
        common.web_wait(args.port)
        kiosk = Kiosk("127.0.0.1", args.port, token)
        warm = common.frame_jpeg(sorted((celebrity_dir / "val" / CELEBRITIES[0]).glob("*.jpg"))[0])
        for _ in range(3):  # the recognition worker's engine and the gallery's version, loaded
            kiosk.check_in(warm, give_up_s=120)
        idle_rss_mb = peak_rss_mb(background.pid, key="VmRSS")
        for number in range(args.repeats):
            name = CELEBRITIES[number % len(CELEBRITIES)]
            repeat = enrolment_time(
                kiosk,
                name=name,
                employee_id=f"new-{number}-{name}",
                photos=sorted((celebrity_dir / "train" / name).glob("*.jpg")),
                frame=common.frame_jpeg(sorted((celebrity_dir / "val" / name).glob("*.jpg"))[0]),
                hr=hr,
                args=args,
            )
            repeats.append(repeat)
            if "error" in repeat:
                print(f"repeat {number + 1}: {repeat['error']}", flush=True)
            named, gone = _s(repeat.get("accepted_to_named_s")), _s(repeat.get("delete_to_not_named_s"))
            print(
                f"repeat {number + 1}: {name} named {named} s after accepted, gone {gone} s after the delete"
            )
        peak_mb = peak_rss_mb(background.pid)
        recognition_peak_mb = peak_rss_mb(processes[2].pid)
    finally:
        common.stop_stack(processes)
    figures = summary(repeats, args, seed_seconds=seed_seconds, gallery_version=version)
    figures["background_worker_idle_rss_mb"] = idle_rss_mb
    figures["background_worker_peak_rss_mb"] = peak_mb
    figures["recognition_worker_peak_rss_mb"] = recognition_peak_mb
    figures["training_debounce_seconds"] = settings.TRAINING_DEBOUNCE_SECONDS
    print_summary(figures)
    return figures


def gallery_seed(*, people: int, photos_each: int, hr) -> None:
    """Create `people` consenting, active people with `photos_each` accepted synthetic embeddings each.

    Rows go in with bulk_create: the photos' image files are a placeholder name (training and
    recognition read only the embeddings), their embedder version the installed one.
    """
    from django.db import connection
    from django.utils import timezone

    from people.models import FaceImage, Person
    from people.services import consent_text_current
    from recognition import engine
    from recognition.ml.embeddings import embedding_to_bytes
    from recognition.ml.synthetic import synthetic_gallery

    now = timezone.now()
    consent = consent_text_current()
    rows = Person.objects.bulk_create(
        [
            Person(
                employee_id=f"gallery-{number:06d}",
                full_name=f"Gallery Person {number}",
                consent_given_at=now,
                consent_recorded_by=hr,
                consent_text_version=consent.version if consent else "",
            )
            for number in range(people)
        ],
        batch_size=2000,
    )
    embeddings, owners, _ = synthetic_gallery(people, photos_each, seed=20_261)
    embedder_version = engine.embedder_version()
    FaceImage.objects.bulk_create(
        (
            FaceImage(
                person_id=rows[owner].pk,
                image="faces/synthetic-gallery.jpg",
                status=FaceImage.Status.ACCEPTED,
                embedding=embedding_to_bytes(vector),
                embedder_version=embedder_version,
                processed_at=now,
            )
            for vector, owner in zip(embeddings, owners, strict=True)
        ),
        batch_size=5000,
    )
    # The planner's statistics, as autovacuum keeps them on a database that has lived with these rows:
    # straight after a bulk load PostgreSQL guesses a handful of rows and reads the training query
    # with a nested loop (10 s instead of 0.4 s for 50,000 photos on 2 cores).
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Person._meta.db_table}, {FaceImage._meta.db_table}")


def gallery_train():
    """Train and activate the gallery's first version here, as the training worker would."""
    from recognition.services import recogniser_train

    version = recogniser_train(trigger="enrolment latency benchmark: gallery")
    if not version.is_active:
        raise SystemExit(f"training the gallery failed: {version.error}")
    return version


def enrolment_time(kiosk: Kiosk, *, name: str, employee_id: str, photos, frame: bytes, hr, args) -> dict:
    """Enrol one person, time until a kiosk frame names them; delete them, time until none does."""
    from attendance.models import CheckinAttempt
    from people.models import FaceImage
    from people.services import person_create, person_delete
    from recognition.models import RecogniserVersion

    common.wait_for(training_idle, args.give_up, "the previous training run")
    result: dict = {"person": name, "load_average_before": os.getloadavg()[0]}
    with ThreadPoolExecutor(1) as pool:  # the kiosk keeps posting frames while HR enrols
        kiosk_run = pool.submit(
            kiosk_frames_until,
            kiosk,
            frame,
            lambda answer: answer.get("employee_id") == employee_id,
            args=args,
        )
        person = person_create(
            employee_id=employee_id, full_name=name.replace("_", " ").title(), consent_recorded_by=hr
        )
        photos_enrol(person=person, photos=photos, wanted=args.photos_each, hr=hr, give_up=args.give_up)
        # When each newly activated version becomes visible to the workers (committed, artifact written).
        activations: dict[int, float] = {}
        while not kiosk_run.done():
            active = RecogniserVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
            activations.setdefault(active, time.time())
            time.sleep(0.05)
        answers = kiosk_run.result()
    result["photos_added"] = person.face_images.count()
    named = answers[-1] if answers and answers[-1][1].get("employee_id") == employee_id else None
    accepted = list(
        person.face_images.filter(status=FaceImage.Status.ACCEPTED).values_list("processed_at", flat=True)
    )
    result["photos_accepted"] = len(accepted)
    result["frames_posted"] = len(answers)
    result["outcomes"] = _counts(answer.get("outcome") or answer.get("state") for _, answer in answers)
    if not accepted or named is None:
        statuses = _counts(person.face_images.values_list("status", flat=True))
        result["error"] = (
            f"not named within {args.give_up:g} s (photos {statuses}, answers {result['outcomes']})"
        )
        return result
    t0 = max(accepted).timestamp()
    t1 = named[0]
    attempt = CheckinAttempt.objects.get(pk=named[1]["id"])
    version = RecogniserVersion.objects.get(pk=attempt.recogniser_version_id)
    matched = CheckinAttempt.objects.filter(pk__in=[a[1]["id"] for a in answers], person=person)
    first_match_id = matched.order_by("created_at").values_list("pk", flat=True).first()
    first_match_at = next((at for at, answer in answers if answer["id"] == str(first_match_id)), t1)
    result |= {
        "outcome": named[1].get("outcome"),
        "accepted_to_named_s": t1 - t0,
        "accepted_to_run_s": version.created_at.timestamp() - t0,
        "run_s": (version.finished_at - version.created_at).total_seconds(),
        "fit_s": version.training_seconds,
        "activated_to_named_s": t1 - version.finished_at.timestamp(),
        # finished_at is stamped before the artifact row is written and committed.
        "activated_to_visible_s": activations[version.pk] - version.finished_at.timestamp()
        if version.pk in activations
        else None,
        "visible_to_named_s": t1 - activations[version.pk] if version.pk in activations else None,
        "accepted_to_first_match_s": first_match_at - t0,
        "version_people": version.people_count,
        "frames_after_accepted": sum(1 for at, _ in answers if at > t0),
    }

    common.wait_for(training_idle, args.give_up, "training after the enrolment")
    result["versions_stored"] = RecogniserVersion.objects.filter(artifact__isnull=False).count()
    deleting = time.time()
    person_delete(person=person)
    deleted = time.time()
    answers = kiosk_frames_until(
        kiosk, frame, lambda answer: answer.get("employee_id") != employee_id, args=args
    )
    gone = answers[-1] if answers and answers[-1][1].get("employee_id") != employee_id else None
    result["delete_call_s"] = deleted - deleting
    if gone is not None:
        result["delete_to_not_named_s"] = gone[0] - deleting
        result["delete_outcome"] = gone[1].get("outcome")
    common.wait_for(training_idle, args.give_up, "training after the deletion")
    retrained = (
        RecogniserVersion.objects.filter(
            created_at__gte=_aware(deleting), status=RecogniserVersion.Status.READY
        )
        .order_by("created_at")
        .first()
    )
    if retrained is not None:
        result["delete_to_retrained_s"] = retrained.finished_at.timestamp() - deleting
    result["load_average_after"] = os.getloadavg()[0]
    return result


def photos_enrol(*, person, photos: list[Path], wanted: int, hr, give_up: float) -> None:
    """Add `wanted` of `photos` for the enrolment worker, and one more for each it rejects (HR
    retaking a photo), until `wanted` are accepted, the photos run out or `give_up` seconds pass."""
    from people.models import FaceImage

    waiting = list(photos)
    deadline = time.monotonic() + give_up
    while time.monotonic() < deadline:
        statuses = _counts(person.face_images.values_list("status", flat=True))
        accepted = statuses.get(FaceImage.Status.ACCEPTED, 0)
        busy = statuses.get(FaceImage.Status.PENDING, 0) + statuses.get(FaceImage.Status.PROCESSING, 0)
        if accepted >= wanted or (not busy and not waiting):
            return
        missing = wanted - accepted - busy
        if missing > 0 and waiting:
            common.photos_add(person=person, photos=waiting[:missing], hr=hr)
            del waiting[:missing]
        time.sleep(0.1)


def kiosk_frames_until(kiosk: Kiosk, frame: bytes, done, *, args) -> list[tuple[float, dict]]:
    """Post `frame` every `args.frame_every` s, each polled to its answer as the kiosk page polls,
    until done(answer) or `args.give_up` s; return [(wall time the answer arrived, answer)]."""
    answers: list[tuple[float, dict]] = []
    started = time.monotonic()
    while time.monotonic() - started < args.give_up:
        posted = time.monotonic()
        try:
            _, answer = kiosk.answer(frame, kiosk_polling=True)
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            kiosk.reconnect()  # closed while idle, before this frame went out: post it again
            _, answer = kiosk.answer(frame, kiosk_polling=True)
        if answer:
            answers.append((time.time(), answer))
            if done(answer):
                break
        time.sleep(max(0.0, args.frame_every - (time.monotonic() - posted)))
    return answers


def training_idle() -> bool:
    """Return whether no training run is pending or running (recognition.training's TrainingState)."""
    from recognition.models import TrainingState

    state = TrainingState.objects.filter(pk=1).first()
    return state is None or (state.dirty_since is None and not state.running_task_id)


def peak_rss_mb(pid: int, *, key: str = "VmHWM") -> float | None:
    """Return the largest `key` (VmHWM: peak resident memory) of process `pid` and its children, in MB.

    Linux only (/proc); None elsewhere. The training and enrolment work runs in the worker's child.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    children = []
    for entry in proc.iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    sizes = []
    for number in [pid, *children]:
        try:
            for line in (proc / str(number) / "status").read_text().splitlines():
                if line.startswith(f"{key}:"):
                    sizes.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return max(sizes) if sizes else None


def summary(repeats: list[dict], args, *, seed_seconds: float, gallery_version) -> dict:
    """Return the figures: each repeat, and the medians of its timings over the repeats."""
    keys = [
        "accepted_to_named_s",
        "accepted_to_run_s",
        "run_s",
        "fit_s",
        "activated_to_named_s",
        "activated_to_visible_s",
        "visible_to_named_s",
        "accepted_to_first_match_s",
        "delete_call_s",
        "delete_to_not_named_s",
        "delete_to_retrained_s",
    ]
    medians = {}
    for key in keys:
        values = [r[key] for r in repeats if r.get(key) is not None]
        medians[key] = statistics.median(values) if values else None
    return {
        "people": args.people,
        "photos_each": args.photos_each,
        "frame_every_s": args.frame_every,
        "gallery_seed_s": seed_seconds,
        "gallery_fit_s": gallery_version.training_seconds,
        "medians": medians,
        "failures": sum(1 for r in repeats if "error" in r),
        "repeats": repeats,
        "target_s": 15,
    }


def print_summary(figures: dict) -> None:
    rows = [_row(str(n + 1), r) for n, r in enumerate(figures["repeats"])]
    rows.append(_row("median", figures["medians"]))
    common.print_table(
        ["repeat", "person", "accepted -> named", "wait", "run", "fit", "store", "visible -> named",
         "delete call", "delete -> gone", "delete -> retrained", "load"],
        rows,
        title=(f"Enrolment latency at {figures['people']:,} people, seconds (photos accepted -> a kiosk "
               f"frame names them; debounce {figures['training_debounce_seconds']:g} s; target 15 s)"),
    )  # fmt: skip
    print(
        "wait: accepted -> training run starts; run: reading, fitting (fit), until finished_at; store: the "
        "artifact written and committed; visible -> named: the worker loads it, K-of-M frames"
    )
    if figures["background_worker_peak_rss_mb"] is not None:
        print(
            f"background worker (enrolment + training): {figures['background_worker_idle_rss_mb']:.0f} MB "
            f"resident when idle, peak {figures['background_worker_peak_rss_mb']:.0f} MB; recognition worker "
            f"peak {figures['recognition_worker_peak_rss_mb']:.0f} MB"
        )


def _row(label: str, r: dict) -> list:
    keys = ["accepted_to_named_s", "accepted_to_run_s", "run_s", "fit_s", "activated_to_visible_s",
            "visible_to_named_s", "delete_call_s", "delete_to_not_named_s",
            "delete_to_retrained_s"]  # fmt: skip
    load = f"{r['load_average_before']:.1f}" if "load_average_before" in r else ""
    return [label, r.get("person", ""), *(_s(r.get(key)) for key in keys), load]


def _counts(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return counts


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _aware(timestamp: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)


if __name__ == "__main__":
    main()
