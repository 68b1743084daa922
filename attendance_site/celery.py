"""The Celery app: named queues by kind of work, JSON only, models loaded after the fork."""

from __future__ import annotations

import os

from celery import Celery, signals
from kombu import Queue as KombuQueue

from attendance_site.queues import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
__all__ = ["Queue", "app", "enqueue"]


app = Celery("attendance_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [KombuQueue(q.value, routing_key=q.value) for q in Queue]
app.conf.task_default_queue = Queue.DEFAULT.value
app.conf.task_default_routing_key = Queue.DEFAULT.value
# Building TensorFlow models in a fresh child takes several seconds: give it time before Celery
# decides the child failed to start.
app.conf.worker_proc_alive_timeout = 60
app.autodiscover_tasks()


def enqueue(name: str, *, queue: Queue, args: list | tuple = (), **options):
    """Queue the task registered as `name` on `queue`, without importing the module that defines it.

    Services enqueue by name so that a services module never imports its tasks module (tasks import
    services): no import circle, and import-linter can keep it that way. `options` go to send_task
    (countdown, retry, retry_policy, ...).
    """
    return app.send_task(name, args=list(args), queue=queue.value, routing_key=queue.value, **options)


@signals.celeryd_init.connect
def _prepare_warm_up_report(**_kwargs) -> None:
    """Before the children fork, make the shared place where a warm child tells its parent."""
    from attendance_site import workers

    workers.on_worker_init()


@signals.worker_process_init.connect
def _warm_up_child(**_kwargs) -> None:
    """Load the face models in each worker child after the fork (never in the parent)."""
    from attendance_site import workers

    workers.on_child_start()


@signals.worker_ready.connect
def _start_heartbeat(sender=None, **_kwargs) -> None:
    """Report this worker, and the queues it consumes, to the database every few seconds."""
    from attendance_site import workers

    workers.start_heartbeat(sender)


@signals.worker_shutdown.connect
def _stop_heartbeat(sender=None, **_kwargs) -> None:
    from attendance_site import workers

    workers.stop_heartbeat(sender)


@app.task(name="attendance_site.ping", queue=Queue.DEFAULT.value)
def ping(value: str = "pong") -> dict:
    """Answer with the worker's pid and database vendor; used by tests and operators."""
    from django.db import connection

    return {"value": value, "pid": os.getpid(), "database": connection.vendor}
