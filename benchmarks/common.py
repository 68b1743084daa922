"""What every benchmark shares: the `--json PATH` option, the figures' context, timing, throwaway databases,
and the running stack (web server, workers, kiosks over HTTP) of the benchmarks that need one.

A benchmark prints a table and, with `--json PATH`, writes the same figures with the context a figure
needs to be read (load average, cores, git commit, time). Benchmarks never run against a database they
did not create: `throwaway_database()` makes a fresh PostgreSQL database and drops it afterwards, and
whatever `DATABASE_URL` says is ignored (it could be production).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
# The PostgreSQL server benchmarks create their databases on (not a database: a server).
DEFAULT_POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE_PREFIX = "bench_"


def parser(doc: str | None) -> argparse.ArgumentParser:
    """Return an argument parser with the benchmark's description and the common `--json PATH`."""
    lines = (doc or "").strip().splitlines()
    result = argparse.ArgumentParser(
        description=lines[0] if lines else None,
        epilog="\n".join(lines[1:]).strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    result.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    return result


def context() -> dict:
    """Return what a reader needs to judge a figure: load average, cores, commit, time, Python."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "commit": commit,
        "python": sys.version.split()[0],
    }


def emit(name: str, figures: dict, *, json_path: Path | None) -> None:
    """Write `figures` with their context to `json_path` (when given) and say where."""
    if json_path is None:
        return
    json_path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "context": context(), "figures": figures}
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"Figures written to {json_path}")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str = "") -> None:
    """Print rows as an aligned plain-text table."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    if title:
        print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print(f"(load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores)")


def median_ms(fn: Callable[[], object], *, runs: int = 20, warmup: int = 3) -> float:
    """Return the median wall time of `fn` in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def percentile(values: Sequence[float], share: float) -> float | None:
    """Return the `share` (0..1) percentile of values by nearest rank, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@contextlib.contextmanager
def throwaway_database(server_url: str | None = None) -> Iterator[str]:
    """Create a fresh PostgreSQL database for one benchmark run, yield its URL, drop it afterwards.

    `server_url` (or BENCH_POSTGRES_URL) names a server through its maintenance database; the benchmark's
    own database is `bench_<random>` on it. Nothing else on that server is touched.
    """
    import psycopg2

    server_url = server_url or os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_SERVER
    name = f"{BENCH_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg2.connect(server_url, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise SystemExit(
            f"cannot reach PostgreSQL at {server_url}: {exc}".strip()
            + "\nstart it (make services) or point BENCH_POSTGRES_URL at a server"
        ) from exc
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(server_url, name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def use_database(url: str) -> None:
    """Point this process's Django at `url`, refusing anything but a database a benchmark created.

    Call before django.setup(). A benchmark that writes rows must never be aimed at a real database by
    a stray DATABASE_URL in the environment.
    """
    name = urlsplit(url).path.lstrip("/")
    if not name.startswith(BENCH_DATABASE_PREFIX):
        raise SystemExit(
            f"refusing to run against database {name!r}: benchmarks only use databases they create "
            f"({BENCH_DATABASE_PREFIX}*, see benchmarks.common.throwaway_database)"
        )
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")


# Servers a check-in figure's CPU time also goes to, though the benchmark did not start them (shared
# with whatever else runs on the machine): (group, words that must all appear in the command line).
CPU_SERVERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("postgresql", ("postgres",)),
    ("redis", ("redis-server",)),
    ("redis", ("valkey",)),
)


def stack_cpu_roots(processes: Sequence[subprocess.Popen]) -> dict[int, str]:
    """Name what start_stack started: {pid: "web" | "background" | "recognition"}."""
    roots = {}
    for process in processes:
        command = " ".join(map(str, process.args))
        roots[process.pid] = (
            "web" if "gunicorn" in command else "recognition" if "recognition" in command else "background"
        )
    return roots


def cpu_seconds_by_group(roots: dict[int, str] | None = None) -> dict[str, float]:
    """Return the CPU seconds (user + system) used so far, summed per group: each process in `roots`
    ({pid: group}) with all its descendants, "benchmark" (this process), and the CPU_SERVERS.

    Read from /proc; two snapshots' difference says where the cores went during a run (processes that
    started or ended in between count only for the time they were seen). Linux only: {} elsewhere.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return {}
    ticks = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float, str]] = {}  # pid -> (parent pid, CPU seconds, command line)
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks, cmdline)
    roots = {os.getpid(): "benchmark", **(roots or {})}
    totals: dict[str, float] = {}
    for pid, (_parent, seconds, cmdline) in table.items():
        group, ancestor, hops = None, pid, 0
        while group is None and ancestor in table and hops < 64:
            group = roots.get(ancestor)
            ancestor, hops = table[ancestor][0], hops + 1
        if group is None:
            group = next((g for g, words in CPU_SERVERS if all(w in cmdline for w in words)), None)
        if group:
            totals[group] = totals.get(group, 0.0) + seconds
    return totals


def cpu_difference(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Return after - before per group (CPU seconds used between two snapshots)."""
    return {group: max(0.0, after.get(group, 0.0) - before.get(group, 0.0)) for group in after}


# --- A running stack: web server, workers and kiosks over HTTP (benchmarks.checkin, .enrolment_latency) --


def frame_jpeg(photo: Path, size=(640, 480)) -> bytes:
    """Return the photo centred on a grey 640x480 frame, as JPEG (what the kiosk page sends)."""
    from PIL import Image

    image = Image.open(photo).convert("RGB")
    image.thumbnail(size)
    canvas = Image.new("RGB", size, (128, 128, 128))
    canvas.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


# The kiosk page's long poll (static/kiosk/kiosk.js POLL_WAIT_S).
KIOSK_POLL_WAIT_S = 2.0


class Kiosk:
    """One simulated kiosk: a keep-alive HTTP connection and its token.

    `interval_polling`: with kiosk_polling, poll as the kiosk page did before long polling (every 60 ms,
    then 20 ms more each time, at most 200 ms), for comparison.
    """

    interval_polling = False

    def __init__(self, host: str, port: int, token: str):
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.token = token

    def reconnect(self) -> None:
        """Open a new connection: the server closes an idle keep-alive one (gunicorn after 2 s)."""
        self.conn.close()
        self.conn = http.client.HTTPConnection(self.conn.host, self.conn.port, timeout=30)

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        headers = {"Authorization": f"Kiosk {self.token}", "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")

    def check_in(
        self, frame: bytes, poll_s: float = 0.02, give_up_s: float = 10, kiosk_polling: bool = False
    ) -> tuple[float, str]:
        """Post a frame and poll until its result; return (seconds from POST to result, outcome).

        `kiosk_polling`: poll as the kiosk page does (long polls of up to KIOSK_POLL_WAIT_S)."""
        seconds, data = self.answer(frame, poll_s, give_up_s, kiosk_polling)
        return seconds, data.get("outcome") or data.get("state") or "timeout"

    def answer(
        self, frame: bytes, poll_s: float = 0.02, give_up_s: float = 10, kiosk_polling: bool = False
    ) -> tuple[float, dict]:
        """Post a frame and poll until its result; return (seconds from POST to result, the answer).

        The answer is the API's attempt (id, state, outcome, employee_id...); {} when none came in time."""
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="frame"; filename="f.jpg"\r\n'
                "Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            + frame
            + f"\r\n--{boundary}--\r\n".encode()
        )
        started = time.perf_counter()
        status, data = self._request(
            "POST", "/api/v1/checkins/", body, f"multipart/form-data; boundary={boundary}"
        )
        if status != 202:
            raise RuntimeError(f"POST answered {status}: {data}")
        url = data["status_url"]
        if kiosk_polling and not self.interval_polling:
            # As the kiosk page: each poll waits on the server for the outcome (up to KIOSK_POLL_WAIT_S).
            while time.perf_counter() - started < give_up_s:
                asked = time.perf_counter()
                status, data = self._request("GET", f"{url}?wait={KIOSK_POLL_WAIT_S:g}")
                if data.get("state") != "pending":
                    return time.perf_counter() - started, data
                if time.perf_counter() - asked < 0.1:
                    time.sleep(0.15)
            return time.perf_counter() - started, {}
        delay = 0.06 if kiosk_polling else poll_s
        while time.perf_counter() - started < give_up_s:
            time.sleep(delay)
            if kiosk_polling:
                delay = min(0.2, delay + 0.02)
            status, data = self._request("GET", url)
            if data.get("state") != "pending":
                return time.perf_counter() - started, data
        return time.perf_counter() - started, {}


@contextlib.contextmanager
def stack_database(name: str) -> Iterator[None]:
    """Set this process up for a run of the stack: Django on a throwaway PostgreSQL database, migrated,
    and a temporary MEDIA_ROOT; start_stack's processes inherit both, and both go afterwards.

    The workers need CELERY_BROKER_URL to name a Redis database.
    """
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        raise SystemExit("set CELERY_BROKER_URL to a Redis database for the benchmark's workers")
    with throwaway_database() as url, tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as media:
        use_database(url)
        os.environ["MEDIA_ROOT"] = media  # enrolment photos go there, then away
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield


def start_stack(
    port: int, log_dir: Path, processes: int = 1, pool: str = "threads"
) -> list[subprocess.Popen]:
    """Start gunicorn, a background worker (enrolment, training) and recognition workers, as
    supervisord.conf runs them; return the processes (background worker second). Logs go to log_dir."""
    env = {
        **os.environ,
        "KIOSK_FRAME_THROTTLE": "1000/s",
        "KIOSK_POLL_THROTTLE": "10000/s",
        "CHECKIN_COOLDOWN_SECONDS": "1",  # so that frames keep recording events, the slowest path
        "PYTHONUNBUFFERED": "1",
    }
    python = sys.executable
    web = subprocess.Popen(
        [python, "-m", "gunicorn", "attendance_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "16", "--timeout", "60"],
        cwd=REPO, env=env, stdout=(log_dir / "web.log").open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    level = os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING")
    common = ["--without-gossip", "--without-mingle", "--loglevel", level]
    celery = [python, "-m", "celery", "-A", "attendance_site", "worker"]

    def worker(name: str, args: list[str]) -> subprocess.Popen:
        return subprocess.Popen(
            [*celery, *args, "-n", f"bench-{name}-{uuid.uuid4().hex[:6]}@%h", *common],
            cwd=REPO, env=env, stdout=(log_dir / f"{name}.log").open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    # Enrolment and training on a worker of their own, as supervisord.conf runs them.
    started = [web, worker("background", ["-Q", "enrolment,training", "-c", "1"])]
    if pool == "prefork":
        commands = [["-P", "prefork", "-c", str(processes)]]
    else:
        commands = [["-P", "threads", "-c", "16"]] * processes
    for number, pool_args in enumerate(commands):
        started.append(worker(f"recognition-{number}", ["-Q", "recognition", *pool_args]))
    return started


def stop_stack(processes: list[subprocess.Popen]) -> None:
    """Terminate the stack's processes, killing any that has not stopped after 20 s."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll `predicate` every half second until it is true; give up (exit) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def web_wait(port: int, timeout: float = 60) -> None:
    """Wait until the stack's web server on `port` answers /healthz."""

    def web_up() -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            return conn.getresponse().status in (200, 503)
        except OSError:
            return False

    wait_for(web_up, timeout, "the web server")


def kiosks_register(count: int) -> list[str]:
    """Register `count` benchmark kiosks (location "benchmark") and return their tokens.

    No minimum time between an entry and an exit (30 min by default), so that frames keep recording
    events like CHECKIN_COOLDOWN_SECONDS=1 in start_stack: the slowest path.
    """
    from attendance.checkin.services import kiosk_register
    from attendance.models import Kiosk as KioskRow

    tokens = [kiosk_register(name=f"bench kiosk {i}", location="benchmark")[1] for i in range(count)]
    KioskRow.objects.filter(location="benchmark").update(min_minutes_between_in_and_out=0)
    return tokens


def person_enrol(*, employee_id: str, full_name: str, photos: Sequence[Path], hr):
    """Create a consenting person and add `photos` through the enrolment services (the enrolment
    worker processes them); return the person, or the existing one with that id if it has photos."""
    from people.models import Person
    from people.services import person_create

    person = Person.objects.filter(employee_id=employee_id).first() or person_create(
        employee_id=employee_id, full_name=full_name, consent_recorded_by=hr
    )
    if not person.face_images.exists():
        photos_add(person=person, photos=photos, hr=hr)
    return person


def photos_add(*, person, photos: Sequence[Path], hr) -> None:
    """Add face photos of `person` as HR's upload does (people.services.face_image_add): each is
    queued for the enrolment worker."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from people.models import FaceImage
    from people.services import face_image_add

    for photo in photos:
        upload = SimpleUploadedFile(photo.name, photo.read_bytes(), "image/jpeg")
        face_image_add(person=person, upload=upload, source=FaceImage.Source.UPLOAD, uploaded_by=hr)
