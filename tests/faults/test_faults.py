"""Fault tests: a whole stack (gunicorn + a recognition worker) on throwaway PostgreSQL and Redis.

Kiosk frames are posted while the worker is killed, Redis is restarted and PostgreSQL is
restarted. Afterwards every accepted attempt has an outcome, no walk past the camera is
recorded twice, and the site recovers without a manual step.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from redis import Redis

from attendance.checkin import framestore
from tests.fixtures.services import REPO, free_port, start_worker, stop_process
from tests.fixtures.throwaway import ThrowawayPostgres, ThrowawayRedis, postgres_server, redis_server

pytestmark = pytest.mark.slow

SEED = textwrap.dedent(
    """
    import json, os, pathlib
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from people.services import face_image_add, face_image_process, person_create
    from recognition.services import recogniser_train
    from attendance.checkin.services import kiosk_register

    root = pathlib.Path(os.environ["SEED_PHOTOS"])
    admin = User.objects.create_superuser("admin", password="pw-for-tests")
    people = {}
    for number, folder in enumerate(sorted(p for p in root.iterdir() if p.is_dir())[:3]):
        person = person_create(employee_id=f"F{number}", full_name=folder.name.replace("_", " ").title(),
                               consent_recorded_by=admin)
        for photo in sorted(folder.glob("*.jpg"))[:6]:
            upload = SimpleUploadedFile(photo.name, photo.read_bytes(), content_type="image/jpeg")
            image = face_image_add(person=person, upload=upload, source="upload", uploaded_by=admin)
            face_image_process(face_image_id=image.pk)
        people[folder.name] = person.pk
    version = recogniser_train(trigger="fault-test seed")
    kiosks = [kiosk_register(name=f"Door {n}", created_by=admin)[1] for n in range(2)]
    print("SEED=" + json.dumps({"people": people, "version": version.pk, "status": version.status,
                                "kiosks": kiosks}))
    """
)

REPORT = textwrap.dedent(
    """
    import json
    from django.db.models import Count
    from attendance.models import AttendanceEvent, CheckinAttempt
    attempts = {str(a.pk): [a.state, a.outcome] for a in CheckinAttempt.objects.all()}
    events = list(AttendanceEvent.objects.values("person_id", "kind", "workday", "attempt_id"))
    print("REPORT=" + json.dumps({"attempts": attempts, "events": events}, default=str))
    """
)


@dataclass
class Stack:
    """A web server and a recognition worker on services of the test's own."""

    postgres: ThrowawayPostgres
    redis: ThrowawayRedis
    workdir: Path
    port: int = field(default_factory=free_port)
    web: subprocess.Popen | None = None
    worker: object = None

    def env(self) -> dict[str, str]:
        from django.conf import settings

        return {
            **os.environ,
            "DATABASE_URL": self.postgres.url,
            "CELERY_BROKER_URL": self.redis.url,
            "MEDIA_ROOT": str(self.workdir / "media"),
            "VAR_DIR": str(self.workdir / "var"),
            "MODELS_DIR": str(settings.MODELS_DIR),
            "MODEL_CACHE_DIR": str(settings.MODEL_CACHE_DIR),
            "DJANGO_ENV": "local",
            "DEBUG": "false",
            "WORKER_HEARTBEAT_SECONDS": "1",
            "HEALTHZ_REQUIRED_QUEUES": "recognition",  # only a recognition worker runs here
            "CHECKIN_MAX_PENDING_SECONDS": "8",
            "PYTHONUNBUFFERED": "1",
        }

    def manage(self, *args: str, extra_env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env={**self.env(), **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def shell(self, code: str, marker: str, **extra_env: str) -> dict:
        out = self.manage("shell", "-c", code, extra_env=extra_env)
        line = next(line for line in out.splitlines() if line.startswith(f"{marker}="))
        return json.loads(line.split("=", 1)[1])

    def start_web(self) -> None:
        self.web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "attendance_site.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "8",
                "--timeout",
                "60",
            ],
            cwd=REPO,
            env=self.env(),
            stdout=(self.workdir / "web.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        self.wait(lambda: requests.get(self.url("/healthz"), timeout=5).status_code in (200, 503), 60)

    def start_worker(self) -> None:
        """Start a recognition worker, as production runs one: on that queue alone, with tasks in
        threads so that frames are recognised in batches (supervisord.conf)."""
        log = self.workdir / f"worker-{time.monotonic_ns()}.log"
        self.worker = start_worker(self.env(), log, queues="recognition", pool=("-P", "threads", "-c", "16"))

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait(self, condition, timeout: float, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}")

    def healthy(self) -> bool:
        return requests.get(self.url("/healthz"), timeout=10).status_code == 200

    def post_frame(self, token: str, frame: bytes) -> requests.Response | None:
        try:
            return requests.post(
                self.url("/api/v1/checkins/"),
                headers={"Authorization": f"Kiosk {token}"},
                files={"frame": ("frame.jpg", frame, "image/jpeg")},
                timeout=15,
            )
        except requests.RequestException:
            return None

    def stop(self) -> None:
        if self.worker is not None:
            stop_process(self.worker.process)
        if self.web is not None:
            stop_process(self.web)


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory, celebrity_dir):
    """One stack for the module, on PostgreSQL and Redis servers of its own: migrated and seeded
    (3 people, a recogniser, 2 kiosks), web and worker started. Each test breaks it in its own way and
    checks that it recovers, so the next test starts on a stack that has recovered (see `stack`)."""
    with postgres_server() as postgres, redis_server() as redis:
        stack = Stack(postgres=postgres, redis=redis, workdir=tmp_path_factory.mktemp("fault-stack"))
        stack.manage("migrate", "--noinput", "-v0")
        # The worker loads its face models while the seed runs; it takes up the seed's recogniser.
        stack.start_worker()
        try:
            stack.seed = stack.shell(SEED, "SEED", SEED_PHOTOS=str(celebrity_dir / "train"))
            assert stack.seed["status"] == "ready"
            stack.start_web()
            yield stack
        finally:
            stack.stop()


@pytest.fixture
def stack(shared_stack):
    """The module's stack, healthy: a worker the previous test killed is replaced first."""
    if shared_stack.worker.process.poll() is not None:
        shared_stack.start_worker()
    shared_stack.wait(shared_stack.healthy, 180, "a healthy stack")
    return shared_stack


def frames_of(celebrity_dir: Path, people: dict[str, int]) -> dict[int, bytes]:
    """Return one validation photo (never enrolled) per seeded person, by person id."""
    return {
        pk: sorted((celebrity_dir / "val" / name).glob("*.jpg"))[0].read_bytes()
        for name, pk in people.items()
    }


def burst(
    stack: Stack, tokens: list[str], frames: list[bytes], rounds: int, pause: float = 0.25
) -> list[str]:
    """Post frames from every kiosk in turn; return the ids of the attempts the API accepted (202).

    Each kiosk sees one person for three frames in a row, then the next, as people walk past.
    """
    accepted = []
    for round_number in range(rounds):
        for kiosk_number, token in enumerate(tokens):
            frame = frames[(round_number // 3 + kiosk_number) % len(frames)]
            response = stack.post_frame(token, frame)
            if response is not None and response.status_code == 202:
                accepted.append(response.json()["id"])
            elif response is not None:
                assert response.status_code in (429, 503), (response.status_code, response.text[:300])
            time.sleep(pause)
    return accepted


def assert_consistent(stack: Stack, accepted: list[str]) -> dict:
    """Every accepted attempt has an outcome; one event per attempt at most; entries and exits alternate."""
    stack.wait(lambda: _all_finished(stack, accepted), 90, "every accepted attempt to finish")
    report = stack.shell(REPORT, "REPORT")
    unfinished = {
        a: report["attempts"].get(a) for a in accepted if report["attempts"].get(a, ["?"])[0] == "pending"
    }
    assert unfinished == {}
    attempt_ids = [e["attempt_id"] for e in report["events"] if e["attempt_id"]]
    assert len(attempt_ids) == len(set(attempt_ids)), "two events from one attempt"
    by_person: dict[int, list[str]] = {}
    for event in report["events"]:
        by_person.setdefault(event["person_id"], []).append(event["kind"])
    for kinds in by_person.values():
        # Within the cooldown one walk past the camera is one event: never two entries in a row.
        assert all(a != b for a, b in zip(kinds, kinds[1:], strict=False)), kinds
    return report


def _all_finished(stack: Stack, accepted: list[str]) -> bool:
    report = stack.shell(REPORT, "REPORT")
    pending = [a for a in accepted if report["attempts"].get(a, ["pending"])[0] == "pending"]
    # Kiosks poll their attempts: a poll expires an attempt whose wait is over even when no task is
    # left to do it (a message the killed worker held is not redelivered before the broker's timeout).
    for attempt_id in pending:
        for token in stack.seed["kiosks"]:
            with contextlib.suppress(requests.RequestException):
                requests.get(
                    stack.url(f"/api/v1/checkins/{attempt_id}/"),
                    headers={"Authorization": f"Kiosk {token}", "Accept": "application/json"},
                    timeout=15,
                )
    return not pending


OWN_OUTCOMES = textwrap.dedent(
    """
    import json
    from attendance.models import CheckinAttempt
    rows = CheckinAttempt.objects.values_list("id", "kiosk__name", "state", "outcome", "person_id")
    print("OWN=" + json.dumps({"attempts": [[str(a), k, s, o, p] for a, k, s, o, p in rows]}))
    """
)


def frame_keys_left(stack: Stack) -> list[bytes]:
    """Return the keys of the kiosk frames still stored in the stack's Redis."""
    client = Redis.from_url(stack.redis.url, socket_timeout=5)
    try:
        return list(client.scan_iter(match=framestore.KEY_PREFIX + "*", count=1000))
    finally:
        client.close()


def walk_up(stack: Stack, token: str, frame: bytes, frames: int = 8) -> tuple[list[str], list[str]]:
    """Post `frame` from a kiosk, the next once the last is answered, until the person is recorded (or
    `frames` were posted); return the accepted ids and the outcomes."""
    accepted, outcomes = [], []
    headers = {"Authorization": f"Kiosk {token}", "Accept": "application/json"}
    for _ in range(frames):
        response = stack.post_frame(token, frame)
        while response is not None and response.status_code == 429:  # posted faster than a kiosk may
            time.sleep(float(response.headers.get("Retry-After") or 1))
            response = stack.post_frame(token, frame)
        assert response is not None and response.status_code == 202, response
        accepted.append(response.json()["id"])
        status_url, deadline = stack.url(response.json()["status_url"]), time.monotonic() + 60
        body = requests.get(status_url, headers=headers, timeout=15).json()
        while body["state"] == "pending":
            assert time.monotonic() < deadline, "the kiosk got no answer"
            time.sleep(0.1)
            body = requests.get(status_url, headers=headers, timeout=15).json()
        outcomes.append(body.get("outcome") or body["state"])
        if outcomes[-1] not in ("confirming", "expired"):  # expired: a backlog on a busy machine
            break
    return accepted, outcomes


def test_batched_worker_killed_mid_batch_loses_no_attempt(stack, celebrity_dir):
    """Two kiosks post at once, so that the worker recognises their frames in batches; it is killed
    (SIGKILL) while attempts are in flight, and the kiosks go on posting until a new worker runs. Every
    attempt still ends (the new worker finishes or expires it), no walk past is recorded twice, the
    people are recorded, each attempt that names somebody names the person its own kiosk showed, and
    no frame is left in Redis afterwards. (The worker is batched as production runs it: this is also
    the test of a recognition worker killed during check-ins.)"""
    tokens = stack.seed["kiosks"]
    people = sorted(stack.seed["people"].items())[:2]
    shown = {
        token: frames_of(celebrity_dir, dict([person]))[person[1]]
        for token, person in zip(tokens, people, strict=True)
    }
    person_of = {f"Door {n}": person[1] for n, person in enumerate(people)}

    def together(rounds: int, each: int = 1) -> list[str]:
        """Each kiosk posts `each` frames `rounds` times, at the same moments (threads), 0.15 s apart;
        return the accepted ids as soon as the last round is answered."""
        import concurrent.futures

        accepted = []
        posts = [token for token in tokens for _ in range(each)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(posts)) as pool:
            for n in range(rounds):
                if n:
                    time.sleep(0.15)
                for response in pool.map(lambda t: stack.post_frame(t, shown[t]), posts):
                    if response is not None and response.status_code == 202:
                        accepted.append(response.json()["id"])
        return accepted

    accepted = together(4)
    # Then three frames from each kiosk at once, and the kill as soon as they are accepted: a batch of
    # six takes the worker a few hundred ms, so attempts are in flight however fast the machine is.
    accepted += together(1, each=3)
    os.kill(stack.worker.process.pid, signal.SIGKILL)
    after_kill = stack.shell(REPORT, "REPORT")["attempts"]
    pending_at_kill = [a for a in accepted if after_kill.get(a, ["pending"])[0] == "pending"]
    assert pending_at_kill, "nothing was in flight when the worker was killed: the test proves nothing"
    accepted += together(2)
    stack.worker.process.wait(10)
    stack.start_worker()
    stack.wait(stack.healthy, 180, "the new worker")
    accepted += together(3)
    # Frames that arrive together are recognised together, none seeing the others' agreement: a person
    # then stands before each kiosk in turn, each frame posted once the last is answered, as the page
    # does, until one is recorded (a person's one photo may stay unknown).
    outcomes = []
    for token in tokens:
        walked, seen = walk_up(stack, token, shown[token])
        accepted += walked
        outcomes += seen
        if any(outcome not in ("confirming", "expired", "unknown") for outcome in seen):
            break
    report = assert_consistent(stack, accepted)
    assert len(accepted) >= 12
    mine = set(accepted)  # the module's other tests show these kiosks other people
    recorded = [e for e in report["events"] if e["attempt_id"] in mine]
    assert recorded, f"the new worker never recorded the person: {outcomes}"
    own = stack.shell(OWN_OUTCOMES, "OWN")
    named = [(kiosk, person) for id_, kiosk, _s, _o, person in own["attempts"] if person and id_ in mine]
    assert named, "nobody was ever recognised"
    assert all(person == person_of[kiosk] for kiosk, person in named), named
    # The frames of attempts that expired stay until their keys do: CHECKIN_MAX_PENDING_SECONDS of the
    # stack (8 s) and the keys' grace (2 s) after they were posted, long before this.
    stack.wait(lambda: not frame_keys_left(stack), 8 + 2 + 10, "the frames to leave Redis")


def test_redis_restart_during_check_ins_loses_no_attempt(stack, celebrity_dir):
    """Redis stopped and started mid-burst: the API answers throughout, every accepted attempt ends."""
    tokens = stack.seed["kiosks"]
    frames = list(frames_of(celebrity_dir, stack.seed["people"]).values())
    accepted = burst(stack, tokens, frames, rounds=3)
    stack.redis.stop()
    during = [stack.post_frame(tokens[0], frames[0]) for _ in range(3)]
    assert all(r is not None and r.status_code in (202, 503) for r in during), [
        (r.status_code, r.text[:200]) if r is not None else None for r in during
    ]
    accepted += [r.json()["id"] for r in during if r.status_code == 202]
    stack.redis.start()
    stack.wait(stack.healthy, 120, "the site to recover after Redis came back")
    accepted += burst(stack, tokens, frames, rounds=3)
    assert_consistent(stack, accepted)


def test_postgres_restart_during_check_ins_loses_no_attempt(stack, celebrity_dir):
    """PostgreSQL restarted mid-burst: no server error leaks, and the site recovers by itself."""
    tokens = stack.seed["kiosks"]
    frames = list(frames_of(celebrity_dir, stack.seed["people"]).values())
    accepted = burst(stack, tokens, frames, rounds=2)
    stack.postgres.stop()
    during = [stack.post_frame(tokens[1], frames[1]) for _ in range(3)]
    assert all(r is not None and r.status_code == 503 for r in during), [
        (r.status_code, r.text[:200]) if r is not None else None for r in during
    ]
    stack.postgres.start()
    stack.wait(stack.healthy, 120, "the site to recover after PostgreSQL came back")
    accepted += burst(stack, tokens, frames, rounds=3)
    report = assert_consistent(stack, accepted)
    assert any(report["attempts"][a][0] == "done" for a in accepted[-6:]), (
        "no attempt succeeded after the restart"
    )
