"""`make run` on the embedded default: SQLite and the wheel's Valkey, supervised, with a quiet console."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

from attendance_site import stack
from tests.fixtures.services import REPO, free_port, wait_for

SERVICE_VARIABLES = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CACHE_URL",
    "RUN_DIR",
    "LOG_DIR",
)


def embedded_env(var_dir: Path, port: int) -> dict[str, str]:
    """Return a newcomer's environment: no service URLs (empty, so a .env cannot set them either)."""
    env = {k: v for k, v in os.environ.items() if k not in {*SERVICE_VARIABLES, "MEDIA_ROOT"}}
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # a fresh make, not a child of `make test`
        env.pop(name, None)
    env.update(
        {name: "" for name in SERVICE_VARIABLES[:4]},
        VAR_DIR=str(var_dir),
        MEDIA_ROOT=str(var_dir / "media"),
        HOST="127.0.0.1",
        WEB_PORT=str(port),
        MODELS_DIR=str(settings.MODELS_DIR),
        MODEL_CACHE_DIR=str(settings.MODEL_CACHE_DIR),
        WORKER_HEARTBEAT_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    env.pop("DJANGO_SUPERUSER_PASSWORD", None)
    env.pop("DJANGO_SUPERUSER_USERNAME", None)
    # The virtualenv off PATH, as in a newcomer's shell: make run must not depend on it.
    venv_bin = str(REPO / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return env


class MakeRun:
    """One `make run` in its own session, its console captured in a file."""

    def __init__(self, var_dir: Path, port: int, console: Path):
        self.var_dir, self.port, self.console_path = var_dir, port, console
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            ["make", "run", f"WEB_PORT={port}"],
            cwd=REPO,
            env=embedded_env(var_dir, port),
            stdout=console.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def console(self) -> str:
        return self.console_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        """Wait for the "Ready" line (the workers loaded the face models); fail with the console if not."""

        def ready() -> bool:
            assert self.process.poll() is None, f"make run exited:\n{self.console()[-4000:]}"
            return "Ready (" in self.console()

        wait_for(ready, timeout=600, what=f"make run to say Ready; console so far:\n{self.console()[-3000:]}")

    def wait_summary(self) -> None:
        """Wait for the summary (the web server is up; the workers may still be loading the models)."""

        def shown() -> bool:
            assert self.process.poll() is None, f"make run exited:\n{self.console()[-4000:]}"
            return "    Stop    Ctrl-C" in self.console()

        wait_for(shown, timeout=600, what=f"make run's summary; console so far:\n{self.console()[-3000:]}")

    def health(self) -> tuple[int, dict]:
        response = requests.get(f"{self.url}/healthz", timeout=30)
        return response.status_code, response.json()

    def ctrl_c(self) -> None:
        """Press Ctrl-C: SIGINT to the foreground process group; everything must be gone afterwards."""
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(120)
        time.sleep(1)
        assert stack.processes_with_env("VAR_DIR", str(self.var_dir)) == []

    def kill_all(self) -> None:
        # The broker's environment has no VAR_DIR: found by supervisord's socket, or by its pid file.
        paths = stack.StackPaths.under(self.var_dir)
        supervised = stack.supervised_pids(paths)
        with contextlib.suppress(OSError, ValueError):
            broker = int(paths.broker_pid.read_text())
            if b"valkey-server" in Path(f"/proc/{broker}/cmdline").read_bytes():  # not a reused pid
                supervised.append(broker)
        for pid in [self.process.pid, *stack.processes_with_env("VAR_DIR", str(self.var_dir)), *supervised]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def admin_login(url: str, username: str, password: str) -> requests.Session | None:
    """Log in to the admin; return the signed-in session, or None if the credentials were refused."""
    session = requests.Session()
    session.get(f"{url}/admin/login/", timeout=30)
    response = session.post(
        f"{url}/admin/login/",
        data={"username": username, "password": password, "next": "/admin/",
              "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{url}/admin/login/"},
        timeout=30,
    )  # fmt: skip
    return session if response.status_code == 200 and "/admin/logout/" in response.text else None


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_make_run_serves_kiosks_through_a_worker_kill_and_restarts_on_its_data(tmp_path):
    """`make run`: a quiet summary, then Ready. The soak benchmark, short, on that stack: two kiosks post
    real frames for 45 s while the recognition worker is killed once, after 13.5 s (`python -m
    benchmarks.soak --minutes 30 --kills 2` is the long one); the stack never goes down, every accepted
    frame gets a final answer, supervisord restarts the worker and the console says so, it recognises
    again, no event is recorded twice. Ctrl-C stops all, cleanly; started again, it keeps its data.

    One test, so that the face models load in one stack start for both the console and the soak."""
    var_dir = tmp_path / "var"
    port = free_port()
    console_path = tmp_path / "console-1.txt"
    run = MakeRun(var_dir, port, console_path)
    try:
        run.wait_ready()
        # What `manage.py run` printed (before it, a first `make` may install requirements).
        console = run.console()[run.console().index("Starting face attendance") :]
        # One summary: the address, the generated credentials, where the logs are; no banners.
        assert f"Open    http://127.0.0.1:{port}/" in console
        password = re.search(r"Admin   admin / (\S+)", console).group(1)
        assert "Logs    " in console and "var/log" in console
        assert (
            "celery@" not in console and "-------------- " not in console and "Booting worker" not in console
        )
        assert len(console.splitlines()) < 20, console
        for name in stack.PROGRAMS:
            assert (var_dir / "log" / f"{name}.log").stat().st_size > 0, name
        status, body = run.health()
        assert status == 200, body
        assert body == {"status": "ok", "failing": []}  # anonymous: no details
        admin = admin_login(run.url, "admin", password)
        assert admin is not None
        checks = admin.get(f"{run.url}/healthz", timeout=30).json()["checks"]
        assert checks["database"]["vendor"] == "sqlite"
        assert checks["broker"]["transport"] == "redis+socket"
        # Warm-up answers are INFO, and no access log: the launcher polled /healthz every second.
        web_log = (var_dir / "log" / "web.log").read_text()
        assert "INFO django.request: Not ready: workers" in web_log
        assert "ERROR django.request" not in web_log and '"GET /healthz' not in web_log
        assert not (var_dir / "log" / "access.log").exists()

        figures = short_soak(var_dir, port, console_path, tmp_path / "soak.json")
        assert figures["attached"] and figures["kills"] == 1, figures
        assert figures["restarts"].get("recognition", 0) >= 1, figures
        assert figures["crashes"] == 0, figures
        assert figures["frames_accepted"] == figures["frames_posted"] >= 80, figures
        assert figures["frames_unanswered"] == 0, figures
        assert figures["pending_in_database"] == 0 and figures["missing_in_database"] == 0, figures
        assert figures["duplicated_events"] == 0, figures["duplicates"]
        # Real recognition happened, also after the kill (not only expiries).
        assert figures["events"] >= 1, figures["outcomes"]
        assert figures["recovery_seconds_after_kill"][0] is not None, figures
        # Supervised: the web server answered all along, and the console told the person at the terminal.
        assert figures["web_outages"] == 0 and figures["processes_stayed_down"] == [], figures
        assert figures["console_said"]["worker_killed"], figures
        # "Ready again" comes once /healthz finds every worker warm: it may follow the soak's last answer.
        wait_for(lambda: "Ready again" in run.console(), timeout=180, what="the console to say Ready again")

        run.ctrl_c()  # and no process is left
        stopped = re.findall(r"stopped: (\w+)", (var_dir / "log" / "supervisord.log").read_text())
        assert stopped[-1] == "broker", stopped  # the broker stops last
        assert "Stopped: every process has exited." in run.console()
        # `manage.py run` exited with 0: make reports a recipe that failed ("make: *** [...] Error 1").
        assert "make: ***" not in run.console(), run.console()[-2000:]
    finally:
        run.kill_all()

    # What a killed run leaves behind (a pid file naming a dead process, a dead socket) does not block.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (var_dir / "run" / "supervisord.pid").write_text(f"{dead.pid}\n")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(var_dir / "run" / "valkey.sock"))
    # Its data kept: checked as soon as the web server is up (Ctrl-C while the workers still load the
    # face models must stop everything too).
    run = MakeRun(var_dir, port, tmp_path / "console-2.txt")
    try:
        run.wait_summary()
        console = run.console()
        assert "removed stale supervisord.pid" in console
        assert "Admin   admin   (an existing account)" in console
        assert password not in console
        assert admin_login(run.url, "admin", password)  # the same database: data kept
        run.ctrl_c()
    finally:
        run.kill_all()


def short_soak(var_dir: Path, port: int, console: Path, figures_path: Path) -> dict:
    """Run the soak benchmark on the stack `make run` runs: 45 s, one kill after 13.5 s (31.5 s left to
    see the worker back; half way left 22.5 s, too few on a machine at load 7); return its figures."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env["MODELS_DIR"] = str(settings.MODELS_DIR)
    command = [sys.executable, "-m", "benchmarks.soak", "--minutes", "0.75", "--kills", "1"]
    command += ["--first-kill-at", "0.3"]
    attach = ["--attach", str(var_dir), "--port", str(port), "--console", str(console)]
    result = subprocess.run(
        [*command, *attach, "--json", str(figures_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(figures_path.read_text())["figures"]


def test_a_port_in_use_is_refused_in_one_line_before_anything_starts(tmp_path):
    """`manage.py run` on a taken port names the port and how to pick another, and starts nothing."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "manage.py", "run", "--port", str(port)],
            cwd=REPO,
            env=embedded_env(tmp_path, port),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in lines[0]
    assert f"WEB_PORT={port + 1}" in lines[0]
    assert not (tmp_path / "run" / "supervisord.pid").exists()
    assert not (tmp_path / "db.sqlite3").exists()


def test_a_second_run_on_the_same_var_dir_is_refused_while_the_first_is_alive(tmp_path):
    """A live supervisord for this VAR_DIR (its pid file and command line) makes a second start refuse."""
    paths = stack.StackPaths.under(tmp_path)
    paths.run_dir.mkdir()
    live = subprocess.Popen(["bash", "-c", "exec -a supervisord sleep 60"])
    try:
        paths.supervisord_pid.write_text(str(live.pid))
        wait_for(lambda: "supervisord" in Path(f"/proc/{live.pid}/cmdline").read_text(), timeout=10)
        with pytest.raises(stack.StackError, match="already running"):
            stack.leftovers_clear(paths)
        assert paths.supervisord_pid.exists()
    finally:
        live.kill()
        live.wait()


def test_processes_a_killed_supervisord_left_are_stopped_and_stale_files_removed(tmp_path):
    """After supervisord died by SIGKILL its orphans are stopped, and its pid file and sockets removed."""
    paths = stack.StackPaths.under(tmp_path)
    paths.run_dir.mkdir()
    orphan = subprocess.Popen(
        ["sleep", "60"], env={**os.environ, "SUPERVISOR_SERVER_URL": f"unix://{paths.supervisor_socket}"}
    )
    stranger = subprocess.Popen(["sleep", "60"])  # not this run's: left alone
    try:
        paths.supervisord_pid.write_text("999999999")
        paths.broker_socket.touch()
        done = stack.leftovers_clear(paths)
        assert orphan.wait(30) is not None
        assert stranger.poll() is None
        assert any(f"pids {orphan.pid}" in line for line in done), done
        assert not paths.supervisord_pid.exists() and not paths.broker_socket.exists()
    finally:
        for process in (orphan, stranger):
            process.kill()
            process.wait()
