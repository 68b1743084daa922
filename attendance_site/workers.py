"""Every Celery worker start-up hook, in one place: warm the face engine, report a heartbeat, and pick
up work a killed worker left half done.

The heartbeat lives in the database rather than in Celery's broadcast channel so that it works on
the embedded filesystem broker as well as on Redis, and so that /healthz can say which queues
have a live consumer. A worker that does face work counts as ready only once a child process
has loaded MTCNN and FaceNet (several seconds after Celery itself says "ready"); the child tells
the parent through shared memory, and the parent's heartbeat says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import threading

from celery import current_app, signals
from django.conf import settings
from django.db import close_old_connections

from attendance_site.queues import Queue
from attendance_site.task_watchdog import TaskWatchdog, hard_limit_of

log = logging.getLogger(__name__)

ENGINE_QUEUES = {Queue.RECOGNITION.value, Queue.ENROLMENT.value}
_heartbeat_stop = threading.Event()
# Shared memory created in the parent before the fork: a child that has loaded the face models
# writes its pid here, and the parent's heartbeat reports ready while that child is alive.
_warm_child_pid = None
# In a threads-pool worker only: what enforces the tasks' hard time limits (on_pool_ready).
_watchdog: TaskWatchdog | None = None


def consumed_queues(app=None) -> list[str]:
    """Return the names of the queues this worker process consumes."""
    app = app or current_app
    return sorted(app.amqp.queues.consume_from or app.amqp.queues)


def needs_engine(queues: list[str]) -> bool:
    return settings.WORKER_WARM_UP and bool(ENGINE_QUEUES & set(queues))


def on_worker_init() -> None:
    """In the parent, before any child exists: make the place where a warm child reports."""
    global _warm_child_pid
    _warm_child_pid = multiprocessing.Value("i", 0)


def on_child_start() -> None:
    """Warm the face engine in a freshly forked child that will run face work, then say so."""
    if not needs_engine(consumed_queues()):
        return
    warm_engine()


def on_pool_ready(consumer) -> None:
    """In a worker whose pool runs tasks in threads of this process (`-P threads`: the recognition
    worker, so that kiosk frames are recognised in batches), enforce the tasks' hard time limits
    (attendance_site.task_watchdog) and warm the engine here, in the background.

    Celery sends worker_process_init only to forked children; this process is the one that works.
    """
    global _watchdog
    pool = getattr(consumer, "pool", None)
    if pool is None or type(pool).__module__ != "celery.concurrency.thread":
        return
    _watchdog = _watchdog or TaskWatchdog()
    if not needs_engine(consumed_queues(getattr(consumer, "app", None))):
        _watchdog.start()
        return

    def warm_then_watch() -> None:
        # Watched only once the models are loaded: a task that waited for a slow first load (a minute
        # on a busy machine) is not hung, and restarting would only load them again.
        if warm_engine():
            _watchdog.start()

    threading.Thread(target=warm_then_watch, name="engine-warm-up", daemon=True).start()


def warm_engine() -> bool:
    """Load the face models in this process (one BLAS thread), then report this process as warm;
    return whether the face engine loaded."""
    from threadpoolctl import threadpool_limits

    from recognition import services

    # One face at a time: numpy's BLAS on its default threads took about 13 ms to search 10,000
    # templates for one face, against 0.25 ms on one thread (benchmarks.training, 2 cores).
    threadpool_limits(limits=1, user_api="blas")
    try:
        services.engine_warm_up(low_precision=Queue.RECOGNITION.value in consumed_queues())
    except Exception as exc:  # the worker must stay up: tasks report the same error to users
        log.error("face engine not warmed up: %s", exc)
        return False
    if Queue.RECOGNITION.value in consumed_queues():
        # Kiosks set to passive (or both) liveness score each recognised face: load the anti-spoofing
        # networks now (about 5 s), not on a kiosk's first frame (which then expired under load).
        try:
            services.passive_warm_up()
        except Exception as exc:  # those kiosks' frames report the same error
            log.error("anti-spoofing model not warmed up: %s", exc)
    if _warm_child_pid is not None:
        _warm_child_pid.value = os.getpid()
    return True


def engine_ready(queues: list[str]) -> bool:
    """Tell whether this worker can do face work now: a child with the models loaded is alive."""
    if not needs_engine(queues):
        return True
    pid = _warm_child_pid.value if _warm_child_pid is not None else 0
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError:  # that child died; its replacement is still loading the models
        return False
    return True


def start_heartbeat(consumer) -> None:
    hostname = getattr(consumer, "hostname", None) or f"worker@{os.uname().nodename}"
    queues = consumed_queues(getattr(consumer, "app", None))
    _heartbeat_stop.clear()
    thread = threading.Thread(target=_heartbeat_loop, args=(hostname, queues), name="heartbeat", daemon=True)
    thread.start()


def stop_heartbeat(consumer) -> None:
    from recognition.services import worker_heartbeat_remove

    _heartbeat_stop.set()
    hostname = getattr(consumer, "hostname", None)
    if hostname:
        try:
            worker_heartbeat_remove(hostname=hostname)
        except Exception as exc:  # the database may be the thing that is down
            log.warning("could not remove heartbeat of %s: %s", hostname, exc)


def _heartbeat_loop(hostname: str, queues: list[str]) -> None:
    """Every few seconds, say this worker is alive, what it consumes and whether its models are warm."""
    from recognition.services import worker_heartbeat_record

    while not _heartbeat_stop.is_set():
        try:
            close_old_connections()
            worker_heartbeat_record(
                hostname=hostname, queues=queues, pid=os.getpid(), engine_ready=engine_ready(queues)
            )
        except Exception as exc:  # keep beating once the database is back
            log.warning("heartbeat not recorded: %s", exc)
        _heartbeat_stop.wait(settings.WORKER_HEARTBEAT_SECONDS)


def resume_enrolment(app=None) -> None:
    """On an enrolment worker, queue again the photos a killed worker left half done, and the
    re-embedding of enrolled photos after an embedder upgrade (recognition.reembedding)."""
    from people.services import enrolment_resume, zip_imports_resume
    from recognition.services import reembedding_resume

    if Queue.ENROLMENT.value not in consumed_queues(app):
        return
    try:
        resumed = enrolment_resume(older_than=dt.timedelta(seconds=60))
    except Exception as exc:  # the database may not be up yet; HR can "Check again" meanwhile
        log.warning("could not resume unfinished enrolment photos: %s", exc)
        return
    if resumed:
        log.info("queued %d unfinished enrolment photos again", len(resumed))
    try:
        if imports := zip_imports_resume(older_than=dt.timedelta(seconds=60)):
            log.info("queued the check of %d unfinished zip imports again", len(imports))
    except Exception as exc:
        log.warning("could not resume unfinished zip imports: %s", exc)
    try:
        if reembedding_resume():
            log.info("queued the re-embedding of photos made by an older embedder")
    except Exception as exc:
        log.warning("could not check for photos to re-embed: %s", exc)


def expire_stale_attempts() -> None:
    """Expire kiosk frames that waited for a worker too long (never check people in late)."""
    from attendance.checkin.services import checkin_attempts_expire

    try:
        expired = checkin_attempts_expire()
    except Exception as exc:  # the database may not be up yet; the first task expires them too
        log.warning("could not expire stale check-in attempts: %s", exc)
        return
    if expired:
        log.info("expired %d check-in attempts that waited for a worker", expired)


# --- Celery's signals ------------------------------------------------------------------------------


@signals.celeryd_init.connect
def _prepare_warm_up_report(**_kwargs) -> None:
    """Before the children fork, make the shared place where a warm child tells its parent."""
    on_worker_init()


@signals.worker_process_init.connect
def _warm_up_child(**_kwargs) -> None:
    """Load the face models in each worker child after the fork (never in the parent)."""
    on_child_start()


@signals.worker_ready.connect
def _on_worker_ready(sender=None, **_kwargs) -> None:
    """Report this worker to the database every few seconds, then resume what a killed worker left
    and expire the check-ins that waited for it too long."""
    start_heartbeat(sender)
    on_pool_ready(sender)
    resume_enrolment(getattr(sender, "app", None))
    expire_stale_attempts()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _connections_tidy(task=None, **_kwargs) -> None:
    """Around each task, drop this thread's database connections that are past DB_CONN_MAX_AGE or
    broken, as Django does around a request; keep the others (settings.CELERY_DB_REUSE_MAX). Not for a
    task run eagerly (`apply()`): its connections are its caller's, maybe inside a transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_connections()


@signals.task_prerun.connect
def _watch_task(task_id=None, task=None, **_kwargs) -> None:
    """In a threads-pool worker, watch each task against its hard time limit."""
    if _watchdog is not None and task is not None:
        limit = hard_limit_of(task, default=getattr(task.app.conf, "task_time_limit", None))
        _watchdog.started(task_id=task_id, name=task.name, limit=limit)


@signals.task_postrun.connect
def _unwatch_task(task_id=None, **_kwargs) -> None:
    if _watchdog is not None:
        _watchdog.finished(task_id=task_id)


@signals.worker_shutdown.connect
def _stop_heartbeat(sender=None, **_kwargs) -> None:
    stop_heartbeat(sender)
