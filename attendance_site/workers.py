"""What a Celery worker does around its tasks: warm the face engine and report a heartbeat.

The heartbeat lives in the database rather than in Celery's broadcast channel so that it works on
the embedded filesystem broker (which has no broadcast) as well as on Redis, and so that /healthz
can say which queues have a live consumer.
"""

from __future__ import annotations

import logging
import os
import threading

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

log = logging.getLogger(__name__)

ENGINE_QUEUES = {"recognition", "enrolment"}
_heartbeat_stop = threading.Event()


def consumed_queues(app=None) -> list[str]:
    """Return the names of the queues this worker process consumes."""
    from attendance_site.celery import app as default_app

    app = app or default_app
    return sorted(app.amqp.queues.consume_from or app.amqp.queues)


def on_child_start() -> None:
    """Warm the face engine in a freshly forked child that will run face work."""
    if not settings.WORKER_WARM_UP or not ENGINE_QUEUES & set(consumed_queues()):
        return
    from recognition import services

    try:
        services.engine_warm_up()
    except Exception as exc:  # the worker must stay up: tasks report the same error to users
        log.error("face engine not warmed up: %s", exc)


def start_heartbeat(consumer) -> None:
    hostname = getattr(consumer, "hostname", None) or f"worker@{os.uname().nodename}"
    queues = consumed_queues(getattr(consumer, "app", None))
    _heartbeat_stop.clear()
    thread = threading.Thread(target=_heartbeat_loop, args=(hostname, queues), name="heartbeat", daemon=True)
    thread.start()


def stop_heartbeat(consumer) -> None:
    from recognition.models import WorkerHeartbeat

    _heartbeat_stop.set()
    hostname = getattr(consumer, "hostname", None)
    if hostname:
        try:
            WorkerHeartbeat.objects.filter(hostname=hostname).delete()
        except Exception as exc:  # the database may be the thing that is down
            log.warning("could not remove heartbeat of %s: %s", hostname, exc)


def _heartbeat_loop(hostname: str, queues: list[str]) -> None:
    from recognition.models import WorkerHeartbeat

    while not _heartbeat_stop.is_set():
        try:
            close_old_connections()
            WorkerHeartbeat.objects.update_or_create(
                hostname=hostname,
                defaults={"queues": ",".join(queues), "pid": os.getpid(), "last_seen": timezone.now()},
            )
        except Exception as exc:  # keep beating once the database is back
            log.warning("heartbeat not recorded: %s", exc)
        _heartbeat_stop.wait(settings.WORKER_HEARTBEAT_SECONDS)
