"""Start the whole site under supervision, quietly, and say once where everything is: what `make run` does.

    python manage.py run [--host 127.0.0.1] [--port 8000]

Checks first (the port is free, no other run uses this VAR_DIR, leftovers of a killed run are cleared,
the database answers), migrates, makes sure an administrator exists, then starts supervisord with
supervisord.conf: the embedded Valkey broker (unless CELERY_BROKER_URL names a Redis), gunicorn, the
recognition and background workers and beat. A process that exits is restarted; Ctrl-C stops them all.
Each process logs to LOG_DIR/<name>.log; the console shows their warnings and errors, one summary
once the web server answers, and "Ready" once /healthz says the workers have loaded the face models.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from attendance_site import health, stack
from attendance_site.accounts import admin_ensure
from attendance_site.health import check_broker, check_database

# How long to wait for the workers to load the face models before saying what is missing (the summary
# is shown anyway; "Ready" follows whenever they are).
READY_PATIENCE_SECONDS = 600
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In supervisord's process, before exec: get SIGTERM if this command dies, so nothing is orphaned."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Command(BaseCommand):
    help = "Start web, workers, scheduler and the embedded broker under supervisord; Ctrl-C stops them all."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST") or "127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT") or 8000))

    def handle(self, *args, host: str, port: int, **options):
        paths = stack.stack_paths()
        try:
            stack.socket_paths_check(paths)
            stack.port_check(host, port)
            cleared = stack.leftovers_clear(paths)
        except stack.StackError as exc:
            raise CommandError(str(exc)) from exc
        for line in cleared:
            self.stdout.write(f"  {line}")
        try:
            self.prepare()
        except KeyboardInterrupt:
            raise CommandError("interrupted before anything was started") from None
        account = admin_ensure(
            username=os.environ.get("DJANGO_SUPERUSER_USERNAME", ""),
            password=os.environ.get("DJANGO_SUPERUSER_PASSWORD", ""),
            email=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""),
        )
        for folder in (paths.run_dir, paths.log_dir, paths.broker_data):
            folder.mkdir(parents=True, exist_ok=True)
        paths.run_dir.chmod(0o700)
        try:
            env = stack.supervisor_environment(
                paths=paths, host=host, port=port, embedded_broker=settings.EMBEDDED_BROKER
            )
        except stack.StackError as exc:
            raise CommandError(str(exc)) from exc
        logs = stack.LogWatcher(paths.log_dir)
        logs.skip_existing()
        self.stdout.write(f"Starting face attendance from {_shown(paths.var_dir)}/ ...")
        supervisord = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(stack.SUPERVISORD_CONF)],
            env=env,
            cwd=settings.BASE_DIR,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # safe: this process has no threads yet
        )
        Supervision(self, supervisord, paths=paths, host=host, port=port, account=account, logs=logs).run()

    def prepare(self) -> None:
        """Check the database (and an external broker), migrate and collect static files, quietly."""
        database = check_database()
        if not database["ok"]:
            raise CommandError(f"DATABASE_URL: {database['reason']}")
        if not settings.EMBEDDED_BROKER:
            broker = check_broker()
            if not broker["ok"]:
                raise CommandError(f"CELERY_BROKER_URL: {broker['reason']}")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)


class Supervision:
    """Watch supervisord until it exits: warnings to the console, the summary, "Ready", restarts."""

    def __init__(self, command: Command, supervisord: subprocess.Popen, *, paths, host, port, account, logs):
        self.out = command.stdout
        self.style = command.style
        self.supervisord = supervisord
        self.paths = paths
        self.account = account
        self.logs = logs
        browse_host = "127.0.0.1" if host in ("0.0.0.0", "::", "[::]") else host  # noqa: S104
        self.url = f"http://{browse_host}:{port}"
        self.started = time.monotonic()
        self.summary_shown = False
        self.ready = False
        self.ready_at: float | None = None
        # After a restart the old heartbeat still says "warm" for up to WORKER_STALE_SECONDS: "Ready
        # again" needs a not-ready answer first (the new worker loading its models), or this long.
        self.restarted_at = 0.0
        self.seen_not_ready = False
        self.waited_too_long = False
        self.stopping = False
        self.known: dict[str, dict] = {}

    def run(self) -> None:
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)
        if settings.EMBEDDED_BROKER and not stack.broker_wait(self.paths, timeout=30):
            self.stop()
            self.supervisord.wait()
            self.show_warnings()
            raise CommandError(
                f"the embedded broker did not start; see {self.paths.log_dir / 'broker.log'} and "
                f"{self.paths.log_dir / 'supervisord.log'}"
            )
        while self.supervisord.poll() is None:
            self.show_warnings()
            if not self.stopping:
                self.follow_processes()
                self.follow_health()
            time.sleep(1)
        self.show_warnings()
        if self.stopping:
            self.out.write("Stopped: every process has exited.")
            return
        raise CommandError(
            f"supervisord exited (code {self.supervisord.returncode}); "
            f"see {self.paths.log_dir / 'supervisord.log'}"
        )

    def stop(self, *_args) -> None:
        """Ask supervisord to stop every process (Ctrl-C reached it too; asking twice is harmless)."""
        if not self.stopping:
            self.stopping = True
            self.out.write("Stopping (the broker last) ...")
        if self.supervisord.poll() is None:
            self.supervisord.send_signal(signal.SIGTERM)

    def show_warnings(self) -> None:
        for name, line in self.logs.poll():
            self.out.write(self.style.WARNING(f"  ! {name}: {line[:400]}"))

    def follow_processes(self) -> None:
        """Say when a process exits and when it runs again (supervisord restarts it)."""
        table = stack.processes(self.paths)
        for name, info in table.items():
            before = self.known.get(name)
            self.known[name] = info
            if before is None:
                continue
            was_up = before["state"] == "RUNNING"
            if was_up and (info["state"] != "RUNNING" or info["pid"] != before["pid"]):
                self.out.write(
                    self.style.WARNING(
                        f"  ! {name} stopped unexpectedly ({_exit_reason(self.paths, name)}); "
                        "supervisord is starting it again"
                    )
                )
                self.ready = False
                self.restarted_at = time.monotonic()
                self.seen_not_ready = False
                self.waited_too_long = False
            if info["state"] == "FATAL" and before["state"] != "FATAL":
                self.out.write(
                    self.style.ERROR(
                        f"  ! {name} could not be started and was given up; see "
                        f"{self.paths.log_dir / (name + '.log')}"
                    )
                )

    def follow_health(self) -> None:
        """Show the summary once the web server answers, then "Ready" once the workers are warm."""
        if self.ready:
            return
        status, body = self.health()
        if status and not self.summary_shown:
            self.summary()
        if status and status != 200:
            self.seen_not_ready = True
        settled = (
            self.seen_not_ready or time.monotonic() - self.restarted_at > settings.WORKER_STALE_SECONDS + 60
        )
        if status == 200 and (self.ready_at is None or settled):
            self.ready = True
            if self.ready_at is None:
                self.ready_at = time.monotonic()
                seconds = self.ready_at - self.started
                self.out.write(
                    self.style.SUCCESS(f"Ready ({seconds:.0f} s): the workers have loaded the face models.")
                )
            else:
                self.out.write(self.style.SUCCESS("Ready again: every worker is warm."))
        elif status and status != 200 and not self.waited_too_long and self.waited() > READY_PATIENCE_SECONDS:
            self.waited_too_long = True
            # /healthz names the failing checks only; their reasons are for staff, and for this console.
            checks = health.run_checks()
            reasons = [c.get("reason", "") for c in checks.values() if not c.get("ok")]
            self.out.write(self.style.WARNING(f"  ! not ready yet: {'; '.join(reasons)}"))

    def waited(self) -> float:
        """Return the seconds since the start, or since the last restart of a process."""
        return time.monotonic() - max(self.started, self.restarted_at)

    def health(self) -> tuple[int, dict]:
        """Return /healthz's status and body; (0, {}) while the web server does not answer."""
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=10) as response:  # noqa: S310
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                return error.code, json.loads(error.read())
            except ValueError:
                return error.code, {}
        except (OSError, ValueError):
            return 0, {}

    def summary(self) -> None:
        self.summary_shown = True
        if self.account.password:
            admin = (
                f"{self.account.username} / {self.account.password}   (generated on this first run and shown "
                "only now: change it in the admin)"
            )
        elif self.account.created:
            admin = f"{self.account.username}   (password from DJANGO_SUPERUSER_PASSWORD)"
        else:
            admin = f"{self.account.username}   (an existing account)"
        names = ", ".join(name for name in stack.PROGRAMS if name in self.known)
        database = settings.DATABASES["default"]
        data = _shown(database["NAME"]) if database["ENGINE"].endswith("sqlite3") else "DATABASE_URL"
        broker = f"{_shown(self.paths.broker_data)}/" if settings.EMBEDDED_BROKER else "CELERY_BROKER_URL"
        lines = [
            "",
            "  Face attendance",
            f"    Open    {self.url}/   (kiosk: /kiosk/   admin: /admin/)",
            f"    Admin   {admin}",
            f"    Logs    {_shown(self.paths.log_dir)}/<process>.log ({names}); warnings are shown here too",
            f"    Data    {data}, broker {broker} (kept between runs)",
            "    Stop    Ctrl-C stops every process; one that crashes is restarted",
            "",
        ]
        self.out.write("\n".join(lines))
        if not self.ready:
            self.out.write("  Loading the face models in the workers (about a minute) ...")


def _shown(path) -> str:
    """Return `path` relative to the current folder when it is inside it (var/log rather than /home/...)."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _exit_reason(paths, name: str) -> str:
    """Return supervisord's last word on why `name` exited ("terminated by SIGKILL", "exit status 1")."""
    log = Path(paths.log_dir) / "supervisord.log"
    try:
        lines = log.read_text(errors="replace").splitlines()[-50:]
    except OSError:
        return "see supervisord.log"
    for line in reversed(lines):
        if f"exited: {name} " in line:
            return line.split(f"exited: {name} ", 1)[1].strip("() ")
    return "see supervisord.log"
