"""Queue a Celery task by its registered name: how services start background work.

Services never import their app's tasks module (the tasks import the services), so there is no import
circle between them and import-linter can keep it that way. The app is Celery's current one, which
attendance_site/celery.py creates when Django starts; importing this module loads no task module.
"""

from __future__ import annotations

from celery import current_app

from attendance_site.queues import Queue


def enqueue(name: str, *, queue: Queue, args: list | tuple = (), **options):
    """Queue the task registered as `name` on `queue`; `options` go to send_task (countdown, retry, ...)."""
    return current_app.send_task(name, args=list(args), queue=queue.value, routing_key=queue.value, **options)
