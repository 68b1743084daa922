"""The Celery app: named queues by kind of work, JSON only, models loaded after the fork."""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue as KombuQueue

from attendance_site.queues import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
__all__ = ["Queue", "app"]


app = Celery("attendance_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [KombuQueue(q.value, routing_key=q.value) for q in Queue]
app.conf.task_default_queue = Queue.DEFAULT.value
app.conf.task_default_routing_key = Queue.DEFAULT.value
# Building TensorFlow models in a fresh child takes several seconds: give it time before Celery
# decides the child failed to start.
app.conf.worker_proc_alive_timeout = 60
app.autodiscover_tasks()
# attendance keeps its tasks with check-in, in a sub-package of the app (task names unchanged).
app.autodiscover_tasks(["attendance.checkin"])


@app.task(name="attendance_site.ping", queue=Queue.DEFAULT.value)
def ping(value: str = "pong") -> dict:
    """Answer with the worker's pid, database vendor and database session (PostgreSQL's backend pid:
    the same across tasks while the worker keeps its connection); used by tests and operators."""
    from django.db import connection

    session = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            session = cursor.fetchone()[0]
    return {"value": value, "pid": os.getpid(), "database": connection.vendor, "database_session": session}


# Every worker start-up hook (warm-up, heartbeat, resuming half-done work) is in one file.
from attendance_site import workers  # noqa: E402, F401 -- connects the hooks to Celery's signals
