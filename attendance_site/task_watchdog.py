"""Hard time limits for a worker whose pool runs tasks in threads (`-P threads`: the recognition worker).

Celery enforces a task's `time_limit` by killing the child process that runs it; a threads pool has no
child to kill, so Celery ignores the limit there. A TensorFlow call that never returns would then hang
the recognition worker for good: every later frame waits for the stuck batch and fails, and the
worker still looks alive to its supervisor. This watchdog keeps the promise the limits make: when a
task has run past its hard limit, it logs which task, and ends the whole process with EXIT_CODE, so
that supervisord (`make run`) or systemd starts a fresh one. The frames in flight are not lost:
recognition tasks are acknowledged late (after their attempt has an outcome), and every attempt ends
as expired if nobody finishes it (attendance.checkin.services.checkin_attempt_read).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

# EX_SOFTWARE: "an internal software error"; a supervisor restarts the worker on any exit code.
EXIT_CODE = 70


@dataclass(frozen=True)
class RunningTask:
    task_id: str
    name: str
    started: float
    limit: float

    def overdue_by(self, now: float) -> float:
        return now - self.started - self.limit


class TaskWatchdog:
    """Track the tasks running in this process with their hard time limits; exit once one overruns."""

    def __init__(
        self,
        *,
        poll_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        exit_process: Callable[[int], object] = os._exit,
    ):
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.exit_process = exit_process
        self._running: dict[str, RunningTask] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def watching(self) -> bool:
        return self._thread is not None

    def started(self, *, task_id: str, name: str, limit: float | None) -> None:
        """Note that a task started; a task without a hard limit, or one that starts before the watch
        does (start), is not watched."""
        if not self.watching or not limit or limit <= 0:
            return
        with self._lock:
            self._running[task_id] = RunningTask(task_id, name, self.clock(), float(limit))

    def finished(self, *, task_id: str) -> None:
        with self._lock:
            self._running.pop(task_id, None)

    def overdue(self) -> list[RunningTask]:
        """Return the running tasks that are past their hard limit, longest overdue first."""
        now = self.clock()
        with self._lock:
            late = [task for task in self._running.values() if task.overdue_by(now) > 0]
        return sorted(late, key=lambda task: task.overdue_by(now), reverse=True)

    def check(self) -> bool:
        """Exit the process if a task overran its limit (return False when the exit is replaced by a
        function that returns, as in tests); return True while all is well."""
        late = self.overdue()
        if not late:
            return True
        worst = late[0]
        log.critical(
            "task %s (%s) has run %.0f s, past its hard time limit of %.0f s; a pool of threads cannot "
            "stop it, so this worker exits (code %d) for its supervisor to start a fresh one; "
            "%d task(s) overdue",
            worst.name,
            worst.task_id,
            worst.limit + worst.overdue_by(self.clock()),
            worst.limit,
            EXIT_CODE,
            len(late),
        )
        for handler in logging.getLogger().handlers:  # the reason must reach the log before the exit
            handler.flush()
        self.exit_process(EXIT_CODE)
        return False

    def start(self) -> None:
        """Watch in a daemon thread of this process (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="task-watchdog", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while self.check():
            time.sleep(self.poll_seconds)


def hard_limit_of(task, default: float | None = None) -> float | None:
    """Return the hard time limit a task runs under: the message's, else the task's, else `default`."""
    request_limits = getattr(getattr(task, "request", None), "timelimit", None) or (None, None)
    return request_limits[0] or getattr(task, "time_limit", None) or default
