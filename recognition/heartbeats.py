"""Worker heartbeats: which Celery workers reported in lately, what they consume, whether they are warm.

The rows live in the database rather than in Celery's broadcast channel, so that /healthz works on
the embedded filesystem broker as well as on Redis (attendance_site.workers writes them).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from recognition.models import WorkerHeartbeat


def worker_heartbeat_record(*, hostname: str, queues: list[str], pid: int, engine_ready: bool) -> None:
    """Record that the worker `hostname` is alive now, the queues it consumes and whether it is warm."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname,
        defaults={
            "last_seen": timezone.now(),
            "queues": ",".join(queues),
            "pid": pid,
            "engine_ready": engine_ready,
        },
    )


def worker_heartbeat_remove(*, hostname: str) -> None:
    """Forget the worker `hostname` (it is shutting down)."""
    WorkerHeartbeat.objects.filter(hostname=hostname).delete()


def workers_alive(*, since: dt.datetime) -> list[dict]:
    """Return the workers seen since `since`: hostname, queues (comma-separated) and engine_ready."""
    return list(
        WorkerHeartbeat.objects.filter(last_seen__gte=since).values("hostname", "queues", "engine_ready")
    )
