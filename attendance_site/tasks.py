"""Site-level Celery tasks: work that touches several apps at once (privacy)."""

from __future__ import annotations

from celery import shared_task

from attendance_site.queues import Queue


# The name keeps its old "people." prefix: beat schedules and queued messages refer to it.
@shared_task(name="people.retention_apply", queue=Queue.DEFAULT.value, ignore_result=True)
def retention_apply_task() -> dict:
    """Delete check-in frames and long-inactive people's face data past their retention."""
    from attendance_site.privacy import retention_apply

    report = retention_apply()
    return {"frames": len(report.frames), "people": len(report.people)}
